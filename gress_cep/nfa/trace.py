"""`gress detect --trace VALUE`: what a pattern's automaton did with each event of one key.

Zero cost when off. The generated kernel (gress_cep.nfa.kernel) has no tracing code at all.
A traced pattern operator hands its events to `PatternTracer.feed` instead of the matcher's:
it finds each event's key, passes runs of untraced events to the generated kernel unchanged
(in slices, in order, with the same arrival numbers), and steps the events of traced keys
through `PatternTracer._process`, a plain-Python copy of the kernel's `process` whose step is
`Matcher._step` with a record of every condition tried. `Matcher._step` is the general step
the kernel itself falls back to (the unrolled steps do exactly what it does), so both paths
give the same matches: tests/tracing checks it on many patterns. The rarer paths — windows
closing, the skip strategy's emission, the ttl — are the matcher's own methods, wrapped on
this one matcher object so that they also report what they did to the traced keys.

Every step is a plain dict, ready for JSON Lines (docs/cli.md, "Tracing a key"):
`{"key", "pattern", "event", "time", "step", ...}` with `step` one of event, tried, taken,
ignored, proceeded, started, extended, killed, expired, dropped, held, matched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gress_cep.errors import UserError
from gress_cep.nfa.kernel import start_conditions
from gress_cep.nfa.matcher import Matcher
from gress_cep.nfa.model import Cond, Nfa, State
from gress_cep.nfa.runs import NEVER, Completed, KeyState, Record, Run, StatePlan
from gress_cep.nfa.shared_buffer import Node, path

Step = dict[str, Any]
StepSink = Callable[[Step], None]
ANY_KEY = "*"


# ---------------------------------------------------------------------- which keys
@dataclass(slots=True, frozen=True)
class KeySelector:
    """The keys one `--trace VALUE` names, for a pattern keyed by `fields`.

    A key is compared with the text as the command line gives it: a text key must be equal;
    a number equal as a number (`42` and `42.0` match 42); `true`/`false` a boolean; `null`
    (or an empty text) a missing key. A key of several fields (`partition by a, b`) is named
    `a=1,b=x` (every field, any order) or by its values in order, `1,x`. `*` is every key."""

    text: str
    fields: tuple[str, ...]
    values: tuple[str, ...] | None  # None: every key

    @staticmethod
    def parse(text: str, fields: tuple[str, ...]) -> KeySelector | None:
        """The selector of `text` for this pattern, or None when it cannot name one of its
        keys (it names fields the key does not have, or a different number of them)."""
        if text.strip() == ANY_KEY:
            return KeySelector(text, fields, None)
        if not fields:
            return None
        parts = text.split(",") if len(fields) > 1 else [text]
        named = [p.partition("=") for p in parts]
        if all(sep and name.strip() in fields for name, sep, _ in named):
            by_name = {name.strip(): value for name, _, value in named}
            if set(by_name) != set(fields):
                return None
            return KeySelector(text, fields, tuple(by_name[f] for f in fields))
        if len(fields) == 1:
            return KeySelector(text, fields, (text,))
        if len(parts) != len(fields):
            return None
        return KeySelector(text, fields, tuple(parts))

    def matches(self, key: Any) -> bool:
        if self.values is None:
            return True
        if len(self.values) == 1:
            return value_matches(key, self.values[0])
        if not isinstance(key, tuple) or len(key) != len(self.values):
            return False
        return all(value_matches(k, v) for k, v in zip(key, self.values, strict=True))


def value_matches(actual: Any, text: str) -> bool:
    """A key value against the text naming it (see KeySelector)."""
    if actual is None:
        return text in ("null", "")
    if isinstance(actual, bool):
        return text.strip().lower() == ("true" if actual else "false")
    if isinstance(actual, int):
        try:
            return int(text.strip()) == actual
        except ValueError:
            pass
    if isinstance(actual, int | float):
        try:
            return float(text.strip()) == actual
        except ValueError:
            return False
    if isinstance(actual, str):
        return actual == text
    return str(actual) == text


def key_text(key: Any) -> str:
    """A key as the trace shows it, and as `--trace` would name it."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, tuple):
        return ",".join(key_text(k) for k in key)
    return str(key)


def time_text(ms: int | float | None) -> str:
    """Event time as UTC (the trace's `time` field stays epoch milliseconds)."""
    if ms is None or not math.isfinite(ms):
        return "end of input"
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def duration_text(ms: int) -> str:
    from gress_cep.runtime.durations import format_duration

    return format_duration(ms)


# ---------------------------------------------------------------------- the tracer
@dataclass(slots=True)
class _Edges:
    """A state's edges as the automaton has them (with their conditions' texts and reads),
    index for index beside the StatePlan's tuples."""

    state: State
    takes: list[Cond]
    ignores: list[Cond]
    proceeds: list[Cond]
    kills: list[tuple[str, Cond]]


@dataclass(slots=True)
class KeyReport:
    """What the trace saw of one key in one pattern: for the summary at the end."""

    events: int = 0
    started: int = 0
    matched: int = 0
    expired: int = 0
    killed: int = 0
    dropped: int = 0


@dataclass(slots=True)
class PatternTracer:
    """Traces the keys `selectors` name through one pattern's matcher (see the module doc)."""

    matcher: Matcher
    selectors: list[KeySelector]
    sink: StepSink
    name: str = ""
    reports: dict[Any, KeyReport] = field(default_factory=dict)
    _edges: dict[int, _Edges] = field(default_factory=dict)
    _values: dict[int, Callable[[Record, Any], Any]] = field(default_factory=dict)
    _wanted: dict[Any, bool] = field(default_factory=dict)
    _numbers: dict[int, int] = field(default_factory=dict)  # arrival seq -> key's event number
    _event: int | None = None  # the traced event being processed (its number), or None
    _time: int | float | None = None
    _start_conditions: list[Callable[[Record, Any], bool]] | None = None

    def __post_init__(self) -> None:
        nfa: Nfa = self.matcher.nfa
        self.name = nfa.name
        self._start_conditions = start_conditions(self.matcher)
        for s in nfa.states:
            self._edges[s.id] = _Edges(
                s,
                [c for _, c in s.takes],
                [c for _, c in s.ignores],
                [c for _, c in s.proceeds],
                list(s.kills),
            )
        self._install()

    # ------------------------------------------------------------------ keys
    def wants(self, key: Any) -> bool:
        wanted = self._wanted.get(key)
        if wanted is None:
            wanted = self._wanted[key] = any(s.matches(key) for s in self.selectors)
        return wanted

    # ------------------------------------------------------------------ events
    def feed(
        self,
        ready: list[tuple[int, Record]],
        key_of: Callable[[Record], Any],
        seq: int,
        matches: list[Completed],
        timeouts: list[Completed],
    ) -> int:
        """`Matcher.feed` for a traced pattern: untraced events go to the generated kernel
        in order, a slice at a time; the events of traced keys are stepped here."""
        matcher = self.matcher
        begin = 0
        for i, (ts, e) in enumerate(ready):
            key = key_of(e)
            try:
                wanted = self.wants(key)
            except TypeError:  # an unhashable key value: the kernel uses its text
                key = repr(key)
                wanted = self.wants(key)
            if not wanted:
                continue
            if begin < i:
                seq = matcher.feed(ready[begin:i], key_of, seq, matches, timeouts)
            seq += 1
            self._process(key, e, ts, seq, matches, timeouts)
            begin = i + 1
        if begin < len(ready):
            seq = matcher.feed(ready[begin:] if begin else ready, key_of, seq, matches, timeouts)
        return seq

    def _process(
        self,
        key: Any,
        e: Record,
        ts: int,
        seq: int,
        matches: list[Completed],
        timeouts: list[Completed],
    ) -> None:
        """One event of a traced key: the generated `feed` and `process` (kernel.py), step
        for step, in plain Python and with every decision reported."""
        m = self.matcher
        report = self.reports.setdefault(key, KeyReport())
        report.events += 1
        self._numbers[seq] = report.events
        self._event, self._time = report.events, ts
        try:
            self._emit_step(key, "event", record=e)
            ks = m.keys.get(key)
            if ks is None and m.store.spilled:
                ks = m.store.load(key)
            ok = self._can_start(e)
            if ks is None and not ok:  # the kernel stops here: nothing can start
                probe = Run(m.start, None, ts, ts, seq, m.initial_aggs)
                self._step(key, probe, e, ts, seq, True, [], [])
                return
            if ks is None:
                ks = m.keys[key] = KeyState(key)
            m.store.mark_dirty(key)
            ks.key = key
            runs = ks.runs
            if m.ttl is not None:
                if runs and ts >= ks.last_ts + m.ttl:
                    m._expire_ttl(key, ks, matches)
                    runs = ks.runs
                ks.last_ts = ts
            if m._has_windows and runs and (ks.timer is None or ts >= ks.timer):
                m._expire(key, ks, ts, matches, timeouts)
                runs = ks.runs
            finals: list[Run] = []
            new_runs: list[Run] = []
            for r in runs:
                self._step(key, r, e, ts, seq, False, new_runs, finals)
            if ok:
                r = m._start_run
                r.start_ts = r.prev_ts = ts
                r.start_seq = seq
                self._step(key, r, e, ts, seq, True, new_runs, finals)
            else:
                probe = Run(m.start, None, ts, ts, seq, m.initial_aggs)
                self._step(key, probe, e, ts, seq, True, [], [])
            if len(new_runs) > m.max_runs:
                kept = m._cap(new_runs)
                alive = {id(r) for r in kept}
                for r in new_runs:
                    if id(r) not in alive:
                        self._emit_step(
                            key,
                            "dropped",
                            partial=self._partial(r),
                            reason=f"more than {m.max_runs:,} partial matches for this key "
                            "(--max-partial-matches): the oldest are dropped",
                        )
                new_runs = kept
            ks.runs = new_runs
            if len(new_runs) > m.stats.max_runs:
                m.stats.max_runs = len(new_runs)
            if finals or ks.held:
                matches.extend(m._emit(key, ks, finals))
            if not ks.runs and not ks.held:
                m._drop(key, ks)
            elif m._timed:
                m._schedule(key, ks)
        finally:
            self._event = None

    def _can_start(self, e: Record) -> bool:
        """The kernel's start test (kernel.start_conditions), with the same answer."""
        if self._start_conditions is None:
            return True
        r = self.matcher._start_run
        return any(fn(e, r) for fn in self._start_conditions)

    def _step(
        self,
        key: Any,
        run: Run,
        e: Record,
        ts: int,
        seq: int,
        is_start: bool,
        out: list[Run],
        finals: list[Run],
    ) -> None:
        """`Matcher._step`, reporting each condition tried and each edge followed."""
        m = self.matcher
        moves: list[tuple[StatePlan, StatePlan | None]] = []
        killed: list[Step] = []
        before = self._partial(run)
        stack = [run.state]
        while stack:
            st = stack.pop()
            edges = self._edges[st.id]
            for i, fn in enumerate(st.kills):
                var, cond = edges.kills[i]
                if self._try(key, st, "kill", var, cond, fn, e, run, before):
                    killed.append({"variable": var, **self._condition(cond, e, run)})
            for i, (target, fn) in enumerate(st.proceeds):
                if self._try(key, st, "proceed", None, edges.proceeds[i], fn, e, run, before):
                    stack.append(target)
                    self._followed(key, "proceeded", st, target, edges.proceeds[i], e, run, before)
            for i, (target, fn) in enumerate(st.takes):
                if self._try(key, st, "take", st.var, edges.takes[i], fn, e, run, before):
                    moves.append((target, st))
                    self._followed(key, "taken", st, target, edges.takes[i], e, run, before)
            if not is_start:
                for i, (target, fn) in enumerate(st.ignores):
                    if self._try(key, st, "ignore", st.var, edges.ignores[i], fn, e, run, before):
                        moves.append((target, None))
                        self._followed(key, "ignored", st, target, edges.ignores[i], e, run, before)
        if not moves:
            for k in killed:
                self._emit_step(key, "killed", partial=before, **k)
            if killed:
                self._report(key).killed += 1
            elif not is_start:  # nothing took or skipped the event: the partial match ends
                self._report(key).dropped += 1
                strict = not st.ignores
                self._emit_step(
                    key,
                    "dropped",
                    partial=before,
                    state=run.state.id,
                    label=run.state.label,
                    reason=f"no edge of state {run.state.id} ({run.state.label}) holds for "
                    "this event"
                    + (": the next event must match (strict contiguity)" if strict else ""),
                )
            return
        retained: list[Run] = []
        for target, source in moves:
            if source is None:
                m._ignore(run, target, retained, finals)
            else:
                m._take(run, source, target, e, ts, seq, retained, finals)
        if killed:
            for k in killed:
                self._emit_step(key, "killed", partial=before, **k)
            self._report(key).killed += 1
        else:
            out.extend(retained)
            for new in retained:
                if new.node is run.node:
                    continue  # an ignore: the partial match waits as it was
                kind = "started" if is_start else "extended"
                if is_start:
                    self._report(key).started += 1
                self._emit_step(
                    key, kind, partial=self._partial(new), state=new.state.id, label=new.state.label
                )

    def _try(
        self,
        key: Any,
        st: StatePlan,
        edge: str,
        var: str | None,
        cond: Cond,
        fn: Callable[[Record, Any], bool] | None,
        e: Record,
        run: Run,
        before: dict[str, Any],
    ) -> bool:
        if fn is None:
            return True
        result = bool(fn(e, run))
        self._emit_step(
            key,
            "tried",
            partial=before,
            state=st.id,
            label=st.label,
            edge=edge,
            variable=var,
            result=result,
            **self._condition(cond, e, run),
        )
        return result

    def _followed(
        self,
        key: Any,
        kind: str,
        st: StatePlan,
        target: StatePlan,
        cond: Cond,
        e: Record,
        run: Run,
        before: dict[str, Any],
    ) -> None:
        extra = self._condition(cond, e, run) if cond.fn is not None else {}
        self._emit_step(
            key,
            kind,
            partial=before,
            state=st.id,
            label=st.label,
            to=target.id,
            to_label=target.label,
            variable=st.var,
            **extra,
        )

    def _condition(self, cond: Cond, e: Record, run: Run) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for read in cond.reads:
            try:  # showing a value a condition reads never stops the job
                fn = self._values.get(id(read))
                if fn is None:
                    fn = self._values[id(read)] = read.value()
                values[read.text] = fn(e, run)
            except Exception as err:
                values[read.text] = f"<{type(err).__name__}>"
        return {"condition": cond.text, "values": values}

    # ------------------------------------------------------------------ the rare paths
    def _install(self) -> None:
        """Wrap the matcher's time, ttl and emission methods on this matcher object only:
        the generated kernel calls them by name (`m._expire`, ...), so the untraced keys of a
        traced pattern reach the originals through one dictionary lookup more, and a job
        without a trace through none."""
        m = self.matcher
        expire, expire_ttl, emit = m._expire, m._expire_ttl, m._emit

        def traced_expire(
            key: Any, ks: KeyState, t: float, matches: list[Completed], timeouts: list[Completed]
        ) -> None:
            if not self.wants(key):
                expire(key, ks, t, matches, timeouts)
                return
            if self._event is None:
                self._time = None if t == NEVER else t
            before = list(ks.runs)
            expire(key, ks, t, matches, timeouts)
            seen: set[tuple[int, ...]] = set()
            for run in before:
                if t < run.deadline or run.state.pending:
                    continue  # alive; or an absence that held: the emission reports it
                events = tuple(n.seq for n in path(run.node))
                if events in seen:
                    continue  # one partial match waiting in several states at once
                seen.add(events)
                if run.deadline == NEVER:  # the end of input, and no window to close
                    self._report(key).dropped += 1
                    self._emit_step(
                        key,
                        "dropped",
                        partial=self._partial(run),
                        reason="end of input: the partial match was still waiting (it has "
                        "no window)",
                        timeout=m.keep_timeouts,
                    )
                    continue
                self._report(key).expired += 1
                self._emit_step(
                    key,
                    "expired",
                    partial=self._partial(run),
                    reason=self._expiry(run, t),
                    deadline=run.deadline,
                    timeout=m.keep_timeouts,
                )

        def traced_expire_ttl(key: Any, ks: KeyState, matches: list[Completed]) -> None:
            if self.wants(key):
                for run in ks.runs:
                    self._report(key).dropped += 1
                    self._emit_step(
                        key,
                        "dropped",
                        partial=self._partial(run),
                        reason=f"ttl: no event of this key for {duration_text(m.ttl or 0)}",
                    )
            expire_ttl(key, ks, matches)

        def traced_emit(key: Any, ks: KeyState, finals: list[Run]) -> list[Completed]:
            if not self.wants(key):
                return emit(key, ks, finals)
            runs_before = list(ks.runs)
            held_before = [entry[-1] for entry in ks.held]
            out = emit(key, ks, finals)
            emitted = {id(c) for c in out}
            runs_after = {id(r) for r in ks.runs}
            held_after = {id(entry[-1]) for entry in ks.held}
            kept_nodes = {id(c.node) for c in out} | {id(e[-1].node) for e in ks.held}
            skip = self._skip_text()
            for run in finals:  # completed now, and discarded at once for another
                if id(run.node) not in kept_nodes:
                    self._report(key).dropped += 1
                    self._emit_step(
                        key,
                        "dropped",
                        partial=self._partial(run),
                        reason=f"{skip}: a completed match discarded for another",
                    )
            for c in out:
                self._report(key).matched += 1
                self._emit_step(
                    key,
                    "matched",
                    partial=self._events(c.node),
                    start=c.start_ts,
                    end=c.end_ts,
                )
            for run in runs_before:
                if id(run) not in runs_after:
                    self._report(key).dropped += 1
                    self._emit_step(
                        key,
                        "dropped",
                        partial=self._partial(run),
                        reason=f"{skip}: a match was emitted",
                    )
            for c in held_before:
                if id(c) not in emitted and id(c) not in held_after:
                    self._report(key).dropped += 1
                    self._emit_step(
                        key,
                        "dropped",
                        partial=self._events(c.node),
                        reason=f"{skip}: a completed match discarded for another",
                    )
            waiting = [entry[-1] for entry in ks.held if id(entry[-1]) not in emitted]
            new_held = [c for c in waiting if not any(c is h for h in held_before)]
            for c in new_held:
                first = min((r.start_seq for r in ks.runs), default=None)
                self._emit_step(
                    key,
                    "held",
                    partial=self._events(c.node),
                    reason=f"{skip}: waits while a partial match that started earlier "
                    f"(at event {self._number(first)}) may still complete first",
                )
            return out

        # instance attributes shadow the methods for this matcher alone
        setattr(m, "_expire", traced_expire)  # noqa: B010
        setattr(m, "_expire_ttl", traced_expire_ttl)  # noqa: B010
        setattr(m, "_emit", traced_emit)  # noqa: B010

    def _expiry(self, run: Run, t: float) -> str:
        m = self.matcher
        first = path(run.node)[0] if run.node is not None else None
        name = first.var if first is not None else "the start"
        if t == NEVER:
            return "end of input: every window closes at the end of the input"
        if m.within is not None and t >= run.start_ts + m.within:
            return (
                f"within {duration_text(m.within)} after {name} at {time_text(run.start_ts)} "
                f"passed (at {time_text(run.start_ts + m.within)})"
            )
        window = run.state.window or 0
        return (
            f"at most {duration_text(window)} after the previous event "
            f"(at {time_text(run.prev_ts)}) passed"
        )

    def _skip_text(self) -> str:
        from gress_cep.nfa.describe import skip_text

        return skip_text(self.matcher.nfa)

    # ------------------------------------------------------------------ output
    def _report(self, key: Any) -> KeyReport:
        return self.reports.setdefault(key, KeyReport())

    def _number(self, seq: int | None) -> int | None:
        return None if seq is None else self._numbers.get(seq)

    def _events(self, node: Node | None) -> dict[str, list[int | None]]:
        """A partial match as the events each variable took: `{"small": [1, 2], "big": [4]}`
        (numbers count the key's events in this run of the pattern)."""
        out: dict[str, list[int | None]] = {}
        for n in path(node):
            out.setdefault(n.var, []).append(self._numbers.get(n.seq))
        return out

    def _partial(self, run: Run) -> dict[str, Any]:
        return self._events(run.node)

    def _emit_step(self, key: Any, kind: str, **fields: Any) -> None:
        step: Step = {
            "key": key,
            "pattern": self.name,
            "event": self._event,
            "time": self._time,
            "step": kind,
        }
        step.update(fields)
        self.sink(step)


def attach(
    operators: Iterable[tuple[str, Any, tuple[str, ...]]],
    values: list[str],
    sink: StepSink,
) -> tuple[list[PatternTracer], list[str]]:
    """Trace `values` (`--trace`) in each (name, PatternOperator, key fields); returns the
    tracers and notes for the patterns not traced. A UserError when no pattern can be."""
    tracers: list[PatternTracer] = []
    notes: list[str] = []
    ops = list(operators)
    if not ops:
        raise UserError(
            "--trace traces patterns, and this job runs none",
            hint="name a pattern with --pattern (views are not traced)",
        )
    for name, operator, fields in ops:
        selectors = [s for v in values if (s := KeySelector.parse(v, fields)) is not None]
        if not selectors:
            if not fields:
                notes.append(
                    f"pattern {name} has no partition key (all its events are one key): not "
                    "traced; --trace '*' traces it"
                )
            else:
                notes.append(
                    f"pattern {name} is keyed by {', '.join(fields)}: "
                    f"--trace {' / '.join(values)} names no key of it; not traced"
                )
            continue
        tracer = PatternTracer(operator.matcher, selectors, sink)
        operator.tracer = tracer
        tracers.append(tracer)
    if not tracers:
        raise UserError(
            f"--trace {' '.join(values)}: no pattern of the job has such a key",
            hint="; ".join(notes) + " (see `gress detect --help`)",
        )
    return tracers, notes
