"""`gress detect` as a user runs it (CLI.md)."""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream events
    key card
    time ts
    lateness 1s

pattern probe_then_big
    from events
    match small{2,} -> big
    where small: amount < 2
          big: amount > 100
    within 1m
    emit card, count(small) as probes, big.amount as amount
    on timeout emit card, count(small) as probes

pattern big_spender
    from events
    match big{2} consecutive
    where big: amount > 1000
"""

EVENTS = [
    {"card": "c1", "ts": 1000, "amount": 1.0},
    {"card": "c1", "ts": 2000, "amount": 1.5},
    {"card": "c1", "ts": 3000, "amount": 500.0},
    {"card": "c2", "ts": 4000, "amount": 1.0},
    {"card": "c2", "ts": 5000, "amount": 1.0},
    {"card": "c3", "ts": 6000, "amount": 5000.0},
    {"card": "c3", "ts": 7000, "amount": 6000.0},
    {"card": "c1", "ts": 500, "amount": 1.0},  # behind the watermark: late
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    with open(tmp_path / "events.jsonl", "w") as fh:
        for e in EVENTS:
            fh.write(json.dumps(e) + "\n")
        fh.write("{not json\n")
    return tmp_path


def detect(*args: str) -> object:
    return CliRunner().invoke(cli, ["detect", *args], catch_exceptions=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_matches_go_to_the_output_file(files: Path) -> None:
    out = files / "alerts.jsonl"
    result = detect(str(files / "rules.gress"), "-i", str(files / "events.jsonl"), "-o", str(out))
    assert result.exit_code == 0, result.output
    alerts = read_jsonl(out)
    assert {
        "pattern": "probe_then_big",
        "key": "c1",
        "start": 1000,
        "end": 3000,
        "card": "c1",
        "probes": 2,
        "amount": 500.0,
    } in alerts
    assert [a["key"] for a in alerts if a["pattern"] == "big_spender"] == ["c3"]


def test_side_outputs_keep_late_records_timeouts_and_dead_letters(files: Path) -> None:
    result = detect(
        str(files / "rules.gress"),
        "-i",
        f"events={files / 'events.jsonl'}",
        "-o",
        str(files / "a.jsonl"),
        "--late",
        str(files / "late.jsonl"),
        "--timeouts",
        str(files / "t.jsonl"),
        "--dead-letter",
        str(files / "dead.jsonl"),
    )
    assert result.exit_code == 0, result.output
    # each late record with where it came from and by how much it was late
    assert read_jsonl(files / "late.jsonl") == [
        {
            "stream": "events",
            "origin": f"{files / 'events.jsonl'}:8",
            "late_by_ms": 5_500,  # the watermark: 7000 - 1s of lateness; the record: 500
            "record": EVENTS[-1],
        }
    ]
    timeouts = read_jsonl(files / "t.jsonl")
    assert [(t["card"], t["probes"]) for t in timeouts] == [("c2", 2), ("c2", 1)]
    [dead] = read_jsonl(files / "dead.jsonl")
    assert dead["origin"].endswith("events.jsonl:9")
    assert dead["reason"]


def test_the_summary_counts_add_up(files: Path) -> None:
    result = detect(
        str(files / "rules.gress"), "-i", str(files / "events.jsonl"), "-o", str(files / "a.jsonl")
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("probe_then_big")]
    cells = [c.strip().replace(",", "") for c in lines[0].replace("│", "|").split("|")]
    _, records_in, processed, _, _, late, dead, filtered = cells
    assert (records_in, processed, late, dead, filtered) == ("9", "7", "1", "1", "0")
    assert int(records_in) == int(processed) + int(late) + int(dead) + int(filtered)
    assert "1 dead letters were counted but not written" in result.stderr


def test_pattern_selects_what_runs(files: Path) -> None:
    out = files / "a.jsonl"
    result = detect(
        str(files / "rules.gress"),
        "-i",
        str(files / "events.jsonl"),
        "-o",
        str(out),
        "--pattern",
        "big_spender",
    )
    assert result.exit_code == 0
    assert {a["pattern"] for a in read_jsonl(out)} == {"big_spender"}


def test_stdin_in_jsonl_out_when_piped(files: Path) -> None:
    data = "".join(json.dumps(e) + "\n" for e in EVENTS)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gress_cep.cli.main",
            "detect",
            str(files / "rules.gress"),
            "-i",
            "-",
        ],
        input=data,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    patterns = [json.loads(line)["pattern"] for line in proc.stdout.splitlines()]
    assert sorted(patterns) == ["big_spender", "probe_then_big"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no input given"),
        (["-i", "nope.jsonl"], "input nope.jsonl does not exist"),
        (["-i", "other=x.jsonl"], "no stream named 'other'"),
        (["-i", "{events}", "--pattern", "nothing"], "no pattern named 'nothing'"),
        (["-i", "{events}", "-o", "/nonexistent-dir/x.jsonl"], "its folder does not exist"),
        (["-i", "{events}", "--idle-timeout", "soon"], "--idle-timeout 'soon' is not a duration"),
    ],
)
def test_user_mistakes_get_one_clear_line_and_exit_1(
    files: Path, args: list[str], message: str
) -> None:
    args = [a.replace("{events}", str(files / "events.jsonl")) for a in args]
    result = CliRunner().invoke(cli, ["detect", str(files / "rules.gress"), *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_pattern_file_is_reported_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "bad.gress").write_text(
        "stream s\npattern p\n    from s\n    match a -> b\n    where a: x = 1\n"
    )
    result = CliRunner().invoke(cli, ["detect", str(tmp_path / "bad.gress"), "-i", "x.jsonl"])
    assert result.exit_code == 1
    assert "bad.gress:5:" in result.stderr


def test_the_config_file_gives_defaults_that_flags_override(files: Path) -> None:
    (files / "gress.toml").write_text(
        f'[detect]\noutput = "{files / "from-config.jsonl"}"\npattern = ["big_spender"]\n'
    )
    result = detect(
        str(files / "rules.gress"),
        "--config",
        str(files / "gress.toml"),
        "-i",
        str(files / "events.jsonl"),
    )
    assert result.exit_code == 0, result.output
    assert {a["pattern"] for a in read_jsonl(files / "from-config.jsonl")} == {"big_spender"}
    result = detect(
        str(files / "rules.gress"),
        "--config",
        str(files / "gress.toml"),
        "-i",
        str(files / "events.jsonl"),
        "-o",
        str(files / "from-flag.jsonl"),
    )
    assert (files / "from-flag.jsonl").exists()


def test_an_unknown_config_setting_is_an_error(files: Path) -> None:
    (files / "gress.toml").write_text('colour = "blue"\n')
    result = CliRunner().invoke(
        cli, ["detect", str(files / "rules.gress"), "--config", str(files / "gress.toml")]
    )
    assert result.exit_code == 1
    assert "unknown setting 'colour'" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_are_served_while_running(files: Path) -> None:
    port = _free_port()
    # a slow input (stdin kept open) so that the job is alive while we scrape
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gress_cep.cli.main",
            "detect",
            str(files / "rules.gress"),
            "-i",
            "-",
            "--metrics-port",
            str(port),
            "-q",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None
        for e in EVENTS[:3]:
            proc.stdin.write(json.dumps(e) + "\n")
        proc.stdin.flush()
        body = ""
        for _ in range(100):
            try:
                body = (
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1)
                    .read()
                    .decode()
                )
                if 'gress_records_in{pattern="probe_then_big"} 3.0' in body:
                    break
            except OSError:
                pass
            import time

            time.sleep(0.1)
        assert 'gress_records_in{pattern="probe_then_big"} 3.0' in body
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=20)
    assert proc.returncode == 0
