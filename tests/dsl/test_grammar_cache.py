"""The grammar's parse tables are cached where only this user can write (dsl/grammar_cache.py):
never in the shared temp folder, where Lark would unpickle anyone's file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gress_cep.dsl.grammar_cache import private_cache_file


def test_the_cache_is_a_file_in_a_private_folder_of_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = private_cache_file("start: X")
    assert path is not None and Path(path).parent == tmp_path / "gress"
    assert stat.S_IMODE(os.stat(tmp_path / "gress").st_mode) == 0o700
    assert private_cache_file("start: Y") != path  # one file per grammar


def test_a_folder_others_may_write_to_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "gress").mkdir(mode=0o777)
    os.chmod(tmp_path / "gress", 0o777)
    assert private_cache_file("start: X") is None


def test_a_symlinked_folder_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "gress").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert private_cache_file("start: X") is None


def test_parsing_reads_no_pickle_from_the_temp_folder(tmp_path: Path) -> None:
    """A planted file where Lark's `cache=True` would look: gress never opens it."""
    temp, cache = tmp_path / "tmp", tmp_path / "cache"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "XDG_CACHE_HOME": str(cache)}
    script = (
        "import tempfile, lark, sys\n"
        "from gress_cep.dsl import load\n"
        "load('stream s\\n    key k\\n')\n"
        "print(tempfile.gettempdir())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(temp)
    assert list(temp.iterdir()) == []  # nothing cached there, so nothing read from there
    assert [p.suffix for p in (cache / "gress").iterdir()] == [".lark"]
