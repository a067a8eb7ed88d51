"""The IoT example runs end to end and raises exactly the alerts its planted incidents call for.

The expected alerts are computed here, in plain Python, from the committed data: windows, the
interval join, the temporal lookup and each pattern's matching rule written out as loops — none of
it from gress. They must agree with the incidents the generator planted (incidents.jsonl), and
`gress detect` must find exactly them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from bisect import bisect_right
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iot"
STREAMS = ("temperature", "humidity", "heartbeats", "devices")
MINUTE = 60_000
WITHOUT_JOINS = ("heating_up", "silent", "reboot")  # no join, no lookup

Record = dict[str, Any]


def read_jsonl(path: Path) -> list[Record]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def data(name: str) -> list[Record]:
    return read_jsonl(EXAMPLE / f"{name}.jsonl")


def by(records: list[Record], field: str) -> dict[Any, list[Record]]:
    """Records grouped by a field, each group in event-time order (equal times: file order)."""
    groups: dict[Any, list[Record]] = defaultdict(list)
    for r in records:
        groups[r[field]].append(r)
    return {k: sorted(v, key=lambda r: r["ts"]) for k, v in groups.items()}


def contiguous(events: list[Any], steps: list[Any], within: int | None = None) -> list[list[Any]]:
    """The matches of a strictly contiguous sequence `s1 , s2 , ...` over one partition's events,
    after-match skip past last: a match's events are never reused. steps[i](event, earlier)
    says whether the event may be the i-th, given the events taken so far; within: the first
    and the last event less than that apart (the events' "ts")."""
    matches, i = [], 0
    while i + len(steps) <= len(events):
        taken: list[Any] = []
        for step, event in zip(steps, events[i : i + len(steps)], strict=True):
            if not step(event, taken):
                break
            taken.append(event)
        else:
            if within is None or taken[-1]["ts"] - taken[0]["ts"] < within:
                matches.append(taken)
                i += len(steps)
                continue
        i += 1
    return matches


# ---------------------------------------------------------------------- the rules, by hand
def room_averages() -> dict[str, list[Record]]:
    """`window sliding 10m every 5m by room | aggregate avg(celsius)`: every window
    [k*5m, k*5m + 10m) that holds a reading, per room, in window order."""
    size, step = 10 * MINUTE, 5 * MINUTE
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0])
    for r in data("temperature"):
        last = r["ts"] - r["ts"] % step
        for start in (last - step, last):
            acc = sums[(r["room"], start)]
            acc[0] += r["celsius"]
            acc[1] += 1
    rooms: dict[str, list[Record]] = defaultdict(list)
    for (room, start), (total, n) in sorted(sums.items()):
        rooms[room].append({"ts": start + size - 1, "window_end": start + size, "avg": total / n})
    assert all(start % step == 0 and size == 2 * step for _, start in sums)
    return rooms


def expected_heating_up() -> list[Record]:
    rising = [
        lambda w, taken: True,
        lambda w, taken: w["avg"] > taken[-1]["avg"] + 1.0,
        lambda w, taken: w["avg"] > taken[-1]["avg"] + 1.0,
    ]
    return [
        {"pattern": "heating_up", "key": room, "end": m[-1]["ts"]}
        for room, windows in room_averages().items()
        for m in contiguous(windows, rising)
    ]


def config_at(device: str, ts: int, versions: dict[str, list[Record]]) -> Record | None:
    """The configuration row of a device valid at ts: the greatest version time <= ts."""
    rows = versions.get(device, [])
    i = bisect_right([r["ts"] for r in rows], ts)
    return rows[i - 1] if i else None


def looked_up(records: list[Record]) -> list[Record]:
    """`| lookup devices on device`: each record with its device's row at its time (its own
    fields win)."""
    versions = by(data("devices"), "device")
    out = []
    for r in records:
        row = config_at(r["device"], r["ts"], versions) or {}
        out.append({**{k: v for k, v in row.items()}, **r})
    return out


def above(r: Record) -> bool:
    return r["max_celsius"] is not None and r["celsius"] > r["max_celsius"]


def expected_too_hot() -> list[Record]:
    steps = [lambda r, _: r["max_celsius"] is not None and not above(r)] + [
        lambda r, _: above(r)
    ] * 3
    return [
        {"pattern": "too_hot", "key": device, "end": m[-1]["ts"], "celsius": m[-1]["celsius"],
         "max_celsius": m[-1]["max_celsius"]}
        for device, readings in by(looked_up(data("temperature")), "device").items()
        for m in contiguous(readings, steps, within=10 * MINUTE)
    ]  # fmt: skip


def joined_climate() -> dict[str, list[Record]]:
    """`join temperature as t, humidity as h on t.room == h.room within 30s`: every pair of one
    room at most 30 s apart (nested loops), per room in the order of the pair's later time."""
    humidity = by(data("humidity"), "room")
    rooms: dict[str, list[Record]] = {}
    for room, temps in by(data("temperature"), "room").items():
        pairs = [
            {"ts": max(t["ts"], h["ts"]), "t_ts": t["ts"], "celsius": t["celsius"], "rh": h["rh"]}
            for t in temps
            for h in humidity.get(room, [])
            if abs(t["ts"] - h["ts"]) <= 30_000
        ]
        rooms[room] = sorted(pairs, key=lambda p: (p["ts"], p["t_ts"]))
    return rooms


def wet(p: Record) -> bool:
    return p["rh"] > 80 and p["celsius"] < 17


def expected_damp() -> list[Record]:
    steps = [lambda p, _: not wet(p)] + [lambda p, _: wet(p)] * 3
    return [
        {
            "pattern": "damp",
            "key": room,
            "celsius": m[-1]["celsius"],
            "rh": m[-1]["rh"],
            "end": m[-1]["ts"],  # a pair's time is the later of its two (language.md 4.2)
        }
        for room, pairs in joined_climate().items()
        for m in contiguous(pairs, steps, within=10 * MINUTE)
    ]


def expected_battery_low() -> list[Record]:
    steps = [
        lambda b, _: b["battery"] >= b["min_battery"],
        lambda b, _: b["battery"] < b["min_battery"],
    ]
    return [
        {"pattern": "battery_low", "key": device, "end": m[-1]["ts"],
         "battery": m[-1]["battery"], "min_battery": m[-1]["min_battery"]}
        for device, beats in by(looked_up(data("heartbeats")), "device").items()
        for m in contiguous(beats, steps)
    ]  # fmt: skip


def expected_silent() -> list[Record]:
    """An `ok` heartbeat after which the device sends nothing for 5 minutes (the end of the data
    included: the watermark then passes every window)."""
    out = []
    for device, beats in by(data("heartbeats"), "device").items():
        for beat, following in zip(beats, [*beats[1:], None], strict=True):
            quiet = following is None or following["ts"] - beat["ts"] >= 5 * MINUTE
            if beat["status"] == "ok" and quiet:
                out.append({"pattern": "silent", "key": device, "end": beat["ts"]})
    return out


def expected_reboot() -> tuple[list[Record], list[Record]]:
    """(matches, timeouts): a `rebooting` heartbeat followed by an `ok` one less than 5 minutes
    later, or not."""
    matches, timeouts = [], []
    for device, beats in by(data("heartbeats"), "device").items():
        for i, down in enumerate(beats):
            if down["status"] != "rebooting":
                continue
            up = next((b for b in beats[i + 1 :] if b["status"] == "ok"), None)
            if up is not None and up["ts"] - down["ts"] < 5 * MINUTE:
                end, downtime = up["ts"], up["ts"] - down["ts"]
                matches.append({"pattern": "reboot", "key": device, "end": end,
                                "downtime_ms": downtime})  # fmt: skip
            else:
                timeouts.append({"pattern": "reboot", "key": device, "since": down["ts"],
                                 "_when": down["ts"]})  # fmt: skip
    return matches, timeouts


def expected() -> tuple[list[Record], list[Record]]:
    """Every alert of the example and every timeout, computed without gress."""
    reboots, timeouts = expected_reboot()
    alerts = (
        expected_heating_up() + expected_too_hot() + expected_damp() + expected_battery_low()
        + expected_silent() + reboots
    )  # fmt: skip
    return alerts, timeouts


def incident_counts() -> Counter[str]:
    counts: Counter[str] = Counter()
    for incident in data("incidents"):
        counts.update(incident["alerts"])
    return counts


# ---------------------------------------------------------------------- running gress
def gress(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def detect(
    tmp_path: Path, *patterns: str, streams: tuple[str, ...] = STREAMS
) -> tuple[Result, list[Record], list[Record]]:
    out, timeouts, late = (tmp_path / f"{n}.jsonl" for n in ("alerts", "timeouts", "late"))
    inputs = [arg for s in streams for arg in ("-i", f"{s}={EXAMPLE / f'{s}.jsonl'}")]
    selected = [arg for p in patterns for arg in ("--pattern", p)]
    result = gress(
        "detect", EXAMPLE / "iot.gress", *inputs, *selected, "-o", out, "--timeouts", timeouts,
        "--late", late, "--checkpoint-interval", "off",
    )  # fmt: skip
    if result.exit_code != 0:
        return result, [], []
    read = lambda p: read_jsonl(p) if p.exists() else []  # noqa: E731
    assert read(late) == []  # out of order by up to 8 s, lateness 10 s: nothing is late
    return result, read(out), read(timeouts)


def project(alerts: list[Record], like: list[Record]) -> Counter[tuple]:
    """The alerts as a multiset, each reduced to the fields the expectations have."""
    fields = sorted({f for e in like for f in e if not f.startswith("_")})
    return Counter(tuple((f, a.get(f)) for f in fields if f in a) for a in alerts)


def compare(got: list[Record], want: list[Record]) -> None:
    for pattern in sorted({a["pattern"] for a in got + want}):
        mine = [a for a in want if a["pattern"] == pattern]
        theirs = [a for a in got if a["pattern"] == pattern]
        assert project(theirs, mine) == project(mine, mine), (pattern, theirs, mine)


# ---------------------------------------------------------------------- tests
def test_the_example_checks() -> None:
    result = gress("check", EXAMPLE / "iot.gress")
    assert result.exit_code == 0, result.output
    assert "iot.gress: 4 streams, 0 models, 4 views, 6 patterns: ok" in result.stdout


def test_the_hand_computed_alerts_are_the_planted_incidents() -> None:
    """The computation by hand and the generator's story agree: each rule fires as often as the
    planted incidents say, each alert inside an incident of its rule and key; the decoys
    (showers, cooking under a raised threshold, a battery swapped in time, maintenance, a Wi-Fi
    blip) cause none."""
    alerts, timeouts = expected()
    counts = Counter(a["pattern"] for a in alerts) + Counter("reboot_timeout" for _ in timeouts)
    assert counts == incident_counts()
    assert counts == {"heating_up": 2, "too_hot": 3, "damp": 3, "battery_low": 2, "silent": 2,
                      "reboot": 3, "reboot_timeout": 1}  # fmt: skip
    incidents = data("incidents")
    timed_out = [{**t, "pattern": "reboot_timeout"} for t in timeouts]
    for alert in alerts + timed_out:
        when = alert.get("end", alert.get("_when"))
        inside = [
            i for i in incidents
            if alert["pattern"] in i["alerts"] and alert["key"] in (i.get("device"), i.get("room"))
            and i["from"] <= when <= i["to"]
        ]  # fmt: skip
        assert len(inside) == 1, alert


def test_the_rules_without_joins_find_exactly_the_expected_alerts(tmp_path: Path) -> None:
    """The rules that read no join or lookup, on their own: a window and a pattern over it, an
    absence, a timeout (the two inputs they read, and only them)."""
    result, alerts, timeouts = detect(
        tmp_path, *WITHOUT_JOINS, streams=("temperature", "heartbeats")
    )
    assert result.exit_code == 0, result.output
    want, want_timeouts = expected()
    compare(alerts, [a for a in want if a["pattern"] in WITHOUT_JOINS])
    compare(timeouts, want_timeouts)
    assert len(alerts) == 7 and len(timeouts) == 1


def test_the_whole_example_finds_exactly_the_expected_alerts(tmp_path: Path) -> None:
    """Every rule, the join and the lookups included: what `make iot` runs."""
    result, alerts, timeouts = detect(tmp_path)
    assert result.exit_code == 0, result.output
    want, want_timeouts = expected()
    compare(alerts, want)
    compare(timeouts, want_timeouts)
    assert len(alerts) == sum(incident_counts().values()) - len(want_timeouts) == 15


def test_the_readme_shows_the_alerts_as_they_come_out(tmp_path: Path) -> None:
    """examples/iot/README.md shows the output of `make iot`: the same lines, in the same order
    (the same files give the same output, order included)."""
    readme = (EXAMPLE / "README.md").read_text()
    shown = [line for line in readme.splitlines() if line.startswith('{"pattern":')]
    out, timed_out = tmp_path / "out.jsonl", tmp_path / "timeouts.jsonl"
    inputs = [arg for s in STREAMS for arg in ("-i", f"{s}={EXAMPLE / f'{s}.jsonl'}")]
    result = gress(
        "detect", EXAMPLE / "iot.gress", *inputs, "-o", out, "--timeouts", timed_out,
        "--checkpoint-interval", "off",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    alerts = out.read_text().splitlines()
    timeouts = timed_out.read_text().splitlines()
    assert sorted(shown) == sorted(alerts + timeouts)
    assert [line for line in shown if line in alerts] == alerts


def test_the_committed_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLE / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in (*STREAMS, "incidents"):
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (EXAMPLE / f"{name}.jsonl").read_bytes()


@pytest.mark.parametrize("name", STREAMS)
def test_the_committed_files_stay_small(name: str) -> None:
    assert (EXAMPLE / f"{name}.jsonl").stat().st_size < 1_000_000
