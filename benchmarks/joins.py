"""Interval joins and temporal lookups end to end, each against a hand-written loop.

    python benchmarks/joins.py                    # 2 x 500,000 records on 1,000 keys; a lookup
                                                  # of 500,000 records in 100,000 versions
    python benchmarks/joins.py --n 100000         # quicker
    python benchmarks/joins.py --repeats 3        # best of 3 processes per measurement
    python benchmarks/joins.py --only lookup      # one of them

The data is generated here, deterministically (--seed), into a temporary directory, in event-time
order (each record 0-20 ms after the one before, like ../shared/bench/gen_events.py):

- **join**: `orders` and `payments`, --n records each, `{"id", "key", "ts"}` with the key uniform
  over --keys (1,000) keys, and the view

      view pairs = join orders as o, payments as p on o.key == p.key within 2s
                 | select o.id as order_id, p.id as payment_id

  Each key has a record of each stream about every 10 s, so an order meets 0.4 payments on
  average (every pair of one key at most 2 s apart);
- **lookup**: `prices`, a changelog of --versions (100,000) versions of --table-keys (10,000)
  keys, `{"key", "ts", "version", "price"}`, at times spread over the whole run (so a key's
  first records come before it has any version: left semantics, null), and --n `events`
  `{"id", "key", "ts"}` with keys uniform over the table's keys, and the view

      view priced = events | lookup prices on key | select id, version

Each is measured in a process of its own (peak RSS is that process's, from wait4):

- gress end to end: a fresh `gress detect FILE -i ... --view V -o out.jsonl` with the default
  checkpoint settings (checkpoints on, every 10 s, RocksDB state in the temporary directory via
  --state-dir), start-up and the final checkpoint included;
- a hand-written baseline in the same run: a plain Python loop that reads the same files line by
  line (`orjson.loads`), merges them in time order (heapq.merge), keeps per key a deque of each
  side's records of the last 2 s (join) or the key's current version in a dict (lookup), and
  writes the same records as JSON lines (`orjson.dumps`). Like the pattern and window baselines it
  trusts the inputs' time order, where gress holds each input back for the other's watermark.

gress runs from byte-compiled modules, as an installed copy does (see benchmarks/windows.py,
`byte_compiled`; --from-source: compiled in each run).

It prints input records per second (both inputs), the CPU seconds (user + system) of each process,
the ratio gress/baseline of the rates and of the CPU seconds (target: ratio >= 0.5), and the
number of output records. The two outputs are compared — the number of records and the set of
(order_id, payment_id) or (id, version) — and a difference is printed as MISMATCH, a process
that fails as FAILED (with its error), and the script then exits with status 1.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from timing import Failed, best, run_measured
from windows import byte_compiled

WITHIN_MS = 2_000
TARGET_RATIO = 0.5
START_TS = 1_700_000_000_000

JOIN_RULES = """stream orders
    key key
    time ts

stream payments
    key key
    time ts

view pairs = join orders as o, payments as p on o.key == p.key within 2s
           | select o.id as order_id, p.id as payment_id
"""

LOOKUP_RULES = """stream events
    key key
    time ts

stream prices
    key key
    time ts

view priced = events | lookup prices on key | select id, version
"""


# ---------------------------------------------------------------------- the data
def write_stream(path: str, n: int, keys: int, seed: int) -> int:
    """n records {"id", "key", "ts"}, each 0-20 ms after the one before; the last ts."""
    rng = random.Random(seed)
    ts = START_TS
    with open(path, "w") as out:
        for i in range(n):
            ts += rng.randrange(21)
            out.write(f'{{"id":{i},"key":"k{rng.randrange(keys)}","ts":{ts}}}\n')
    return ts


def generate(workdir: str, n: int, keys: int, table_keys: int, versions: int, seed: int) -> dict:
    """Child: the four input files."""
    d = Path(workdir)
    write_stream(str(d / "orders.jsonl"), n, keys, seed)
    write_stream(str(d / "payments.jsonl"), n, keys, seed + 1)
    end = write_stream(str(d / "events.jsonl"), n, table_keys, seed + 2)
    rng = random.Random(seed + 3)
    rows = sorted((rng.randrange(START_TS, end + 1), f"k{i % table_keys}") for i in range(versions))
    counts: dict[str, int] = {}
    with open(d / "prices.jsonl", "w") as out:
        for ts, key in rows:
            version = counts[key] = counts.get(key, 0) + 1
            price = round(rng.uniform(1, 100), 2)
            out.write(f'{{"key":"{key}","ts":{ts},"version":{version},"price":{price}}}\n')
    return {"span_s": (end - START_TS) / 1000}


# ---------------------------------------------------------------------- hand-written baselines
def records(path: str, side: int) -> Iterator[tuple[int, int, dict]]:
    """(ts, side, record) for each line of a JSON Lines file."""
    import orjson

    loads = orjson.loads
    with open(path, "rb") as fh:
        for line in fh:
            r = loads(line)
            yield r["ts"], side, r


def baseline_join(orders: str, payments: str, out_path: str) -> int:
    """Both inputs merged in time order; per key, each side's records of the last 2 s in a
    deque; a record pairs with the other side's records still in its key's deque."""
    import orjson

    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    within = WITHIN_MS
    buffers: dict[str, tuple[deque, deque]] = {}
    pairs = 0
    merged = heapq.merge(records(orders, 0), records(payments, 1), key=lambda t: t[0])
    with open(out_path, "wb") as out:
        write = out.write
        for ts, side, r in merged:
            k = r["key"]
            sides = buffers.get(k)
            if sides is None:
                sides = buffers[k] = (deque(), deque())
            other = sides[1 - side]
            oldest = ts - within
            while other and other[0][0] < oldest:
                other.popleft()
            if other:
                rid = r["id"]
                for _, oid in other:
                    if side == 0:
                        write(dumps({"order_id": rid, "payment_id": oid}, option=newline))
                    else:
                        write(dumps({"order_id": oid, "payment_id": rid}, option=newline))
                    pairs += 1
            sides[side].append((ts, r["id"]))
    return pairs


def baseline_lookup(events: str, prices: str, out_path: str) -> int:
    """Both inputs merged in time order, a table row before an event of the same time; the
    current version of every key in a dict."""
    import orjson

    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    current: dict[str, dict] = {}
    written = 0
    # side 0 (the table) sorts before side 1 (the events) at equal times
    merged = heapq.merge(records(prices, 0), records(events, 1), key=lambda t: (t[0], t[1]))
    with open(out_path, "wb") as out:
        write = out.write
        for _, side, r in merged:
            if side == 0:
                current[r["key"]] = r
                continue
            row = current.get(r["key"])
            version = None if row is None else row["version"]
            write(dumps({"id": r["id"], "version": version}, option=newline))
            written += 1
    return written


# ---------------------------------------------------------------------- measuring a process
def child(*args: str) -> dict:
    """A helper in a process of its own: a child's peak RSS (wait4) starts from its parent's,
    so this process stays small."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


# ---------------------------------------------------------------------- comparing outputs
FIELDS = {"join": ("order_id", "payment_id"), "lookup": ("id", "version")}


def compare_files(kind: str, got_path: str, expected_path: str) -> dict:
    """Child: the output records of two JSON Lines files, compared."""
    import orjson

    a, b = FIELDS[kind]

    def rows(path: str) -> tuple[int, set[tuple]]:
        count, seen = 0, set()
        with open(path, "rb") as fh:
            for line in fh:
                r = orjson.loads(line)
                count += 1
                seen.add((r.get(a), r.get(b)))
        return count, seen

    (got_count, got_rows), (exp_count, exp_rows) = rows(got_path), rows(expected_path)
    report = []
    if got_count != exp_count or got_rows != exp_rows:
        report.append(
            f"{got_count:,} records (distinct {len(got_rows):,}), "
            f"expected {exp_count:,} (distinct {len(exp_rows):,})"
        )
        for name, diff in (("got", got_rows - exp_rows), ("expected", exp_rows - got_rows)):
            sample = sorted(diff, key=repr)[:3]
            report.append(f"only in {name}: {len(diff):,}, e.g. {sample}")
    nulls = sum(1 for row in exp_rows if row[1] is None)
    return {"records": got_count, "expected": exp_count, "report": report, "nulls": nulls}


def check(label: str, result: dict) -> bool:
    for line in result["report"]:
        print(f"!!! MISMATCH {label}: {line}")
    return not result["report"]


# ---------------------------------------------------------------------- main
def gress_command() -> str:
    return str(Path(sys.executable).with_name("gress"))


CASES = {  # kind: (rules, view, inputs (stream names), baseline)
    "join": (JOIN_RULES, "pairs", ("orders", "payments"), baseline_join),
    "lookup": (LOOKUP_RULES, "priced", ("events", "prices"), baseline_lookup),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500_000, help="records per stream")
    parser.add_argument("--keys", type=int, default=1000, help="keys of the join")
    parser.add_argument("--table-keys", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1, help="best of R processes each")
    parser.add_argument("--only", choices=sorted(CASES), help="one of the two")
    parser.add_argument(
        "--from-source", action="store_true", help="gress compiles its modules in each run"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        if name == "baseline":
            kind, *files = rest
            CASES[kind][3](*files)
            return
        if name == "generate":
            workdir, *numbers = rest
            print(json.dumps(generate(workdir, *map(int, numbers))))
            return
        print(json.dumps(compare_files(*rest)))
        return

    ok = True
    with tempfile.TemporaryDirectory(prefix="gress-joins-bench-") as tmp:
        workdir = Path(tmp)
        made = child("generate", tmp, str(args.n), str(args.keys), str(args.table_keys),
                     str(args.versions), str(args.seed))  # fmt: skip
        compiled = "gress compiles its modules in each run"
        if not args.from_source:
            rules = workdir / "warm-up.gress"
            rules.write_text(JOIN_RULES)
            small = [workdir / f"warm-up-{side}.jsonl" for side in ("orders", "payments")]
            for path in small:
                write_stream(str(path), 100, args.keys, args.seed)
            warm_up = [gress_command(), "detect", str(rules), "-i", f"orders={small[0]}",
                       "-i", f"payments={small[1]}", "--view", "pairs", "-o", os.devnull, "-q",
                       "--state-dir", str(workdir / "warm-up.state")]  # fmt: skip
            compiled = byte_compiled(workdir, warm_up)
        print(
            f"# join: 2 x {args.n:,} records on {args.keys:,} keys, within {WITHIN_MS // 1000}s; "
            f"lookup: {args.n:,} records in {args.versions:,} versions of {args.table_keys:,} "
            f"keys; {made['span_s']:,.0f} s of event time; seed {args.seed}; "
            f"python {sys.version.split()[0]}; {os.cpu_count()} cpus; best of {args.repeats}; "
            f"load average {os.getloadavg()[0]:.1f}; {compiled}"
        )
        print(
            f"{'case':8}{'records':>11}{'gress rec/s':>13}{'CPU s':>7}{'RSS MB':>8}"
            f"{'baseline rec/s':>16}{'CPU s':>7}{'RSS MB':>8}{'ratio':>7}{'CPU ratio':>10}"
            f"{'out':>10}  check"
        )
        for kind in [args.only] if args.only else list(CASES):
            rules_text, view, streams, _ = CASES[kind]
            rules = workdir / f"{kind}.gress"
            rules.write_text(rules_text)
            files = [str(workdir / f"{s}.jsonl") for s in streams]
            inputs = [
                arg for s, f in zip(streams, files, strict=True) for arg in ("-i", f"{s}={f}")
            ]
            out, expected = workdir / f"{kind}.gress.jsonl", workdir / f"{kind}.baseline.jsonl"
            gress_runs, base_runs = [], []
            baseline = [sys.executable, __file__, "--child", "baseline", kind, *files]
            try:
                for r in range(args.repeats):  # interleaved: both see the same machine
                    state = workdir / f"{kind}.state{r}"
                    command = [gress_command(), "detect", str(rules), *inputs, "--view", view,
                               "-o", str(out), "-q", "--state-dir", str(state)]  # fmt: skip
                    gress_runs.append(run_measured(command))
                    base_runs.append(run_measured([*baseline, str(expected)]))
            except Failed as failed:
                print(f"!!! FAILED {kind}: {failed}")
                ok = False
                continue
            g, b = best(gress_runs), best(base_runs)
            result = child("compare", kind, str(out), str(expected))
            same = check(kind, result)
            ok &= same
            n_in = 2 * args.n if kind == "join" else args.n + args.versions
            rate, base_rate = n_in / g.seconds, n_in / b.seconds
            print(
                f"{kind:8}{n_in:>11,}{rate:>13,.0f}{g.cpu:>7.2f}{g.rss_mb:>8,.0f}"
                f"{base_rate:>16,.0f}{b.cpu:>7.2f}{b.rss_mb:>8,.0f}{rate / base_rate:>7.2f}"
                f"{b.cpu / g.cpu:>10.2f}{result['records']:>10,}  {'ok' if same else 'MISMATCH'}"
            )
            if kind == "lookup":
                print(f"#   lookup: {result['nulls']:,} records found no version (null)")
        print(f"# target: ratio >= {TARGET_RATIO}")
    if not ok:
        print("\n!!! MISMATCH (or FAILED): see above")
        sys.exit(1)


if __name__ == "__main__":
    main()
