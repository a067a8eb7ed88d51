"""Cases as data: a pattern, a compact stream of events, and the matches it must produce.

The suite is written against the language, not against the engine: a case only states input
and output, and `check` runs it through the public API (`gress_cep.compile(...).run(...)`).

Event notation (one token per event, separated by spaces):

    a1                 id "a1", kind "a" (the leading letters), ts = position * 1000
    b2@5000            explicit event time in epoch ms (also `5s`, `250ms`)
    b3{amount:3}       extra fields: numbers, "strings", true/false/null, bare words as strings
    x@7s{kind:c,card:"k1"}   fields override the defaults (here the kind)

Expected matches, one string (or dict) per match:

    "a1 b1 b2 c1"            the ids of the match's events (compared in event-time order)
    "a:a1 b:[b1,b2] c:c1"    per variable: one event, or a [list] (quantified variables);
                             variables not written must not appear in the match
    "key=k1 a1 b1"           either form may start with the expected partition key
    {"pattern": "p", ...}    the whole output record, compared exactly (for `emit`)

Every match in the compact forms must also carry `pattern` == "p", the right `key` (None for
`partition by none`) and `start`/`end` equal to the event times of its first/last event.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

PATTERN_NAME = "p"
STREAM_NAME = "s"
METADATA = ("pattern", "key", "start", "end")

Expected = str | Mapping[str, Any]
Order = Literal["auto", "exact", "any"]
Runner = Callable[["Case"], "Outcome"]

_TOKEN = re.compile(
    r"(?P<id>[A-Za-z_]+[0-9]*)"
    r"(?:@(?P<ts>-?[0-9]+(?:\.[0-9]+)?)(?P<unit>ms|s|m)?)?"
    r"(?:\{(?P<fields>[^{}]*)\})?"
)
_FIELD = re.compile(
    r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?P<value>\"[^\"]*\"|[^,]*?)\s*(?:,|$)"
)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_UNIT_MS = {None: 1, "ms": 1, "s": 1000, "m": 60_000}
_SKIP = re.compile(r"^\s*skip\s+(?P<strategy>.+?)\s*$", re.MULTILINE)


# ------------------------------------------------------------------ events
def parse_events(notation: str) -> list[dict[str, Any]]:
    """Turn the compact event notation into the event dicts a stream delivers."""
    events: list[dict[str, Any]] = []
    for position, token in enumerate(_tokens(notation)):
        found = _TOKEN.fullmatch(token)
        if found is None:
            raise ValueError(f"bad event token {token!r} in {notation!r}")
        event_id = found["id"]
        event: dict[str, Any] = {
            "id": event_id,
            "kind": event_id.rstrip("0123456789"),
            "ts": position * 1000,
        }
        if found["ts"] is not None:
            event["ts"] = round(float(found["ts"]) * _UNIT_MS[found["unit"]])
        if found["fields"]:
            event.update(_parse_fields(found["fields"], token))
        events.append(event)
    ids = [e["id"] for e in events]
    if len(set(ids)) != len(ids):
        raise ValueError(f"event ids must be unique within a case: {notation!r}")
    return events


def _tokens(notation: str) -> list[str]:
    """Split on whitespace outside `{...}`."""
    tokens, current, depth = [], "", 0
    for char in notation:
        depth += char == "{"
        depth -= char == "}"
        if char.isspace() and depth == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def _parse_fields(text: str, token: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    rest = text.strip()
    while rest:
        found = _FIELD.match(rest)
        if found is None or found.end() == 0:
            raise ValueError(f"bad fields in event token {token!r}")
        fields[found["name"]] = _parse_value(found["value"])
        rest = rest[found.end() :].strip()
    return fields


def _parse_value(text: str) -> Any:
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false", "null"):
        return json.loads(text)
    if _NUMBER.fullmatch(text):
        return json.loads(text)
    return text


# ------------------------------------------------------------------ cases
@dataclass(slots=True, frozen=True)
class Case:
    """One behaviour: a pattern body, the input, and what must come out.

    `pattern` holds the clauses of `pattern p` after `from`/`partition` (match, where, within,
    skip, emit, on timeout emit). `order` "auto" compares in order unless the pattern says
    `skip no` (then as a multiset); "exact"/"any" force one or the other.
    """

    id: str
    pattern: str
    events: str
    expected: tuple[Expected, ...]
    stream: str = "time ts"
    partition: str | None = "none"
    order: Order = "auto"
    timeouts: tuple[Mapping[str, Any], ...] | None = None
    late: tuple[str, ...] | None = None

    def source(self) -> str:
        """The whole .gress file of this case."""
        partition = [] if self.partition is None else [f"partition by {self.partition}"]
        pattern_lines = [f"from {STREAM_NAME}", *partition, *_lines(self.pattern)]
        return "\n".join(
            [
                f"stream {STREAM_NAME}",
                *(f"    {line}" for line in _lines(self.stream)),
                f"pattern {PATTERN_NAME}",
                *(f"    {line}" for line in pattern_lines),
                "",
            ]
        )

    def event_dicts(self) -> list[dict[str, Any]]:
        return parse_events(self.events)

    def skip_strategy(self) -> str:
        found = _SKIP.search(self.pattern)
        return found["strategy"] if found else "past last"

    def ordered(self) -> bool:
        if self.order == "auto":
            return self.skip_strategy() != "no"
        return self.order == "exact"


def case(
    id: str,
    pattern: str,
    events: str,
    expected: Iterable[Expected],
    **options: Any,
) -> Case:
    """Build a Case from an indented triple-quoted pattern body."""
    timeouts = options.pop("timeouts", None)
    late = options.pop("late", None)
    return Case(
        id=id,
        pattern=textwrap.dedent(pattern).strip("\n"),
        events=events,
        expected=tuple(expected),
        timeouts=None if timeouts is None else tuple(timeouts),
        late=None if late is None else tuple(late),
        **options,
    )


def _lines(text: str) -> list[str]:
    return [line for line in textwrap.dedent(text).splitlines() if line.strip()]


# ------------------------------------------------------------------ running
@dataclass(slots=True)
class Outcome:
    """What a run produced on its three outputs."""

    matches: list[dict[str, Any]]
    timeouts: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)


def run_engine(c: Case) -> Outcome:
    """Run a case through the public API, exactly as a user would."""
    import gress_cep

    program = gress_cep.compile(c.source())
    timeouts: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    matches = list(
        program.run({STREAM_NAME: c.event_dicts()}, on_timeout=timeouts.append, on_late=late.append)
    )
    return Outcome(matches, timeouts, late)


def check(c: Case, runner: Runner = run_engine) -> None:
    """Run `c` and assert that every output is what the case says."""
    outcome = runner(c)
    events = c.event_dicts()
    form = expected_form(c.expected)
    problems = [
        problem
        for match in outcome.matches
        for problem in metadata_problems(match, events, form, c.partition)
    ]
    assert not problems, "\n".join(problems)
    actual = [canonical_match(m, events, form, c.partition) for m in outcome.matches]
    wanted = [canonical_expected(e, events, form) for e in c.expected]
    _assert_same(actual, wanted, ordered=c.ordered(), what="matches", source=c.source())
    if c.timeouts is not None:
        actual_timeouts = [_json(t) for t in outcome.timeouts]
        wanted_timeouts = [_json(t) for t in c.timeouts]
        _assert_same(actual_timeouts, wanted_timeouts, ordered=False, what="timeouts", source="")
    if c.late is not None:
        actual_late = [str(r["record"].get("id")) for r in outcome.late]
        _assert_same(actual_late, list(c.late), ordered=True, what="late events", source="")


def _assert_same(
    actual: list[str], wanted: list[str], *, ordered: bool, what: str, source: str
) -> None:
    if not ordered:
        actual, wanted = sorted(actual), sorted(wanted)
    if actual != wanted:
        how = "in this order" if ordered else "as a multiset"
        raise AssertionError(
            f"{what} differ ({how})\n"
            f"  expected: {_listing(wanted)}\n"
            f"  actual:   {_listing(actual)}\n" + (f"pattern file:\n{source}" if source else "")
        )


def _listing(items: Sequence[str]) -> str:
    return "[]" if not items else "\n            ".join(items)


def _json(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


# ------------------------------------------------------------------ comparing matches
Form = Literal["ids", "vars", "record"]


def expected_form(expected: Sequence[Expected]) -> Form:
    """All expected matches of a case use one form; an empty list compares ids."""
    forms = {_form_of(e) for e in expected}
    if len(forms) > 1:
        raise ValueError(f"expected matches mix forms: {sorted(forms)}")
    return forms.pop() if forms else "ids"


def _form_of(expected: Expected) -> Form:
    if not isinstance(expected, str):
        return "record"
    return "vars" if ":" in _strip_key(expected)[1] else "ids"


def _strip_key(text: str) -> tuple[str | None, str]:
    head, _, rest = text.strip().partition(" ")
    if head.startswith("key="):
        return head[len("key=") :], rest.strip()
    return None, text.strip()


def variables_of(match: Mapping[str, Any]) -> dict[str, Any]:
    """The variable entries of a default-form match (everything but the metadata)."""
    return {k: v for k, v in match.items() if k not in METADATA}


def events_of(match: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for value in variables_of(match).values():
        found.extend(value if isinstance(value, list) else [value])
    return found


def metadata_problems(
    match: Mapping[str, Any], events: Sequence[Mapping[str, Any]], form: Form, partition: str | None
) -> list[str]:
    """Metadata every default-form match must carry; records are compared whole instead."""
    if form == "record":
        return []
    problems = []
    missing = [k for k in METADATA if k not in match]
    if missing:
        return [f"match {match!r} lacks {missing}"]
    if match["pattern"] != PATTERN_NAME:
        problems.append(f"match {match!r}: pattern should be {PATTERN_NAME!r}")
    if partition == "none" and match["key"] is not None:
        problems.append(f"match {match!r}: key should be None with `partition by none`")
    try:
        matched = sorted(events_of(match), key=lambda e: _event_time_order(e, events))
    except (KeyError, TypeError, ValueError) as exc:
        return [f"match {match!r} is not in the default form ({exc})"]
    if matched:
        if match["start"] != matched[0]["ts"]:
            problems.append(f"match {match!r}: start should be {matched[0]['ts']}")
        if match["end"] != matched[-1]["ts"]:
            problems.append(f"match {match!r}: end should be {matched[-1]['ts']}")
    return problems


def _event_time_order(
    event: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> tuple[Any, int]:
    """Where an event stands in event time: by timestamp, then by arrival (the sort is stable)."""
    for index, candidate in enumerate(events):
        if candidate["id"] == event["id"]:
            if dict(candidate) != dict(event):
                raise ValueError(f"event {event['id']} was changed: {event!r}")
            return (candidate["ts"], index)
    raise ValueError(f"event {event!r} is not in the input")


def canonical_match(
    match: Mapping[str, Any], events: Sequence[Mapping[str, Any]], form: Form, partition: str | None
) -> str:
    """Render an actual match in the form the case's expectations are written in."""
    if form == "record":
        return _json(match)
    key = "" if partition == "none" else f"key={match.get('key')} "
    if form == "ids":
        ordered = sorted(events_of(match), key=lambda e: _event_time_order(e, events))
        ids = [e["id"] for e in ordered]
        return key + " ".join(ids)
    shaped = {
        var: [e["id"] for e in value] if isinstance(value, list) else value["id"]
        for var, value in variables_of(match).items()
    }
    return key + _render_vars(shaped, events)


def canonical_expected(expected: Expected, events: Sequence[Mapping[str, Any]], form: Form) -> str:
    if form == "record":
        assert not isinstance(expected, str)
        return _json(expected)
    assert isinstance(expected, str)
    key, body = _strip_key(expected)
    prefix = "" if key is None else f"key={key} "
    if form == "ids":
        ids = body.split()
        order = {e["id"]: (e["ts"], i) for i, e in enumerate(events)}
        unknown = [i for i in ids if i not in order]
        if unknown:
            raise ValueError(f"expected match {expected!r} names unknown events {unknown}")
        return prefix + " ".join(sorted(ids, key=order.__getitem__))
    return prefix + _render_vars(parse_vars(body), events)


def parse_vars(body: str) -> dict[str, str | list[str]]:
    """`a:a1 b:[b1,b2]` -> {"a": "a1", "b": ["b1", "b2"]}."""
    shaped: dict[str, str | list[str]] = {}
    for item in body.split():
        var, _, value = item.partition(":")
        if value.startswith("["):
            shaped[var] = [v for v in value.strip("[]").split(",") if v]
        else:
            shaped[var] = value
    return shaped


def _render_vars(shaped: Mapping[str, str | list[str]], events: Sequence[Mapping[str, Any]]) -> str:
    order = {e["id"]: (e["ts"], i) for i, e in enumerate(events)}

    def first_position(item: tuple[str, str | list[str]]) -> tuple[tuple[Any, int], str]:
        var, value = item
        ids = value if isinstance(value, list) else [value]
        return (min((order.get(i, (0, -1)) for i in ids), default=(0, -1)), var)

    parts = []
    for var, value in sorted(shaped.items(), key=first_position):
        rendered = f"[{','.join(value)}]" if isinstance(value, list) else value
        parts.append(f"{var}:{rendered}")
    return " ".join(parts)
