"""A compacted Kafka topic as a lookup table (docs/kafka.md): rows are versions, a tombstone
deletes its key's row from its message time on. Against the real broker of tests/integration."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import broker, new_topic, produce  # noqa: F401  # fixtures

RULES = """stream payments
    key card
    time ts
    schema { card: string, ts: timestamp, merchant: string }

stream merchants
    key merchant
    time ts
    schema { merchant: string, ts: timestamp, category: string? }

view enriched = payments | lookup merchants on merchant
"""


def test_a_tombstone_deletes_the_row_from_its_time_on(
    tmp_path: Path,
    broker: str,  # noqa: F811
    new_topic: Callable[..., str],  # noqa: F811
    produce: Callable[..., None],  # noqa: F811
) -> None:
    now = int(time.time() * 1000)
    payments, merchants = new_topic(), new_topic()
    row = {"merchant": "m1", "ts": now - 60_000, "category": "food"}
    produce(merchants, [(b"m1", json.dumps(row).encode()), (b"m1", None), (None, None)])
    produce(
        payments,
        [
            (b"c1", json.dumps({"card": "c1", "ts": now - 30_000, "merchant": "m1"}).encode()),
            (b"c1", json.dumps({"card": "c1", "ts": now + 60_000, "merchant": "m1"}).encode()),
        ],
    )
    (tmp_path / "rules.gress").write_text(RULES)
    done = subprocess.run(
        [sys.executable, "-m", "gress_cep.cli.main", "detect", str(tmp_path / "rules.gress"),
         "-i", f"payments=kafka:{payments}", "-i", f"merchants=kafka:{merchants}",
         "--bootstrap-servers", broker, "--from-beginning", "--stop-at-end",
         "--view", "enriched", "-o", str(tmp_path / "out.jsonl"),
         "--dead-letter", str(tmp_path / "dead.jsonl"), "--checkpoint-interval", "off", "-q"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["ts"] - now, r["category"]) for r in out] == [(-30_000, "food"), (60_000, None)]
    # a tombstone without a message key has no row to delete: a dead letter, as before
    (dead,) = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert dead["reason"] == "null value (a tombstone)"
