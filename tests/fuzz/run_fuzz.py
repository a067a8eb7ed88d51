"""The full fuzz run of issue 11 (done-when): at least 20,000 pattern texts through the front
end, `gress explain` and a run, and at least 20,000 mutated records per input format (JSON
Lines, CSV, Avro file) through the file sources, a pipeline and the sinks. Every case has a
wall-clock limit. Prints the figures; exits 1 when a case failed (each failure is shown with
its input).

    .venv/bin/python -m tests.fuzz.run_fuzz                 # the full run (about 20 minutes)
    .venv/bin/python -m tests.fuzz.run_fuzz --patterns 500 --records 2000   # a quick one

The test suite runs a few hundred of the same cases (tests/fuzz/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.fuzz.harness import (
    FORMATS,
    check_pattern_text,
    deadline,
    pattern_texts,
    record_files,
    run_records,
)

RECORDS_PER_FILE = 50


def fuzz_patterns(cases: int, failures: list[tuple[str, str]]) -> Counter[str]:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(pattern_texts)
    def case(text: str) -> None:
        try:
            with deadline():
                outcomes[check_pattern_text(text)] += 1
        except Exception:
            outcomes["failed"] += 1
            failures.append((repr(text), traceback.format_exc(limit=-6)))

    case()
    return outcomes


def fuzz_records(
    fmt: str, files: int, folder: Path, failures: list[tuple[str, str]]
) -> Counter[str]:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=files, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(record_files(fmt, RECORDS_PER_FILE))
    def case(file: tuple[bytes, str]) -> None:
        data, rules = file
        try:
            with deadline():
                counts = run_records(folder, fmt, data, rules)
            outcomes["files"] += 1
            outcomes["records"] += RECORDS_PER_FILE
            outcomes.update(counts)
        except Exception:
            outcomes["failed"] += 1
            saved = folder / f"failed-{len(failures)}.{fmt}"
            saved.write_bytes(data)
            failures.append(
                (f"{saved} with rules {rules[:40]!r}...", traceback.format_exc(limit=-6))
            )

    case()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patterns", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=20_000, help="per format")
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    failures: list[tuple[str, str]] = []
    folder = Path(tempfile.mkdtemp(prefix="gress-fuzz-"))
    started = time.monotonic()
    if args.patterns:
        outcomes = fuzz_patterns(args.patterns, failures)
        print(f"pattern texts: {sum(outcomes.values()):,} cases in "
              f"{time.monotonic() - started:.0f}s: {dict(outcomes)}", flush=True)  # fmt: skip
    for fmt in args.formats.split(","):
        if not args.records:
            break
        began = time.monotonic()
        files = -(-args.records // RECORDS_PER_FILE)
        outcomes = fuzz_records(fmt, files, folder, failures)
        print(f"{fmt}: {outcomes['records']:,} records in {outcomes['files']:,} files in "
              f"{time.monotonic() - began:.0f}s: {dict(outcomes)}", flush=True)  # fmt: skip
    print(f"total {time.monotonic() - started:.0f}s; {len(failures)} failed cases")
    for what, trace in failures[:50]:
        print("-" * 100)
        print(what[:2000])
        print(trace)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
