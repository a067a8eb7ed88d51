"""Operator state and checkpoints: the `StateBackend` contract, its memory and RocksDB
implementations, and the write-back cache keyed operators use on their hot path."""

from __future__ import annotations

from pathlib import Path

from gress_cep.state.backend import CheckpointInfo, StateBackend, Table, WriteBatch
from gress_cep.state.cache import KeyedStateCache
from gress_cep.state.keys import decode_key, encode_key
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.timers import TimerTable

__all__ = [
    "CheckpointInfo",
    "KeyedStateCache",
    "MemoryBackend",
    "StateBackend",
    "Table",
    "TimerTable",
    "WriteBatch",
    "decode_key",
    "encode_key",
    "open_backend",
]


def open_backend(state_dir: Path | None) -> StateBackend:
    """The RocksDB backend on `state_dir` (locked for this process), or memory when None."""
    if state_dir is None:
        return MemoryBackend()
    from gress_cep.state.rocksdb import RocksDbBackend  # loads the RocksDB library only if used

    return RocksDbBackend(state_dir)
