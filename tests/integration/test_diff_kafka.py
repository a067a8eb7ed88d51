"""`gress diff` reading a Kafka topic: history from the beginning to its current end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli
from tests.authoring.test_gress_diff import NEW, OLD, events

pytestmark = pytest.mark.kafka


def test_diff_over_a_topic_counts_what_the_same_file_gives(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broker: str,
    new_topic: Callable[..., str],
    produce: Callable[..., None],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.gress").write_text(OLD)
    (tmp_path / "new.gress").write_text(NEW)
    history = events()
    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(e) + "\n" for e in history))
    topic = new_topic(partitions=1)
    produce(topic, [(e["card"].encode(), json.dumps(e).encode()) for e in history])
    common = ["diff", "old.gress", "new.gress", "--json"]
    from_file = CliRunner().invoke(cli, [*common, "-i", "payments=payments.jsonl"])
    from_topic = CliRunner().invoke(
        cli, [*common, "-i", f"payments=kafka:{topic}", "--bootstrap-servers", broker]
    )
    assert from_topic.exit_code == 0, from_topic.output
    assert json.loads(from_topic.stdout) == json.loads(from_file.stdout)
    assert json.loads(from_topic.stdout)["huge"]["only_new"] == 5
