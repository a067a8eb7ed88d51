"""A `gress detect --watch` job driven round by round, for the reload tests.

A file input ends, so a real `gress detect --watch` over one is finished before a test could
edit its rules; this builds the same job the command builds (same JobSpec, so a later
`gress detect` on the same state directory resumes it) and runs it through the same
WatchedJob, with the rules rewritten after a given round — deterministically, since a file
source returns BATCH lines per round.

Run as a script (the crash test kills it with GRESS_FAULT):
    python driver.py WORKDIR RULES_AFTER_ROUND  (the new rules in WORKDIR/next.gress)
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gress_cep.cli.options import input_specs
from gress_cep.connectors import ConnectorConfig
from gress_cep.dsl import load_file
from gress_cep.runtime.job import Job, JobSpec, Outputs
from gress_cep.runtime.plan import PlanOptions, build_plan
from gress_cep.runtime.reload import ReloadReport, WatchedJob
from gress_cep.state import open_backend

BATCH = 8192  # lines a file source returns per round
ROUNDS = 5

V1 = """stream events
    key key
    time ts

pattern pair
    from events
    match a -> b
    where a: kind == "A"
          b: kind == "B"
    within 1h
    emit key, a.i as a_i, b.i as b_i

pattern velocity
    from events
    match c -> d
    where c: kind == "C"
          d: kind == "D"
    within 1h
    emit key, c.i as c_i, d.i as d_i

pattern old_rule
    from events
    match e -> f
    where e: kind == "E"
          f: kind == "F"
    within 1h
    emit key, e.i as e_i, f.i as f_i
"""

# pair as it was; velocity changed (its window); old_rule removed; burst added
V2 = """stream events
    key key
    time ts

pattern pair
    from events
    match a -> b
    where a: kind == "A"
          b: kind == "B"
    within 1h
    emit key, a.i as a_i, b.i as b_i

pattern velocity
    from events
    match c -> d
    where c: kind == "C"
          d: kind == "D"
    within 2h
    emit key, c.i as c_i, d.i as d_i

pattern burst
    from events
    match g -> h
    where g: kind == "G"
          h: kind == "H"
    within 1h
    emit key, g.i as g_i, h.i as h_i
"""

# (line index, key, kind): what the patterns are about; every other line is filler ("X")
MARKED = {
    # round 0: five open `pair` matches, three `velocity`, two `old_rule`, one `burst` start
    **{100 + n: (f"p{n}", "A") for n in range(5)},
    **{200 + n: (f"v{n}", "C") for n in range(3)},
    **{300 + n: (f"o{n}", "E") for n in range(2)},
    400: ("g0", "G"),
    # round 1 and later: what would close each of them
    **{BATCH + 1000 + n: (f"p{n}", "B") for n in range(5)},
    **{BATCH + 1100 + n: (f"v{n}", "D") for n in range(3)},
    **{BATCH + 1200 + n: (f"o{n}", "F") for n in range(2)},
    BATCH + 1300: ("g1", "G"),  # a `burst` start after the reload
    3 * BATCH + 10: ("g0", "H"),
    3 * BATCH + 11: ("g1", "H"),
}


def write_events(path: Path, rounds: int = ROUNDS) -> None:
    with open(path, "w") as fh:
        for i in range(rounds * BATCH):
            key, kind = MARKED.get(i, (f"x{i % 97}", "X"))
            fh.write(json.dumps({"key": key, "ts": i, "kind": kind, "i": i}) + "\n")


def setup(workdir: Path, rules: str = V1) -> None:
    (workdir / "rules.gress").write_text(rules)
    write_events(workdir / "events.jsonl")


def spec(workdir: Path, patterns: list[str] | None = None) -> JobSpec:
    """What `gress detect rules.gress -i events.jsonl -o out.jsonl --state-dir state
    --checkpoint-interval 1h --watch` (run in workdir) builds."""
    return JobSpec(
        file=workdir / "rules.gress",
        inputs=[("events", str(workdir / "events.jsonl"))],
        outputs=Outputs(str(workdir / "out.jsonl")),
        config=ConnectorConfig(),
        patterns=patterns,
        state_dir=workdir / "state",
        checkpoint_interval_s=3600.0,
        allow_non_restored_state=True,
    )


def detect_args(workdir: Path) -> list[str]:
    """The same job as `spec`, on the command line (without --watch)."""
    return [
        sys.executable, "-m", "gress_cep.cli.main", "detect", str(workdir / "rules.gress"),
        "-i", str(workdir / "events.jsonl"), "-o", str(workdir / "out.jsonl"),
        "--state-dir", str(workdir / "state"), "--checkpoint-interval", "1h",
    ]  # fmt: skip


def start(
    workdir: Path,
    reports: list[ReloadReport] | None = None,
    *,
    interval_s: float = 3600.0,
    patterns: list[str] | None = None,
    cls: type | None = None,
) -> WatchedJob:
    """The job on workdir's rules, watched (the file is looked at every `interval_s`);
    `cls=Watch`: as the command line has it, with SIGHUP and lines on stderr."""
    job_spec = spec(workdir, patterns)
    program, _ = load_file(job_spec.file)
    options = PlanOptions(patterns=patterns, base_dir=workdir)
    plan = build_plan(program, options)
    job = Job(job_spec, program, plan, open_backend)
    args = (
        job,
        program,
        plan,
        lambda new: build_plan(new, options),
        lambda new: input_specs(new, (str(workdir / "events.jsonl"),)),
        open_backend,
    )
    if cls is not None:
        watched: WatchedJob = cls(*args, quiet=False)
        return watched

    def report(rep: ReloadReport, _job: Job) -> None:
        if reports is not None:
            reports.append(rep)

    return WatchedJob(*args, report, interval_s=interval_s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(
    workdir: Path,
    after_round: dict[int, Callable[[WatchedJob], Any]] | None = None,
    reports: list[ReloadReport] | None = None,
    *,
    interval_s: float = 3600.0,
) -> WatchedJob:
    """Run to the end; `after_round[n](watched)` is called after round n (rewrite the rules,
    ask for a reload)."""
    watched = start(workdir, reports, interval_s=interval_s)
    try:
        for n, _ in enumerate(watched.rounds()):
            action = (after_round or {}).get(n)
            if action is not None:
                action(watched)
    finally:
        watched.close()
    return watched


def rewrite(workdir: Path, rules: str) -> Callable[[WatchedJob], None]:
    """Write new rules and ask for a reload (as SIGHUP does)."""

    def action(watched: WatchedJob) -> None:
        (workdir / "rules.gress").write_text(rules)
        watched.request()

    return action


def matches(workdir: Path, name: str = "out.jsonl") -> list[dict[str, Any]]:
    path = workdir / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


if __name__ == "__main__":
    where = Path(sys.argv[1])
    after = int(sys.argv[2])
    run(where, {after: rewrite(where, (where / "next.gress").read_text())})
