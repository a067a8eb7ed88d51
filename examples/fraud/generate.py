"""Card payments and logins with injected attacks, for the fraud example.

Realistic enough to make the patterns and the model earn their keep:
- everyday payments: lognormal amounts, mostly at low-risk merchants, mostly in daytime, some
  card-present ("pos") and some online; a few tiny ones (parking, vending) and a few large ones
  (a laptop, a flight) now and then;
- **card testing**: a stolen card is tried with several tiny online payments (< 2.00) at
  different merchants, then spent on one large payment at a risky merchant, within minutes;
- decoys that a naive rule would flag: cards with tiny payments followed by a legitimate large
  payment (low merchant risk), and probes abandoned without a large payment;
- **login takeover**: a burst of failed logins from abroad, then one that succeeds.

Deterministic for a seed. Writes payments and logins as JSON Lines in event-time order, and the
injected attacks (the expected findings) to a third file.

    python examples/fraud/generate.py --seed 7 --out examples/fraud
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# (merchant, risk): the risk a merchant carries from its chargeback history
SAFE_MERCHANTS = [
    ("grocer", 0.02),
    ("bakery", 0.01),
    ("pharmacy", 0.03),
    ("fuel", 0.04),
    ("cafe", 0.02),
    ("bookshop", 0.05),
    ("transit", 0.01),
    ("cinema", 0.06),
    ("airline", 0.08),
    ("electronics", 0.12),
    ("furniture", 0.07),
    ("streaming", 0.09),
]
TINY_MERCHANTS = [("parking", 0.03), ("vending", 0.05), ("charity", 0.15), ("app_store", 0.10)]
PROBE_MERCHANTS = [("donate_now", 0.62), ("ebook_cheap", 0.55), ("game_tokens", 0.68)]
CASHOUT_MERCHANTS = [("giftcards4u", 0.93), ("phone_outlet", 0.86), ("crypto_swap", 0.97)]
COUNTRIES = ["DE", "FR", "NL", "ES", "IT"]
ATTACK_COUNTRIES = ["RU", "NG", "BR", "VN"]


@dataclass
class Dataset:
    payments: list[dict[str, Any]] = field(default_factory=list)
    logins: list[dict[str, Any]] = field(default_factory=list)
    attacks: list[dict[str, Any]] = field(default_factory=list)  # the expected findings
    fraud_ids: set[str] = field(default_factory=set)  # payment ids made by fraudsters


class Generator:
    def __init__(self, seed: int, cards: int, days: int) -> None:
        self.rng = random.Random(seed)
        self.cards = [f"c{i:04d}" for i in range(cards)]
        self.home = {card: self.rng.choice(COUNTRIES) for card in self.cards}
        self.days = days
        self.data = Dataset()
        self._next_id = 0

    # ---------------------------------------------------------------- building blocks
    def pay(
        self,
        card: str,
        ts: int,
        amount: float,
        merchant: tuple[str, float],
        channel: str,
        country: str | None = None,
        fraud: bool = False,
    ) -> dict[str, Any]:
        self._next_id += 1
        record = {
            "id": f"p{self._next_id:06d}",
            "card_id": card,
            "ts": ts,
            "amount": round(max(amount, 0.1), 2),
            "merchant": merchant[0],
            "merchant_risk": round(min(max(merchant[1] + self.rng.gauss(0, 0.04), 0.0), 1.0), 3),
            "country": country or self.home[card],
            "channel": channel,
        }
        self.data.payments.append(record)
        if fraud:
            self.data.fraud_ids.add(record["id"])
        return record

    def login(self, card: str, ts: int, success: bool, country: str, ip: str) -> None:
        self.data.logins.append(
            {
                "card_id": card,
                "ts": ts,
                "ip": ip,
                "country": country,
                "home_country": self.home[card],
                "success": success,
            }
        )

    def daytime(self, day: int) -> int:
        """A moment of a day, weighted to waking hours."""
        hour = self.rng.choices(range(24), weights=[1] * 6 + [4] * 4 + [6] * 10 + [3] * 4)[0]
        return START_MS + day * DAY_MS + hour * HOUR_MS + self.rng.randrange(HOUR_MS)

    def ip(self) -> str:
        r = self.rng.randrange
        return f"{r(11, 223)}.{r(256)}.{r(256)}.{r(1, 255)}"

    # ---------------------------------------------------------------- behaviour
    def everyday(self) -> None:
        """Zero to three payments a day per card, and a login every other day."""
        for card in self.cards:
            for day in range(self.days):
                for _ in range(self.rng.choices([0, 1, 2, 3], [1, 2, 2, 1])[0]):
                    self.everyday_payment(card, self.daytime(day))
                if self.rng.random() < 0.5:
                    self.login(card, self.daytime(day), True, self.home[card], self.ip())

    def everyday_payment(self, card: str, ts: int) -> None:
        u = self.rng.random()
        if u < 0.04:  # parking meters, vending machines, small donations
            self.pay(card, ts, self.rng.uniform(0.5, 1.99), self.rng.choice(TINY_MERCHANTS), "pos")
        elif u < 0.06:  # a laptop, a flight, a sofa
            merchant = self.rng.choice(SAFE_MERCHANTS[8:11])
            self.pay(card, ts, self.rng.uniform(300, 1800), merchant, "online")
        elif u < 0.09:  # honest customers of the merchants fraudsters like: a gift card, a phone
            merchant = self.rng.choice(CASHOUT_MERCHANTS + PROBE_MERCHANTS)
            amount = self.rng.uniform(300, 700) if u < 0.062 else self.rng.lognormvariate(3.5, 0.6)
            self.pay(card, ts, amount, merchant, "online")
        else:
            merchant = self.rng.choice(SAFE_MERCHANTS)
            channel = "online" if self.rng.random() < 0.35 else "pos"
            self.pay(card, ts, self.rng.lognormvariate(3.2, 0.8), merchant, channel)

    def card_testing(self, card: str, day: int) -> None:
        """Tiny probes at several merchants, then a large cash-out at a risky merchant."""
        # mostly at night in the cardholder's time zone, when nobody watches the phone
        night = self.rng.random() < 0.75
        hour = self.rng.randrange(0, 5) if night else self.rng.randrange(5, 24)
        ts = START_MS + day * DAY_MS + hour * HOUR_MS + self.rng.randrange(HOUR_MS)
        country = self.rng.choice(ATTACK_COUNTRIES)
        probes = self.rng.randint(3, 6)
        for _ in range(probes):
            ts += self.rng.randrange(10_000, 60_000)
            merchant = self.rng.choice(PROBE_MERCHANTS)
            self.pay(card, ts, self.rng.uniform(0.5, 1.99), merchant, "online", country, True)
        ts += self.rng.randrange(60_000, 240_000)
        merchant = self.rng.choice(CASHOUT_MERCHANTS)
        big = self.pay(card, ts, self.rng.uniform(700, 1500), merchant, "online", country, True)
        self.data.attacks.append(
            {
                "kind": "card_testing",
                "card_id": card,
                "probes": probes,
                "ts": big["ts"],
                "amount": big["amount"],
                "merchant": big["merchant"],
            }
        )

    def abandoned_probes(self, card: str, day: int) -> None:
        """Probes that never led to a cash-out: suspicious, but no match."""
        ts = self.daytime(day)
        for _ in range(self.rng.randint(2, 4)):
            ts += self.rng.randrange(10_000, 60_000)
            merchant = self.rng.choice(PROBE_MERCHANTS)
            self.pay(card, ts, self.rng.uniform(0.5, 1.99), merchant, "online", fraud=True)

    def small_then_big_legit(self, card: str, day: int) -> None:
        """A decoy: app-store tips and a donation, then a new laptop. Tiny, then large, online:
        the shape of card testing, but the merchants say otherwise."""
        ts = self.daytime(day)
        for _ in range(3):
            ts += self.rng.randrange(30_000, 120_000)
            merchant = self.rng.choice(TINY_MERCHANTS[2:])
            self.pay(card, ts, self.rng.uniform(0.5, 1.99), merchant, "online")
        ts += self.rng.randrange(60_000, 300_000)
        self.pay(card, ts, self.rng.uniform(500, 1500), SAFE_MERCHANTS[9], "online")

    def takeover(self, card: str, day: int) -> None:
        """Password guessing from abroad until one login gets through."""
        ts = self.daytime(day)
        country, ip = self.rng.choice(ATTACK_COUNTRIES), self.ip()
        failures = self.rng.randint(3, 8)
        for _ in range(failures):
            ts += self.rng.randrange(2_000, 20_000)
            self.login(card, ts, False, country, ip)
        ts += self.rng.randrange(2_000, 20_000)
        self.login(card, ts, True, country, ip)
        self.data.attacks.append(
            {"kind": "login_takeover", "card_id": card, "failures": failures, "ts": ts, "ip": ip}
        )

    def forgetful_traveller(self, card: str, day: int) -> None:
        """A decoy: a cardholder abroad mistypes the password twice, then gets in."""
        ts = self.daytime(day)
        country, ip = self.rng.choice([c for c in COUNTRIES if c != self.home[card]]), self.ip()
        for _ in range(2):
            ts += self.rng.randrange(5_000, 30_000)
            self.login(card, ts, False, country, ip)
        self.login(card, ts + self.rng.randrange(5_000, 30_000), True, country, ip)


def generate(
    seed: int = 7,
    cards: int = 150,
    days: int = 14,
    attacks: int = 8,
    takeovers: int = 5,
) -> Dataset:
    g = Generator(seed, cards, days)
    g.everyday()
    victims = g.rng.sample(g.cards, attacks + takeovers + 12)
    for card in victims[:attacks]:
        g.card_testing(card, g.rng.randrange(days))
    for card in victims[attacks : attacks + takeovers]:
        g.takeover(card, g.rng.randrange(days))
    decoys = victims[attacks + takeovers :]
    for card in decoys[:4]:
        g.abandoned_probes(card, g.rng.randrange(days))
    for card in decoys[4:8]:
        g.small_then_big_legit(card, g.rng.randrange(days))
    for card in decoys[8:]:
        g.forgetful_traveller(card, g.rng.randrange(days))
    data = g.data
    data.payments.sort(key=lambda r: r["ts"])
    data.logins.sort(key=lambda r: r["ts"])
    data.attacks.sort(key=lambda r: (r["kind"], r["ts"]))
    return data


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cards", type=int, default=150)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--attacks", type=int, default=8, help="card-testing attacks to inject")
    parser.add_argument("--takeovers", type=int, default=5, help="login takeovers to inject")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="output folder")
    args = parser.parse_args()
    data = generate(args.seed, args.cards, args.days, args.attacks, args.takeovers)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "payments.jsonl", data.payments)
    write_jsonl(args.out / "logins.jsonl", data.logins)
    write_jsonl(args.out / "attacks.jsonl", data.attacks)
    print(
        f"{len(data.payments)} payments, {len(data.logins)} logins, "
        f"{len(data.attacks)} injected attacks -> {args.out}"
    )


if __name__ == "__main__":
    main()
