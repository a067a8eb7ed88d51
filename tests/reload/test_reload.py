"""`gress detect FILE --watch`: a reload keeps the state of what did not change (issue 15 §2).

The job runs through the same WatchedJob as the command (driver.py), over a file of five
rounds of events; the rules are rewritten after the first round, so that every pattern has
partial matches open across the reload. A run without a reload is the reference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from gress_cep.runtime.reload import ReloadReport, WatchedJob

from . import driver
from .driver import V1, V2, matches, rewrite, run, setup


@pytest.fixture
def job(tmp_path: Path) -> Path:
    setup(tmp_path)
    return tmp_path


def reference(tmp_path: Path, rules: str) -> list[dict]:
    """What a run of `rules` alone, with no reload, writes."""
    where = tmp_path / f"ref-{abs(hash(rules))}"
    where.mkdir()
    setup(where, rules)
    run(where)
    return matches(where)


def of(records: list[dict], pattern: str) -> list[dict]:
    return [r for r in records if r["pattern"] == pattern]


def reload_after_first_round(job: Path, rules: str = V2) -> list[ReloadReport]:
    reports: list[ReloadReport] = []
    run(job, {0: rewrite(job, rules)}, reports)
    return reports


def test_an_unchanged_pattern_keeps_its_partial_matches_across_a_reload(
    job: Path, tmp_path: Path
) -> None:
    reports = reload_after_first_round(job)
    assert reports[0].ok and reports[0].kept == {"pair": 5}
    assert "kept pair (5 partial matches)" in reports[0].message
    pairs = of(matches(job), "pair")
    # each match needs an event read before the reload (a_i) and one after it (b_i)
    assert [(m["a_i"], m["b_i"]) for m in pairs] == [(100 + n, 9192 + n) for n in range(5)]
    assert pairs == of(reference(tmp_path, V1), "pair")


def test_a_changed_pattern_restarts_empty_and_the_message_counts_the_partial_matches_dropped(
    job: Path, tmp_path: Path
) -> None:
    reports = reload_after_first_round(job)
    assert reports[0].restarted == {"velocity": 3}
    assert "restarted velocity (dropped 3 partial matches)" in reports[0].message
    # the three C events before the reload started partial matches the new version lost
    assert of(reference(tmp_path, V2), "velocity") != []
    assert of(matches(job), "velocity") == []


def test_an_added_pattern_starts_at_the_current_position(job: Path, tmp_path: Path) -> None:
    reports = reload_after_first_round(job)
    assert reports[0].added == ["burst"]
    assert "added burst (from the current position)" in reports[0].message
    # g0's start was read before the reload: not replayed; g1's came after it
    assert [m["key"] for m in of(reference(tmp_path, V2), "burst")] == ["g0", "g1"]
    assert [m["key"] for m in of(matches(job), "burst")] == ["g1"]


def test_a_removed_pattern_is_dropped(job: Path, tmp_path: Path) -> None:
    reports = reload_after_first_round(job)
    assert reports[0].removed == ["old_rule"]
    assert reports[0].message.endswith("removed old_rule")
    assert of(reference(tmp_path, V1), "old_rule") != []  # it would have matched after
    assert of(matches(job), "old_rule") == []


def test_a_broken_file_keeps_the_old_rules_and_reports_file_line_col(
    job: Path, tmp_path: Path
) -> None:
    broken = V2.replace('where g: kind == "G"', 'where g: kind == = "G"')
    reports = reload_after_first_round(job, broken)
    assert len(reports) == 1 and not reports[0].ok
    line = broken.splitlines().index('    where g: kind == = "G"') + 1
    assert f"{job / 'rules.gress'}:{line}:" in reports[0].message
    assert "refused, the job goes on with the rules it had" in reports[0].message
    assert matches(job) == reference(tmp_path, V1)  # V1 ran on, state and all


def test_a_file_fixed_after_a_refused_reload_is_taken_at_the_next_change(job: Path) -> None:
    reports: list[ReloadReport] = []
    broken = V2.replace("within 2h", "within 2 hours please")

    def fix(watched: WatchedJob) -> None:
        (job / "rules.gress").write_text(V2)

    # the file is looked at every round: a change is taken once it stayed the same a round
    run(job, {0: rewrite(job, broken), 1: fix}, reports, interval_s=0.0)
    assert [r.ok for r in reports] == [False, True]
    assert list(reports[1].kept) == ["pair"] and list(reports[1].restarted) == ["velocity"]


def test_a_changed_file_is_reloaded_without_a_signal(job: Path) -> None:
    reports: list[ReloadReport] = []

    def edit(watched: WatchedJob) -> None:
        (job / "rules.gress").write_text(V2)

    # looked at every round: seen changed after round 1, taken after round 2 (still the same)
    run(job, {0: edit}, reports, interval_s=0.0)
    assert [r.ok for r in reports] == [True]
    assert reports[0].removed == ["old_rule"] and reports[0].added == ["burst"]


def test_a_reload_that_drops_a_selected_pattern_is_refused(job: Path) -> None:
    reports: list[ReloadReport] = []
    watched = driver.start(job, reports, patterns=["old_rule"])
    try:
        for n, _ in enumerate(watched.rounds()):
            if n == 0:
                rewrite(job, V2)(watched)
    finally:
        watched.close()
    assert [r.ok for r in reports] == [False]
    assert "old_rule" in reports[0].message
    assert [m["key"] for m in matches(job)] == ["o0", "o1"]  # it ran on


def test_sighup_triggers_a_reload(job: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from gress_cep.cli.watch import Watch
    from gress_cep.runtime.metrics import Metrics

    watched = driver.start(job, cls=Watch)
    assert isinstance(watched, Watch)
    metrics = Metrics(watched.job.pipeline, driver.free_port(), watched.job.coordinator)
    watched.follow(None, metrics)
    try:
        for n, _ in enumerate(watched.rounds()):
            if n == 0:
                (job / "rules.gress").write_text(V2)
                os.kill(os.getpid(), signal.SIGHUP)  # no request(): the handler's doing
    finally:
        metrics.close()
        watched.restore_signal()
        watched.close()
    err = capfd.readouterr().err
    assert f"reloaded {job / 'rules.gress'}: kept pair (5 partial matches)" in err
    assert metrics.pipeline is watched.job.pipeline  # the metrics follow the new job
    exported = generate_latest(metrics.registry).decode()
    assert 'gress_reloads_total{result="ok"} 1.0' in exported
    assert 'gress_reloads_total{result="refused"} 0.0' in exported
    assert 'gress_pattern_matches_total{pattern="burst"} 1.0' in exported


def test_a_restart_after_a_reload_runs_the_new_rules_from_its_checkpoint(job: Path) -> None:
    """Stopped after the reload (as Ctrl-C does), then started again with the plain command:
    no question about the removed pattern, the new rules resume."""

    def reload_then_stop(watched: WatchedJob) -> None:
        watched.stop()

    run(job, {0: rewrite(job, V2), 1: reload_then_stop})
    done = subprocess.run(driver.detect_args(job), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resumed from checkpoint" in done.stderr
    assert "old_rule" not in done.stderr
    assert [m["pattern"] for m in matches(job)] == ["pair"] * 5 + ["burst"]


# ------------------------------------------------------------------ SIGKILL during a reload
@pytest.mark.parametrize(
    "fault",
    [
        "checkpoint-3@1",  # the reload's checkpoint durable, not committed
        "reload@1",  # old rules checkpointed and closed, new ones not opened
        "restore@1",  # new rules restored, nothing processed
        "checkpoint-2@2",  # the new rules' first checkpoint half written
    ],
)
def test_sigkill_during_a_reload_loses_and_repeats_nothing(
    job: Path, tmp_path: Path, fault: str
) -> None:
    """Killed in the middle of a reload and started again with the same command: the outputs
    are those of the run that was not killed, record for record."""
    reload_run = tmp_path / "uninterrupted"
    reload_run.mkdir()
    setup(reload_run)
    reload_after_first_round(reload_run)
    expected = matches(reload_run)

    (job / "next.gress").write_text(V2)
    killed = subprocess.run(
        [sys.executable, str(Path(driver.__file__)), str(job), "0"],
        env={**os.environ, "GRESS_FAULT": fault}, capture_output=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    restarted = subprocess.run(
        [*driver.detect_args(job), "--watch"], capture_output=True, text=True, timeout=120
    )
    assert restarted.returncode == 0, restarted.stderr
    assert matches(job) == expected


def test_sigkill_before_the_reload_checkpoint_is_durable_runs_the_new_rules_from_the_one_before(
    job: Path, tmp_path: Path
) -> None:
    """Nothing of the reload is durable: the restart resumes the checkpoint before it (here
    none: the start) with the file on disk, as a run of the new rules from there would."""
    (job / "next.gress").write_text(V2)
    killed = subprocess.run(
        [sys.executable, str(Path(driver.__file__)), str(job), "0"],
        env={**os.environ, "GRESS_FAULT": "checkpoint-2@1"}, capture_output=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    restarted = subprocess.run(
        [*driver.detect_args(job), "--watch"], capture_output=True, text=True, timeout=120
    )
    assert restarted.returncode == 0, restarted.stderr
    assert matches(job) == reference(tmp_path, V2)


# ------------------------------------------------------------------ refused at the start
@pytest.mark.parametrize(
    ("extra", "stdin"),
    [(["--checkpoint-interval", "off"], None), (["-i", "-"], "")],
    ids=["no-checkpoints", "stdin"],
)
def test_watch_without_checkpoints_is_refused_at_the_start(
    job: Path, extra: list[str], stdin: str | None
) -> None:
    args = [sys.executable, "-m", "gress_cep.cli.main", "detect", "rules.gress", "--watch"]
    args += ["-i", "events.jsonl"] if "-i" not in extra else []
    done = subprocess.run(
        [*args, *extra, "-o", "out.jsonl"],
        capture_output=True, text=True, cwd=job, input=stdin, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("gress: error: --watch needs a job with checkpoints")
    assert "Traceback" not in done.stderr
    assert not (job / "out.jsonl").exists()
