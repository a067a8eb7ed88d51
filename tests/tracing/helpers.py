"""Running `gress detect` with and without `--trace`, as a user does (through click)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

STREAM = """stream events
    key card
    time ts
    lateness 0s
"""


def write_job(folder: Path, patterns: str, events: list[dict[str, Any]]) -> tuple[Path, Path]:
    rules = folder / "rules.gress"
    rules.write_text(STREAM + "\n" + patterns)
    data = folder / "events.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events))
    return rules, data


def detect(*args: str) -> Result:
    return CliRunner().invoke(cli, ["detect", *args], catch_exceptions=False)


def run(rules: Path, data: Path, out: Path, *extra: str, timeouts: Path | None = None) -> Result:
    args = [str(rules), "-i", str(data), "-o", str(out), "--checkpoint-interval", "off", "-q"]
    if timeouts is not None:
        args += ["--timeouts", str(timeouts)]
    result = detect(*args, *extra)
    assert result.exit_code == 0, result.output
    return result


def steps(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def random_events(seed: int, n: int = 300, keys: int = 4) -> list[dict[str, Any]]:
    """Events of a few cards: kinds a/b/c/x, amounts, and time gaps short and long (so that
    windows close both at events and at the watermark)."""
    rng = random.Random(seed)
    ts = 1_000
    out = []
    for i in range(n):
        ts += rng.choice([100, 500, 1_000, 3_000, 20_000])
        out.append(
            {
                "card": f"k{rng.randrange(keys)}",
                "ts": ts,
                "kind": rng.choice("aabbcx"),
                "amount": rng.choice([1, 5, 50, 500, None]),
                "n": i,
            }
        )
    return out
