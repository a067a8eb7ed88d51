"""Ctrl-C and SIGTERM while a job runs: the first stops it gracefully, a second at once.

The first signal asks the job to stop after its round (flush, checkpoint, summary: exit 0).
A second one raises KeyboardInterrupt (exit 130) — but a Python signal handler runs only
between bytecodes of the main thread, so a job stuck inside C code (a decoder, a model, a
system call that does not return) would never see it. The C-level handler also writes each
signal's number to a wakeup pipe, at once; a watchdog thread reads it, and when the second
signal has not ended the process within a moment, ends it with os._exit(130).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_S = 1.0  # after the second signal: time for the KeyboardInterrupt to end the process


class StopSignals:
    """Installed for one job (from the main thread); `close()` restores what was there."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.count = 0
        self._stop = stop
        self._closed = False
        self._previous: dict[int, Any] = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        for s in STOP_SIGNALS:
            signal.signal(s, self._handler)
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._watchdog = threading.Thread(target=self._watch, name="gress-stop", daemon=True)
        self._watchdog.start()

    @property
    def received(self) -> bool:
        return self.count > 0

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt
        self._stop()

    def _watch(self) -> None:
        seen = 0
        while data := os.read(self._read, 64):  # b"": the pipe was closed by close()
            seen += sum(byte in STOP_SIGNALS for byte in data)
            if seen >= 2:
                time.sleep(GRACE_S)
                if not self._closed:  # stuck where no Python handler runs
                    os._exit(130)

    def close(self) -> None:
        self._closed = True
        signal.set_wakeup_fd(self._previous_fd)
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        os.close(self._write)
        self._watchdog.join(timeout=GRACE_S * 2)
        os.close(self._read)
