"""What a user types after STREAM= or -o: the right source or sink, or one clear error."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gress_cep.connectors import ConnectorConfig, open_sink, open_source, parse_kafka_config
from gress_cep.connectors.avro_file import AvroFileSink
from gress_cep.connectors.csv_file import CsvSink, CsvSource
from gress_cep.connectors.jsonl import JsonLinesSink, JsonLinesSource
from gress_cep.errors import UserError


@pytest.mark.parametrize(
    ("name", "kind"),
    [("in.jsonl", JsonLinesSource), ("in.ndjson", JsonLinesSource), ("IN.CSV", CsvSource)],
)
def test_the_extension_picks_the_source(tmp_path: Path, name: str, kind: type) -> None:
    (tmp_path / name).write_text("a\n")
    source = open_source(str(tmp_path / name), None, ConnectorConfig())
    assert isinstance(source, kind)
    source.close()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("out.jsonl", JsonLinesSink), ("out.csv", CsvSink), ("out.avro", AvroFileSink)],
)
def test_the_extension_picks_the_sink(tmp_path: Path, name: str, kind: type) -> None:
    sink = open_sink(str(tmp_path / name), ConnectorConfig())
    assert isinstance(sink, kind)
    sink.close()


def test_the_null_device_takes_json_lines() -> None:
    sink = open_sink(os.devnull, ConnectorConfig())
    assert isinstance(sink, JsonLinesSink)
    sink.write([{"a": 1}])
    sink.close()


def test_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text('{"a": 1}\n')
    source = open_source(str(path), None, ConnectorConfig(format="json"))
    assert isinstance(source, JsonLinesSource)
    source.close()


def test_an_unknown_extension_says_how_to_name_the_format(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("x\n")
    with pytest.raises(UserError, match="cannot tell the format") as caught:
        open_source(str(path), None, ConnectorConfig())
    assert "--format" in (caught.value.hint or "")


def test_an_unknown_format_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown --format 'xml'"):
        open_source(str(tmp_path / "i.jsonl"), None, ConnectorConfig(format="xml"))


def test_a_missing_input_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"input .*nope\.jsonl does not exist"):
        open_source(str(tmp_path / "nope.jsonl"), None, ConnectorConfig())


def test_an_output_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="its folder does not exist"):
        open_sink(str(tmp_path / "no" / "out.jsonl"), ConnectorConfig())


def test_stdin_is_json_lines_only() -> None:
    with pytest.raises(UserError, match="stdin can be read as JSON Lines only, not csv"):
        open_source("-", None, ConnectorConfig(format="csv"))


def test_a_kafka_input_needs_a_topic() -> None:
    with pytest.raises(UserError, match="names no topic"):
        open_source("kafka:", None, ConnectorConfig())


def test_a_kafka_output_needs_a_topic() -> None:
    with pytest.raises(UserError, match="names no topic"):
        open_sink("kafka:", ConnectorConfig())


def test_kafka_needs_a_broker_address() -> None:
    with pytest.raises(UserError, match="Kafka needs a broker address") as caught:
        open_source("kafka:payments", None, ConnectorConfig())
    assert "GRESS_BOOTSTRAP_SERVERS" in (caught.value.hint or "")


def test_a_bad_kafka_setting_is_a_user_error() -> None:
    config = ConnectorConfig(bootstrap_servers="127.0.0.1:1", kafka_config={"no.such": "1"})
    with pytest.raises(
        UserError, match=re.escape('bad Kafka setting: No such configuration property: "no.such"')
    ):
        open_source("kafka:payments", None, config)


def test_kafka_config_items_are_split_at_the_first_equals_sign() -> None:
    assert parse_kafka_config(["sasl.password=a=b", "acks=all"]) == {
        "sasl.password": "a=b",
        "acks": "all",
    }


def test_a_kafka_config_item_without_equals_is_a_user_error() -> None:
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        parse_kafka_config(["acks"])


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_output_the_system_refuses_reports_the_os_error_not_a_missing_folder() -> None:
    with pytest.raises(UserError) as caught:
        open_sink("/proc/o.jsonl", ConnectorConfig())
    assert "cannot write /proc/o.jsonl: No such file or directory" in caught.value.message
    assert "folder does not exist" not in caught.value.render()
    assert "mkdir" not in caught.value.render()


def test_an_output_under_a_file_says_that_it_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(UserError, match=r"x\.txt is not a folder"):
        open_sink(str(tmp_path / "x.txt" / "out.jsonl"), ConnectorConfig())


def test_any_other_os_error_on_an_output_is_one_line_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="File name too long"):
        open_sink(str(tmp_path / ("o" * 300 + ".jsonl")), ConnectorConfig())


def test_format_for_inputs_does_not_change_the_format_of_an_output(tmp_path: Path) -> None:
    sink = open_sink(str(tmp_path / "out.jsonl"), ConnectorConfig(format="csv"))
    assert isinstance(sink, JsonLinesSink)
    sink.close()


def test_output_format_overrides_the_extension_of_an_output(tmp_path: Path) -> None:
    sink = open_sink(str(tmp_path / "out.jsonl"), ConnectorConfig(output_format="csv"))
    assert isinstance(sink, CsvSink)
    sink.close()


def test_a_kafka_output_ignores_a_format_that_is_not_a_kafka_value_format() -> None:
    from gress_cep.connectors.kafka import value_format

    config = ConnectorConfig(format="csv")  # for the input files
    assert value_format("alerts", config, output=True) is None
