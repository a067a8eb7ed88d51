"""Input files and whole sources in tests."""

from __future__ import annotations

from pathlib import Path

from gress_cep.connectors.base import DeadLetter, Record, Source


def drain(source: Source, batch_size: int = 1000) -> tuple[list[Record], list[DeadLetter]]:
    """Every record and dead letter until the source says it is finished."""
    records: list[Record] = []
    dead: list[DeadLetter] = []
    while (batch := source.poll(batch_size, 0.1)) is not None:
        records += batch.records
        dead += batch.dead
    return records, dead


def write(path: Path, text: str) -> str:
    """Write an input file; its spec (the path as a user types it)."""
    path.write_bytes(text.encode())
    return str(path)
