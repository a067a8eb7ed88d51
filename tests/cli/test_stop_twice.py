"""Issue 11 E.27: SIGTERM (or Ctrl-C) always stops a job; the first asks for a graceful stop
(finish the round, flush, checkpoint), a second stops at once — also when the graceful stop
hangs, and also when the job is stuck inside C code, where no Python signal handler runs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RULES = """stream events
    key k
    time ts

pattern p
    match a
    where
        a: x > 0
"""

# `gress detect`, with the job's close (the graceful stop's last step) stuck: in Python
# (a sleep) or in C code that never looks at signals (two billion rounds of PBKDF2)
STUCK = {
    "python": "time.sleep(600)",
    "C code": "hashlib.pbkdf2_hmac('sha256', b'x', b'y', 2**31 - 1)",
}
LAUNCH = """
import hashlib, sys, time
from pathlib import Path
from gress_cep.runtime.job import Job
def stuck(self):
    Path("stopping").write_text("")
    {stuck}
Job.close = stuck
from gress_cep.cli.main import main
sys.argv = ["gress", "detect", "rules.gress", "-i", "events.jsonl", "-o", "out.jsonl",
            "--checkpoint-interval", "off"]
main()
"""


@pytest.mark.parametrize("where", list(STUCK))
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_stops_the_job_at_once(tmp_path: Path, where: str, signum: int) -> None:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "events.jsonl").write_text('{"k": 1, "ts": 1, "x": 1}\n')
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH.format(stuck=STUCK[where])],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "stopping").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "the job never reached its close"
        time.sleep(0.01)
    time.sleep(0.2)  # inside the stuck call
    process.send_signal(signum)  # a graceful stop, which cannot finish
    time.sleep(0.3)
    assert process.poll() is None
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("a second signal did not stop the job")
    assert time.monotonic() - sent < 5
    assert process.returncode == 130
    assert "Traceback" not in stderr and "internal error" not in stderr
