from collections.abc import Iterator
from pathlib import Path

import pytest

from gress_cep.state.backend import StateBackend
from gress_cep.state.memory import MemoryBackend
from gress_cep.state.rocksdb import RocksDbBackend


@pytest.fixture(params=["memory", "rocksdb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    """Every contract test runs against both backends."""
    opened: StateBackend = (
        MemoryBackend() if request.param == "memory" else RocksDbBackend(tmp_path / "state")
    )
    yield opened
    opened.close()
