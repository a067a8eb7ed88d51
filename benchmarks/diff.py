"""`gress diff` against one `gress detect` run on the same 1M events: what a backtest costs.

    python benchmarks/diff.py                 # 1,000,000 events, 1,000 keys, seed 7
    python benchmarks/diff.py --n 200000      # quicker
    python benchmarks/diff.py --repeats 3     # best of 3 processes per measurement

The data comes from ../shared/bench/gen_events.py (JSON Lines). OLD is P2 of
benchmarks/cep_throughput.py (`a -> b -> c within 10s`); NEW is the same rule with `within 20s`
(a typical change: it adds alerts and keeps the old ones). Measured, each as a fresh process
timed from start to exit (peak RSS and CPU seconds from wait4):

- `gress detect NEW -i events.jsonl -o out.jsonl` with the default checkpoints: one run of the
  larger file (NEW has the more alerts);
- `gress diff OLD NEW -i events.jsonl --json`: both files in one pass, one decode.

It prints both rates and the ratio diff/detect of the wall-clock times and of the CPU seconds
(target: at most 1.2), and checks the diff's counts against the two files' `detect` outputs
(only_old + both = OLD's alerts, only_new + both = NEW's): a difference is printed as MISMATCH
and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from cep_throughput import HEADER, PATTERNS
from timing import Measured, best, run_measured

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_events.py"
TARGET = 1.2

OLD = HEADER + PATTERNS["P2"]  # a -> b -> c within 10s
NEW = OLD.replace("within 10s", "within 20s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    gress = str(Path(sys.executable).with_name("gress"))
    with tempfile.TemporaryDirectory(prefix="gress-diff-bench-") as tmp:
        work = Path(tmp)
        data = work / "events.jsonl"
        subprocess.run(
            [sys.executable, str(GENERATOR), "--n", str(args.n), "--keys", str(args.keys),
             "--seed", str(args.seed), "--jsonl", str(data)],
            check=True, capture_output=True,
        )  # fmt: skip
        (work / "old.gress").write_text(OLD)
        (work / "new.gress").write_text(NEW)
        detect: dict[str, list[Measured]] = {"old": [], "new": []}
        diffs = []
        for r in range(args.repeats):
            for side in ("old", "new"):
                detect[side].append(
                    run_measured(
                        [
                            gress,
                            "detect",
                            str(work / f"{side}.gress"),
                            "-i",
                            str(data),
                            "-o",
                            str(work / f"{side}.jsonl"),
                            "-q",
                            "--state-dir",
                            str(work / f"state-{side}-{r}"),
                        ]
                    )
                )
            diffs.append(
                run_measured(
                    [
                        gress,
                        "diff",
                        str(work / "old.gress"),
                        str(work / "new.gress"),
                        "-i",
                        str(data),
                        "--json",
                    ],
                    keep_stdout=True,
                )
            )
        one, both = best(detect["new"]), best(diffs)
        counts = json.loads(both.stdout)["P2"]
        alerts = {
            side: len((work / f"{side}.jsonl").read_bytes().splitlines()) for side in ("old", "new")
        }
    print(f"# {args.n:,} events, {args.keys:,} keys, seed {args.seed}; best of {args.repeats}")
    print(f"# OLD: P2 within 10s ({alerts['old']:,} alerts); NEW: within 20s ({alerts['new']:,})")
    print(f"{'run':<22}{'events/s':>12}{'wall s':>9}{'CPU s':>8}{'RSS MB':>8}")
    for name, m in (("gress detect NEW", one), ("gress diff OLD NEW", both)):
        print(
            f"{name:<22}{args.n / m.seconds:>12,.0f}{m.seconds:>9.2f}{m.cpu:>8.2f}{m.rss_mb:>8.0f}"
        )
    print(
        f"diff / detect: {both.seconds / one.seconds:.2f} (wall), {both.cpu / one.cpu:.2f} (CPU); "
        f"target <= {TARGET}"
    )
    print(f"counts: {counts}")
    ok = (
        counts["only_old"] + counts["both"] == alerts["old"]
        and counts["only_new"] + counts["both"] == alerts["new"]
    )
    if not ok:
        print("MISMATCH: the diff's counts do not add up to the two detect runs' alerts")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
