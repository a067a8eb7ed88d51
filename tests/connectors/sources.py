"""Reading a whole source in tests."""

from __future__ import annotations

from gress_cep.connectors.base import DeadLetter, Record, Source


def drain(source: Source, batch_size: int = 1000) -> tuple[list[Record], list[DeadLetter]]:
    """Every record and dead letter until the source says it is finished."""
    records: list[Record] = []
    dead: list[DeadLetter] = []
    while (batch := source.poll(batch_size, 0.1)) is not None:
        records += batch.records
        dead += batch.dead
    return records, dead
