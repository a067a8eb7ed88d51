"""Pattern engine throughput: P1-P4 of issue 3, in-engine and end to end, with baselines.

    python benchmarks/cep_throughput.py                 # 1,000,000 events, 1,000 keys, seed 7
    python benchmarks/cep_throughput.py --n 200000      # quicker

The data comes from ../shared/bench/gen_events.py (fields key, ts, kind, amount). For each
pattern it prints events/s inside the engine (Program.run over pre-decoded dicts), events/s end
to end (`gress detect` reading the JSONL file, as a separate process), the number of matches,
peak RSS, and for P1 and P2 the ratio against a hand-written plain-Python loop measured in the
same run on the same dicts (a ratio survives a noisy machine better than a raw rate). Every
measurement runs in its own process so that peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_events.py"

HEADER = """stream events
    key key
    time ts

"""
PATTERNS = {
    "P1": """pattern P1
    from events
    match a , b , c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
""",
    "P2": """pattern P2
    from events
    match a -> b -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 10s
""",
    "P3": """pattern P3
    from events
    match a -> b+ -> c
    where a: kind == "A"
          b: kind == "B"
          c: kind == "C"
    within 10s
""",
    "P4": """pattern P4
    from events
    match a -> !d -> c
    where a: kind == "A"
          d: kind == "D"
          c: kind == "C"
    within 10s
""",
}


# ---------------------------------------------------------------------- hand-written baselines
def baseline_p1(events: list[dict]) -> int:
    """`a , b , c` per key, skip past last: the loop a person would write."""
    state: dict[str, int] = {}
    matches = 0
    for e in events:
        k = e["key"]
        kind = e["kind"]
        s = state.get(k, 0)
        if s == 2 and kind == "C":
            matches += 1
            state[k] = 0
        elif kind == "A":
            state[k] = 1
        elif s == 1 and kind == "B":
            state[k] = 2
        elif s:
            state[k] = 0
    return matches


def baseline_p2(events: list[dict]) -> int:
    """`a -> b -> c within 10s` per key, skip past last."""
    state: dict[str, list[list[int]]] = {}
    matches = 0
    for e in events:
        k = e["key"]
        kind = e["kind"]
        ts = e["ts"]
        runs = state.get(k)
        if runs:
            runs = [r for r in runs if ts - r[0] < 10_000]
            if kind == "C" and any(r[1] == 2 for r in runs):
                matches += 1
                runs = []  # skip past last: every run started before this event is discarded
            elif kind == "B":
                for r in runs:
                    r[1] = 2
            state[k] = runs
        if kind == "A":
            state.setdefault(k, []).append([ts, 1])
    return matches


BASELINES = {"P1": baseline_p1, "P2": baseline_p2}


# ---------------------------------------------------------------------- one measurement (child)
def load(path: str) -> list[dict]:
    import orjson

    with open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh]


def measure_child(kind: str, pattern: str, data: str, repeats: int) -> dict:
    events = load(data)
    best = float("inf")
    matches = -1
    for _ in range(repeats):
        if kind == "engine":
            import gress_cep

            program = gress_cep.compile(HEADER + PATTERNS[pattern])
            start = time.perf_counter()
            matches = sum(1 for _ in program.run({"events": events}))
        else:
            start = time.perf_counter()
            matches = BASELINES[pattern](events)
        best = min(best, time.perf_counter() - start)
    return {
        "events_per_s": len(events) / best,
        "matches": matches,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(kind: str, pattern: str, data: str, repeats: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, pattern, data, str(repeats)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def end_to_end(pattern: str, data: str, n: int, workdir: Path) -> dict:
    gress = Path(sys.executable).with_name("gress")
    rules = workdir / f"{pattern}.gress"
    rules.write_text(HEADER + PATTERNS[pattern])
    out = workdir / f"{pattern}.out.jsonl"
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [
            str(gress),
            "detect",
            str(rules),
            "-i",
            data,
            "-o",
            str(out),
            "-q",
            "--state-dir",
            str(workdir / f"{pattern}.state"),
        ],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(out, "rb") as fh:
        matches = sum(1 for _ in fh)
    return {
        "events_per_s": n / elapsed,
        "matches": matches,
        "peak_rss_mb": max(before, after) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="best of R in-process runs")
    parser.add_argument("--patterns", default="P1,P2,P3,P4")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, pattern, data, repeats = args.child
        print(json.dumps(measure_child(kind, pattern, data, int(repeats))))
        return

    with tempfile.TemporaryDirectory(prefix="gress-bench-") as tmp:
        workdir = Path(tmp)
        data = str(workdir / "events.jsonl")
        subprocess.run(
            [
                sys.executable,
                str(GENERATOR),
                "--n",
                str(args.n),
                "--keys",
                str(args.keys),
                "--seed",
                str(args.seed),
                "--jsonl",
                data,
            ],
            check=True,
            capture_output=True,
        )
        print(
            f"# {args.n:,} events, {args.keys:,} keys, seed {args.seed}; "
            f"python {sys.version.split()[0]}; "
            f"{os.cpu_count()} cpus"
        )
        print(
            f"{'pattern':8}{'in-engine ev/s':>16}{'end-to-end ev/s':>17}{'matches':>9}"
            f"{'peak RSS MB':>13}{'baseline ev/s':>15}{'ratio':>7}"
        )
        for pattern in args.patterns.split(","):
            engine = run_child("engine", pattern, data, args.repeats)
            e2e = end_to_end(pattern, data, args.n, workdir)
            if e2e["matches"] != engine["matches"]:
                raise SystemExit(
                    f"{pattern}: detect found {e2e['matches']} matches, the API {engine['matches']}"
                )
            base_rate, ratio = "", ""
            if pattern in BASELINES:
                base = run_child("baseline", pattern, data, args.repeats)
                if base["matches"] != engine["matches"]:
                    raise SystemExit(
                        f"{pattern}: baseline found {base['matches']} matches, "
                        f"engine {engine['matches']}"
                    )
                base_rate = f"{base['events_per_s']:,.0f}"
                ratio = f"{engine['events_per_s'] / base['events_per_s']:.2f}"
            print(
                f"{pattern:8}{engine['events_per_s']:>16,.0f}{e2e['events_per_s']:>17,.0f}{engine['matches']:>9,}"
                f"{engine['peak_rss_mb']:>13,.0f}{base_rate:>15}{ratio:>7}"
            )


if __name__ == "__main__":
    main()
