"""The fraud example runs end to end and finds exactly the attacks its generator injected."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
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


# the same moments in every form the docs accept for a `time` field (issue 11, B.7)
TIME_FORMS = {
    "epoch-ms": lambda ms: ms,
    "epoch-s": lambda ms: ms // 1000,
    "epoch-s-float": lambda ms: ms / 1000,
    "iso-z": lambda ms: _moment(ms).isoformat().replace("+00:00", "Z"),
    "iso-offset": lambda ms: (
        _moment(ms).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    ),
    "iso-naive": lambda ms: _moment(ms).replace(tzinfo=None).isoformat(),
}


def _moment(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def test_every_time_form_gives_the_same_alerts(tmp_path: Path) -> None:
    """The example's data with its times written as epoch ms, epoch seconds (int and float) and
    ISO-8601 (UTC, with an offset, without one): the same alerts, byte for byte, the model
    scoring every online payment. The times are whole seconds first, so that every form holds
    the same moments."""
    outputs = {}
    for form, write in TIME_FORMS.items():
        inputs = []
        for name in ("payments", "logins"):
            rows = read_jsonl(EXAMPLE / f"{name}.jsonl")
            path = tmp_path / f"{name}-{form}.jsonl"
            path.write_text(
                "".join(
                    json.dumps({**row, "ts": write(row["ts"] // 1000 * 1000)}) + "\n"
                    for row in rows
                )
            )
            inputs += ["-i", f"{name}={path}"]
        out = tmp_path / f"alerts-{form}.jsonl"
        result = CliRunner().invoke(
            cli,
            ["detect", str(EXAMPLE / "fraud.gress"), *inputs, "-o", str(out),
             "--checkpoint-interval", "off"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "primary │ 1,264 │" in result.stderr  # every online payment scored
        said = "read as epoch seconds" in result.stderr
        assert said == (form == "epoch-s"), result.stderr  # the one form gress guessed
        outputs[form] = out.read_bytes()
    alerts = [json.loads(line) for line in outputs["epoch-ms"].splitlines()]
    assert [a["pattern"] for a in alerts].count("card_testing") == 8
    assert [a["pattern"] for a in alerts].count("login_takeover") == 5
    assert all(a["risk"] > 0.8 for a in alerts if a["pattern"] == "card_testing")
    for form, written in outputs.items():
        assert written == outputs["epoch-ms"], form


def test_gress_score_gives_the_same_scores_whatever_the_time_form(tmp_path: Path) -> None:
    """`hour(ts)` as a feature of `gress score` (no declared time field) reads ISO-8601 text
    and epoch seconds as it reads epoch ms (B.7: it scored nothing on ISO times)."""
    rows = read_jsonl(EXAMPLE / "payments.jsonl")
    scores = {}
    for form in ("epoch-ms", "epoch-s", "iso-offset"):
        write = TIME_FORMS[form]
        path = tmp_path / f"payments-{form}.jsonl"
        path.write_text("".join(json.dumps({**r, "ts": write(r["ts"])}) + "\n" for r in rows))
        out = tmp_path / f"scored-{form}.jsonl"
        gress(
            "score", EXAMPLE / "models" / "fraud.onnx", "-i", path,
            "--features", "amount,hour(ts),merchant_risk", "-o", out,
        )  # fmt: skip
        scores[form] = [p["score"] for p in read_jsonl(out)]
    assert len(scores["epoch-ms"]) == len(rows) and None not in scores["epoch-ms"]
    assert scores["epoch-s"] == scores["epoch-ms"] == scores["iso-offset"]
