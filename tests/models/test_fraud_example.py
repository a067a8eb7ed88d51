"""The fraud example runs end to end and finds exactly the attacks its generator injected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def gress(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_example_checks_clean() -> None:
    assert "2 streams, 1 model, 3 views, 2 patterns: ok" in gress("check", EXAMPLE / "fraud.gress")


def test_gress_detect_finds_exactly_the_injected_attacks(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    gress(
        "detect", EXAMPLE / "fraud.gress",
        "-i", f"payments={EXAMPLE / 'payments.jsonl'}",
        "-i", f"logins={EXAMPLE / 'logins.jsonl'}",
        "-o", out,
    )  # fmt: skip
    alerts = read_jsonl(out)
    attacks = read_jsonl(EXAMPLE / "attacks.jsonl")
    found = {(a["pattern"], a["card_id"], a["end"]) for a in alerts}
    injected = {(a["kind"], a["card_id"], a["ts"]) for a in attacks}
    assert found == injected and len(alerts) == len(attacks)
    by_card = {a["card_id"]: a for a in alerts if a["pattern"] == "card_testing"}
    for attack in attacks:
        if attack["kind"] == "card_testing":
            alert = by_card[attack["card_id"]]
            assert alert["amount"] == attack["amount"] and alert["risk"] > 0.8
            assert alert["model"] == "models/fraud.onnx"  # the variant field, through `select`


def test_gress_score_scores_the_payments_with_the_example_model(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    gress(
        "score", EXAMPLE / "models" / "fraud.onnx",
        "-i", EXAMPLE / "payments.jsonl",
        "--features", "amount,hour(ts),merchant_risk",
        "-o", out,
    )  # fmt: skip
    scored = read_jsonl(out)
    attacks = read_jsonl(EXAMPLE / "attacks.jsonl")
    cash_outs = {(a["card_id"], a["ts"]) for a in attacks if a["kind"] == "card_testing"}
    assert len(scored) == len(read_jsonl(EXAMPLE / "payments.jsonl"))
    risky = [p for p in scored if (p["card_id"], p["ts"]) in cash_outs]
    assert len(risky) == len(cash_outs) and all(p["score"] > 0.8 for p in risky)
    large_legit = [
        p for p in scored if p["amount"] > 300 and (p["card_id"], p["ts"]) not in cash_outs
    ]
    assert large_legit and all(p["score"] < 0.5 for p in large_legit)


def test_the_committed_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLE / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("payments.jsonl", "logins.jsonl", "attacks.jsonl"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


@pytest.mark.parametrize("name", ["payments.jsonl", "logins.jsonl", "models/fraud.onnx"])
def test_the_committed_files_stay_small(name: str) -> None:
    assert (EXAMPLE / name).stat().st_size < 1_000_000
