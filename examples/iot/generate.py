"""Sensor data of a small building, with planted incidents, for the IoT example.

Six rooms, each with a temperature sensor (`t-ROOM`) and a humidity sensor (`h-ROOM`), twelve
hours (2025-03-03 06:00 to 18:00 UTC):

- every minute each temperature sensor sends a reading (`celsius`), each humidity sensor one
  20 s later (`rh`, relative humidity in %), and every device a heartbeat 40 s after the minute
  with its `battery` level (%) and a `status`: `ok`, `rebooting` (it is about to restart),
  `maintenance` (it goes quiet on purpose) — at 18:00 every device signs off with
  `maintenance` (the nightly maintenance window);
- times jitter by up to 3 s, and each file is in *arrival* order: a record arrives up to 8 s
  after its time, so the files are out of order by up to 8 s (the streams' `lateness` is 10 s);
- `devices.jsonl` is the device configuration as a changelog: one row per device at 05:00 (the
  thresholds: `max_celsius` for temperature sensors, `min_battery` for all), then the changes the
  facility manager made during the day.

Planted incidents, each with the alerts it must cause (`incidents.jsonl`): an air-conditioning
failure and a stuck radiator (the temperature rises fast: `heating_up`, then above the
configured maximum: `too_hot`), a threshold lowered under a warm server room (`too_hot`, only
because of the new version of the configuration), damp in the cellar and an open window in the
rain (`damp`: cold and humid together), a draining battery and a raised battery threshold
(`battery_low`), devices that go silent without warning (`silent`), reboots that come back and
one that does not (`reboot`, and its timeout). And decoys that a careless rule would flag: hot
showers (humid but warm), cooking under a raised threshold, a battery swapped just in time,
announced maintenance, a Wi-Fi blip of three minutes.

Deterministic for a seed.

    python examples/iot/generate.py --seed 7 --out examples/iot
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

START_MS = 1_740_981_600_000  # 2025-03-03T06:00:00Z
MINUTE_MS = 60_000
MINUTES = 12 * 60  # 06:00 to 18:00
CONFIG_MS = START_MS - 60 * MINUTE_MS  # the configuration valid from 05:00

ROOMS = {  # room: (base celsius, base rh, max_celsius of its temperature sensor)
    "kitchen": (22.0, 50.0, 26.0),
    "bathroom": (22.5, 60.0, 28.0),
    "office": (21.5, 45.0, 26.0),
    "bedroom": (20.0, 55.0, 25.0),
    "server_room": (23.5, 35.0, 27.0),
    "cellar": (15.5, 68.0, 22.0),
}
MIN_BATTERY = 20.0


def at(hour: int, minute: float = 0) -> float:
    """Minutes since 06:00 of a time of day."""
    return (hour - 6) * 60 + minute


def ms(minute: float) -> int:
    return START_MS + round(minute * MINUTE_MS)


@dataclass
class Device:
    name: str
    room: str
    battery: float  # at 06:00, %
    drain: float  # % per minute
    swaps: list[int] = field(default_factory=list)  # minutes at which the battery is replaced
    offline: list[tuple[int, int]] = field(default_factory=list)  # [from, to): nothing sent
    status: dict[int, str] = field(default_factory=dict)  # minute -> heartbeat status

    def battery_at(self, minute: int) -> float:
        level, since = self.battery, 0
        for swap in self.swaps:
            if swap <= minute:
                level, since = 100.0, swap
        return round(max(level - self.drain * (minute - since), 0.0), 1)

    def sends(self, minute: int) -> bool:
        return not any(a <= minute < b for a, b in self.offline)


@dataclass
class Dataset:
    temperature: list[dict[str, Any]] = field(default_factory=list)
    humidity: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)


def ramp(knots: list[tuple[float, float]]) -> Any:
    """A piecewise-linear offset through the knots (minute, offset); 0 outside them."""

    def offset(minute: float) -> float:
        if minute < knots[0][0] or minute > knots[-1][0]:
            return 0.0
        for (m0, v0), (m1, v1) in pairwise(knots):
            if m0 <= minute <= m1:
                return v0 + (v1 - v0) * (minute - m0) / (m1 - m0)
        return 0.0

    return offset


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.data = Dataset()
        self.celsius: dict[str, list[Any]] = {room: [] for room in ROOMS}  # offsets per room
        self.rh: dict[str, list[Any]] = {room: [] for room in ROOMS}
        self.devices: dict[str, Device] = {}
        self.config: dict[str, dict[str, Any]] = {}  # device -> its configuration row
        for room in ROOMS:
            for kind in ("t", "h"):
                name = f"{kind}-{room}"
                self.devices[name] = Device(
                    name, room, self.rng.uniform(45, 95), self.rng.uniform(0.005, 0.02)
                )

    def incident(
        self, what: str, minute: int, until: int, alerts: dict[str, int], **where: str
    ) -> None:
        """Record an incident (or a decoy: no alerts): what happened, when, and which rules
        must fire how often for it."""
        self.data.incidents.append(
            {"incident": what, **where, "from": ms(minute), "to": ms(until), "alerts": alerts}
        )

    def configure(self, minute: float, device: str, **change: float) -> None:
        """A new version of a device's configuration row (the whole row, as a changelog)."""
        row = dict(self.config[device])
        row.update(change)
        row["ts"] = ms(minute)
        self.config[device] = row
        self.data.devices.append(row)

    # ---------------------------------------------------------------- the story of the day
    def plant(self) -> None:
        # the configuration as it stands at 05:00
        for name, device in self.devices.items():
            max_celsius = ROOMS[device.room][2] if name.startswith("t-") else None
            row = {"device": name, "ts": CONFIG_MS, "max_celsius": max_celsius}
            row["min_battery"] = MIN_BATTERY
            self.config[name] = row
            self.data.devices.append(dict(row))

        # air conditioning fails in the server room: +5.5 °C in 15 minutes, for an hour
        self.celsius["server_room"].append(ramp([(150, 0), (165, 5.5), (210, 5.5), (220, 0)]))
        self.incident(
            "air conditioning fails", 150, 220, {"heating_up": 1, "too_hot": 1},
            room="server_room", device="t-server_room",
        )  # fmt: skip
        # a new rack warms the server room by 2.3 °C, slowly; at 11:59:30 its maximum is lowered
        # from 27 to 25 °C: above the new limit, below the old one
        self.celsius["server_room"].append(ramp([(330, 0), (345, 2.3), (420, 2.3), (435, 0)]))
        self.configure(at(11, 59.5), "t-server_room", max_celsius=25.0)
        self.incident(
            "max_celsius lowered to 25 under a warm server room", at(11, 59.5), 435,
            {"too_hot": 1}, room="server_room", device="t-server_room",
        )  # fmt: skip
        # decoy: the kitchen's maximum is raised to 30 before lunch is cooked (27 °C)
        self.configure(at(10, 59.5), "t-kitchen", max_celsius=30.0)
        self.celsius["kitchen"].append(ramp([(330, 0), (360, 5), (390, 5), (420, 0)]))
        self.incident(
            "cooking, under a raised max_celsius (decoy)", 330, 420, {},
            room="kitchen", device="t-kitchen",
        )  # fmt: skip
        # a radiator valve sticks open in the office
        self.celsius["office"].append(ramp([(480, 0), (495, 5), (540, 5), (550, 0)]))
        self.incident(
            "radiator valve stuck open", 480, 550, {"heating_up": 1, "too_hot": 1},
            room="office", device="t-office",
        )  # fmt: skip

        # damp in the cellar, twice: humidity up to 86 % at 15.5 °C
        for a, b, rise in ((70, 110, 18.0), (540, 570, 17.0)):
            self.rh["cellar"].append(ramp([(a, 0), (a + 3, rise), (b, rise), (b + 5, 0)]))
            self.incident("damp cellar", a, b + 5, {"damp": 1}, room="cellar")
        # an open window in the rain: the bedroom gets cold and humid
        self.celsius["bedroom"].append(ramp([(600, 0), (610, -5.5), (640, -5.5), (680, 0)]))
        self.rh["bedroom"].append(ramp([(600, 0), (605, 30), (640, 30), (650, 0)]))
        self.incident("window open in the rain", 600, 680, {"damp": 1}, room="bedroom")
        # decoys: hot showers, humid but warm
        for a in (at(7), at(15, 30)):
            self.rh["bathroom"].append(ramp([(a, 0), (a + 3, 30), (a + 15, 30), (a + 25, 0)]))
            self.celsius["bathroom"].append(
                ramp([(a, 0), (a + 5, 1.0), (a + 15, 1.0), (a + 30, 0)])
            )
            self.incident("hot shower (decoy)", a, a + 30, {}, room="bathroom")

        # batteries: one drains below 20 % and is swapped later
        hb = self.devices["h-bathroom"]
        hb.battery, hb.drain, hb.swaps = 24.0, 0.02, [at(11)]
        self.incident(
            "battery drains below min_battery", at(9, 20), at(11), {"battery_low": 1},
            device="h-bathroom",
        )  # fmt: skip
        # a battery at 25-27 % is fine until min_battery is raised to 30 at 13:00
        tb = self.devices["t-bedroom"]
        tb.battery, tb.drain = 27.0, 0.003
        self.configure(at(12, 59.5), "t-bedroom", min_battery=30.0)
        self.incident(
            "min_battery raised to 30 over a battery at 26 %", at(12, 59.5), MINUTES,
            {"battery_low": 1}, device="t-bedroom",
        )  # fmt: skip
        # decoy: a battery swapped at 20.6 %, just before it crossed 20 %
        hc = self.devices["h-cellar"]
        hc.battery, hc.drain, hc.swaps = 23.0, 0.01, [at(10)]
        self.incident("battery swapped in time (decoy)", 0, at(10), {}, device="h-cellar")

        # devices that go silent without warning
        for name, a, b in (("t-office", at(9), at(9, 25)), ("h-kitchen", at(16), at(16, 12))):
            self.devices[name].offline.append((a, b))
            self.incident("device silent", a - 1, b, {"silent": 1}, device=name)
        # decoys: a Wi-Fi blip of three minutes, and announced maintenance (a firmware update)
        self.devices["t-kitchen"].offline.append((at(10), at(10, 3)))
        self.incident("Wi-Fi blip of 3 minutes (decoy)", at(10), at(10, 3), {}, device="t-kitchen")
        self.devices["h-cellar"].status[at(11)] = "maintenance"
        self.devices["h-cellar"].offline.append((at(11) + 1, at(11, 40)))
        self.incident(
            "announced maintenance (decoy)", at(11), at(11, 40), {}, device="h-cellar"
        )  # fmt: skip

        # reboots: three come back within a minute or three, one does not for 20 minutes
        for name, a, back in (
            ("t-kitchen", at(8), 2),
            ("h-office", at(12, 30), 1),
            ("t-bedroom", at(15, 30), 3),
            ("h-bedroom", at(10, 30), 20),
        ):
            self.devices[name].status[a] = "rebooting"
            self.devices[name].offline.append((a + 1, a + back))
            ok = back < 5
            self.incident(
                "reboot" if ok else "reboot that does not come back within 5 minutes",
                a, a + back + 1, {"reboot": 1} if ok else {"reboot_timeout": 1}, device=name,
            )  # fmt: skip

    # ---------------------------------------------------------------- the readings
    def jitter(self) -> int:
        return self.rng.randrange(0, 3_000)

    def record(self) -> None:
        for minute in range(MINUTES + 1):
            for room, (celsius, rh, _) in ROOMS.items():
                t, h = self.devices[f"t-{room}"], self.devices[f"h-{room}"]
                if t.sends(minute) and minute < MINUTES:
                    value = celsius + sum(f(minute) for f in self.celsius[room])
                    value += self.rng.gauss(0, 0.12)
                    self.data.temperature.append(
                        {"device": t.name, "room": room, "ts": ms(minute) + self.jitter(),
                         "celsius": round(value, 2)}
                    )  # fmt: skip
                if h.sends(minute) and minute < MINUTES:
                    value = rh + sum(f(minute) for f in self.rh[room]) + self.rng.gauss(0, 0.8)
                    self.data.humidity.append(
                        {"device": h.name, "room": room, "ts": ms(minute) + 20_000 + self.jitter(),
                         "rh": round(min(max(value, 0.0), 100.0), 1)}
                    )  # fmt: skip
            for device in self.devices.values():
                if not device.sends(minute):
                    continue
                status = "maintenance" if minute == MINUTES else device.status.get(minute, "ok")
                self.data.heartbeats.append(
                    {"device": device.name, "room": device.room,
                     "ts": ms(minute) + 40_000 + self.jitter(),
                     "battery": device.battery_at(minute), "status": status}
                )  # fmt: skip

    def arrival_order(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records in the order they arrive: each up to 8 s after its time."""
        arrival = [(r["ts"] + self.rng.randrange(0, 8_000), i) for i, r in enumerate(records)]
        return [records[i] for _, i in sorted(arrival)]


def generate(seed: int = 7) -> Dataset:
    g = Generator(seed)
    g.plant()
    g.record()
    data = g.data
    data.temperature = g.arrival_order(data.temperature)
    data.humidity = g.arrival_order(data.humidity)
    data.heartbeats = g.arrival_order(data.heartbeats)
    data.devices.sort(key=lambda r: (r["ts"], r["device"]))
    data.incidents.sort(key=lambda r: (r["from"], r["incident"]))
    return data


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


FILES = ("temperature", "humidity", "heartbeats", "devices", "incidents")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="output folder")
    args = parser.parse_args()
    data = generate(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        write_jsonl(args.out / f"{name}.jsonl", getattr(data, name))
    print(", ".join(f"{len(getattr(data, name)):,} {name}" for name in FILES) + f" -> {args.out}")


if __name__ == "__main__":
    main()
