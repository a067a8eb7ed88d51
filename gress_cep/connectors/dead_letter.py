"""The dead-letter output's two forms: a JSON-friendly record for files, a message for Kafka.

Sinks receive dead letters as `DeadLetter.to_record()` dicts (`reason`, `origin`, maybe `record`
and `raw`). Files cannot hold raw bytes, so `raw` becomes `raw_base64`; a Kafka topic can, so
the message value is the original bytes, untouched, with the reason and origin in headers.
"""

from __future__ import annotations

import base64

from gress_cep.connectors.base import Record
from gress_cep.connectors.codec import encode_json

REASON_HEADER = "gress.reason"
ORIGIN_HEADER = "gress.origin"

# the list form `Producer.produce` takes (a list is invariant: list[tuple[str, bytes]] is not one)
KafkaHeaders = list[tuple[str, str | bytes | None]]


def file_form(letter: Record) -> Record:
    """`raw` as base64 text in `raw_base64` (text raws are encoded as UTF-8 first)."""
    if "raw" not in letter:
        return letter
    out = {key: value for key, value in letter.items() if key != "raw"}
    raw = letter["raw"]
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        out["raw_base64"] = base64.b64encode(data).decode("ascii")
    return out


def kafka_form(letter: Record) -> tuple[bytes, KafkaHeaders]:
    """The message value (the original bytes, else the record as JSON) and its headers."""
    raw = letter.get("raw")
    if isinstance(raw, str):
        value = raw.encode("utf-8")
    elif raw is not None:
        value = bytes(raw)
    else:
        value = encode_json(letter.get("record"))
    headers: KafkaHeaders = [
        (REASON_HEADER, str(letter.get("reason", "")).encode("utf-8")),
        (ORIGIN_HEADER, str(letter.get("origin", "")).encode("utf-8")),
    ]
    return value, headers
