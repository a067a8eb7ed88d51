"""A/B variants and shadow models through the runtime: patterns see the scores (issue 5)."""

from __future__ import annotations

from pathlib import Path

import gress_cep

from .model_files import sklearn_classifier

RULES = """stream payments
    key card_id
    time ts

model fraud = onnx "v2.onnx" weight 50, onnx "v3.onnx" weight 50 split by card_id
    inputs (amount, hour(ts), merchant_risk)
    output probabilities[1]
    batch 16 delay 5ms
    shadow onnx "v4.onnx"

view scored = payments | score fraud as risk

pattern every_payment
    from scored
    match p
    emit card_id, p.risk as risk, p.risk_model as variant, p.risk_shadow as shadow
"""


def payments(cards: int = 40, each: int = 5) -> list[dict]:
    return [
        {"card_id": f"c{c}", "ts": 1_700_000_000_000 + 1000 * i + c, "amount": float(i * 10 + c),
         "merchant_risk": (c % 10) / 10}
        for i in range(each)
        for c in range(cards)
    ]  # fmt: skip


def program(tmp_path: Path) -> gress_cep.Program:
    for seed, name in enumerate(("v2.onnx", "v3.onnx", "v4.onnx")):
        sklearn_classifier(tmp_path / name, n_features=3, seed=seed)
    (tmp_path / "rules.gress").write_text(RULES)
    return gress_cep.compile(tmp_path / "rules.gress")


def test_every_record_is_scored_with_its_variant_and_the_shadow(tmp_path: Path) -> None:
    matches = list(program(tmp_path).run({"payments": payments()}))
    assert len(matches) == 200
    for m in matches:
        assert 0.0 <= m["risk"] <= 1.0
        assert m["variant"] in ("v2.onnx", "v3.onnx")
        assert 0.0 <= m["shadow"] <= 1.0


def test_a_card_always_goes_to_the_same_variant(tmp_path: Path) -> None:
    matches = list(program(tmp_path).run({"payments": payments()}))
    variants: dict[str, set[str]] = {}
    for m in matches:
        variants.setdefault(m["card_id"], set()).add(m["variant"])
    assert all(len(v) == 1 for v in variants.values())
    used = {next(iter(v)) for v in variants.values()}
    assert used == {"v2.onnx", "v3.onnx"}  # 40 cards split 50/50: both variants see some


def test_the_same_cards_get_the_same_variants_in_another_run(tmp_path: Path) -> None:
    first = {m["card_id"]: m["variant"] for m in program(tmp_path).run({"payments": payments()})}
    again = {m["card_id"]: m["variant"] for m in program(tmp_path).run({"payments": payments()})}
    assert first == again
