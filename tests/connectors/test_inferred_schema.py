"""Avro schemas inferred from output records: every field nullable, widened as records vary."""

from __future__ import annotations

import io

import fastavro

from gress_cep.connectors.avro_schema import InferredSchema, avro_name


def round_trip(inferred: InferredSchema, records: list[dict]) -> list[dict]:
    parsed = fastavro.parse_schema(inferred.schema)
    out = []
    for record in records:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, record)
        buffer.seek(0)
        out.append(fastavro.schemaless_reader(buffer, parsed))
    return out


def test_each_field_is_a_union_with_null_defaulting_to_null() -> None:
    inferred = InferredSchema("alerts")
    inferred.observe([{"key": "c1", "n": 3, "ok": True, "amount": 1.5}])
    assert inferred.schema == {
        "type": "record",
        "name": "alerts",
        "fields": [
            {"name": "key", "type": ["null", "string"], "default": None},
            {"name": "n", "type": ["null", "long"], "default": None},
            {"name": "ok", "type": ["null", "boolean"], "default": None},
            {"name": "amount", "type": ["null", "double"], "default": None},
        ],
    }


def test_nested_objects_and_lists_become_records_and_arrays() -> None:
    inferred = InferredSchema("m")
    rows = [{"small": [{"amount": 1.0}, {"amount": 2}], "big": {"amount": 600.0, "m": "x"}}]
    ready, _ = inferred.observe(rows)
    assert round_trip(inferred, ready) == rows


def test_the_schema_grows_only_when_a_record_brings_something_new() -> None:
    inferred = InferredSchema("m")
    assert inferred.observe([{"a": 1}])[1] is True
    assert inferred.observe([{"a": 2}, {}])[1] is False
    assert inferred.observe([{"a": "text"}])[1] is True
    assert inferred.observe([{"b": None}])[1] is True


def test_values_avro_has_no_type_for_are_written_as_text() -> None:
    import datetime

    inferred = InferredSchema("m")
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    ready, _ = inferred.observe([{"at": when}])
    assert round_trip(inferred, ready) == [{"at": str(when)}]


def test_names_are_made_valid_avro_names() -> None:
    assert avro_name("payments.dlq") == "payments_dlq"
    assert avro_name("2024-out") == "_2024_out"


def test_keys_that_are_not_avro_names_are_written_under_valid_names() -> None:
    inferred = InferredSchema("m")
    ready, _ = inferred.observe([{"content-type": "json", "1st": 1, "ok": True}])
    fastavro.parse_schema(inferred.schema)  # valid Avro: no SchemaParseException
    assert [f["name"] for f in inferred.schema["fields"]] == ["content_type", "_1st", "ok"]
    assert round_trip(inferred, ready) == [{"content_type": "json", "_1st": 1, "ok": True}]


def test_a_renamed_field_keeps_its_original_name_in_doc() -> None:
    inferred = InferredSchema("m")
    inferred.observe([{"content-type": "json"}])
    assert inferred.schema["fields"][0]["doc"] == "content-type"


def test_two_keys_that_map_to_one_avro_name_get_distinct_names() -> None:
    inferred = InferredSchema("m")
    ready, _ = inferred.observe([{"a-b": 1, "a.b": 2}, {"a_b": 3}])
    assert [f["name"] for f in inferred.schema["fields"]] == ["a_b", "a_b_2", "a_b_3"]
    assert round_trip(inferred, ready) == [
        {"a_b": 1, "a_b_2": 2, "a_b_3": None},
        {"a_b": None, "a_b_2": None, "a_b_3": 3},
    ]


def test_nested_keys_that_are_not_avro_names_are_renamed_too() -> None:
    inferred = InferredSchema("m")
    ready, _ = inferred.observe([{"big": {"x-y": 1}, "list": [{"2nd": "a"}]}])
    fastavro.parse_schema(inferred.schema)
    assert round_trip(inferred, ready) == [{"big": {"x_y": 1}, "list": [{"_2nd": "a"}]}]
