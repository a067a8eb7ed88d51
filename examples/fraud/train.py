"""Train the fraud model of the example and write it as ONNX (models/fraud.onnx).

The model scores one payment from three features, in this order (the `inputs` of fraud.gress):
amount, hour of day (UTC) and the merchant's risk. It learns from generated data (a different
seed than the committed payments, so the demo is scored on data the model has not seen) and
is a small gradient-boosted tree ensemble: a few kilobytes, fast, and able to learn that night
hours are riskier without hand-made features.

    pip install -e '.[examples]'        # scikit-learn, skl2onnx, onnx
    python examples/fraud/train.py
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from generate import generate
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score

FEATURES = ("amount", "hour(ts)", "merchant_risk")


def features(payments: list[dict]) -> np.ndarray:
    """The same three features fraud.gress computes: amount, hour(ts), merchant_risk."""
    return np.array(
        [
            [p["amount"], datetime.fromtimestamp(p["ts"] / 1000, UTC).hour, p["merchant_risk"]]
            for p in payments
        ],
        dtype=np.float32,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="seed of the training data")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "models/fraud.onnx")
    args = parser.parse_args()

    train = generate(seed=args.seed, cards=600, days=28, attacks=120, takeovers=0)
    test = generate(seed=args.seed + 1000, cards=300, days=14, attacks=40, takeovers=0)
    x, y = features(train.payments), [p["id"] in train.fraud_ids for p in train.payments]
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0)
    model.fit(x, np.array(y, dtype=int))

    x_test = features(test.payments)
    y_test = [p["id"] in test.fraud_ids for p in test.payments]
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])

    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
        options={id(model): {"zipmap": False}},  # probabilities as a tensor, not a ZipMap
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    onx.doc_string = "fraud example: inputs (amount, hour(ts), merchant_risk)"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(onx.SerializeToString())
    print(
        f"trained on {len(train.payments)} payments ({sum(y)} fraudulent); "
        f"held-out ROC AUC {auc:.3f}; wrote {args.out} ({args.out.stat().st_size} bytes)"
    )


if __name__ == "__main__":
    main()
