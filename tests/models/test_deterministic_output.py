"""The same finite inputs give the same output, order included, on every run — also when a
model scores with a `delay` (issue 11, D.22).

A model's `delay` is a wall-clock deadline: how long scored rows wait for more rows to batch
with. When it decided when rows left the score operator, the matches of a pattern reading the
scored view came out in a different round — so between other outputs at another place — from
one run to the next. Here two runs see two opposite wall clocks (one where every delay has
always elapsed, one where none ever does) and must still write the same bytes.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import gress_cep
from gress_cep.cli.main import cli

from .model_files import linear

RULES = """stream payments
    key card_id
    time ts

stream logins
    key card_id
    time ts

model risk = onnx "linear.onnx"
    inputs (amount, amount, amount)
    batch 512 delay 5ms

view scored = payments | score risk as risk

pattern big_scored
    from scored
    match p
    where p: risk > 1500

pattern every_login
    from logins
    match l
    where l: ok
"""


def payments(n: int = 30_000) -> list[dict]:
    return [
        {"card_id": f"c{i % 97}", "ts": 1_700_000_000_000 + 10 * i, "amount": float(i % 1000)}
        for i in range(n)
    ]


def logins(n: int = 30_000) -> list[dict]:
    return [
        {"card_id": f"c{i % 89}", "ts": 1_700_000_000_000 + 10 * i, "ok": i % 3 == 0}
        for i in range(n)
    ]


def clocks() -> dict[str, object]:
    """`time.monotonic` stand-ins: one on which every delay has elapsed at the next call, one
    on which no delay ever elapses."""
    racing = itertools.count(0.0, 10.0)
    return {"racing": lambda: next(racing), "frozen": lambda: 1000.0}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    linear(tmp_path / "linear.onnx", [1.0, 1.0, 1.0])
    path = tmp_path / "rules.gress"
    path.write_text(RULES)
    return path


def test_the_python_api_gives_the_same_matches_in_the_same_order_whatever_the_clock(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = gress_cep.compile(rules)
    outputs = []
    for clock in clocks().values():
        monkeypatch.setattr("gress_cep.runtime.pipeline.time.monotonic", clock)
        outputs.append(list(program.run({"payments": payments(), "logins": logins()})))
    assert len(outputs[0]) > 10_000
    assert outputs[0] == outputs[1]


def test_gress_detect_writes_the_same_bytes_whatever_the_clock(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, rows in (("payments", payments()), ("logins", logins())):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    written = []
    for name, clock in clocks().items():
        monkeypatch.setattr("gress_cep.runtime.pipeline.time.monotonic", clock)
        out = tmp_path / f"out-{name}.jsonl"
        result = CliRunner().invoke(
            cli,
            [
                "detect", str(rules),
                "-i", f"payments={tmp_path / 'payments.jsonl'}",
                "-i", f"logins={tmp_path / 'logins.jsonl'}",
                "-o", str(out), "--checkpoint-interval", "off", "-q",
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        written.append(out.read_bytes())
    assert written[0].count(b"\n") > 10_000
    assert written[0] == written[1]
