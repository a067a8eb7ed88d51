"""The matcher's event loop, generated for each pattern (the hottest code of the engine).

Two functions are generated from a compiled NFA, as Python source:

- `feed(ready, seq, matches, timeouts)` reads each event's key (`e.get('card_id')`) and tests the
  start conditions inline. Most events cannot start a match, and most keys have no partial
  match: such an event costs nothing more.
- `process(key, ks, e, ts, seq, can_start, matches, timeouts)` is one event for one key —
  Flink's NFA.process: expire what closed, step every partial match, perhaps start a new one,
  emit, schedule the key's timer. The step of each *simple* state (no PROCEED and no KILL
  edge: most states of most patterns) is unrolled: its conditions are the expression
  compiler's fast source, inlined; a TAKE builds the new partial match in place; an IGNORE
  back into the same state keeps the run as it is (runs are immutable, so it is shared). Any
  other state is stepped by `Matcher._step`, which follows Flink's computeNextStates. The
  unrolled steps are one `if st is ...: elif ...` chain; an automaton with more states than
  MAX_CHAINED_STATES (Python compiles such a chain recursively: a few thousand branches
  exhaust its stack) gets one generated function per state instead, found by the state's id.

Only what the pattern needs is generated (no ttl code without a ttl, no deadlines without a
window), and a condition that raises in its fast form falls back to the full function, which
gives the null-safe answer. This is the only path events take, so the conformance suite and
the brute-force reference matcher check it like any other code. The source is kept as
`feed.__gress_source__` for reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gress_cep.dsl.expressions import BASE_NAMESPACE, inline_code
from gress_cep.nfa.model import Nfa
from gress_cep.nfa.runs import NEVER, KeyState, Record, Run, StatePlan
from gress_cep.nfa.shared_buffer import Node

FeedFn = Callable[[list[tuple[int, Record]], int, list[Any], list[Any]], int]

# states stepped in one `if st is ...: elif ...` chain; a larger automaton dispatches on the
# state's id to one function per state (a call more per run, but any number of states)
MAX_CHAINED_STATES = 64
# a condition's fast source is inlined up to this length; a longer one (the `or` of a thousand
# alternatives' first conditions, repeated in each of their states) is called instead
MAX_INLINED_CHARS = 2_000


class KernelHost(Protocol):
    """What the generated code is built from: the matcher (gress_cep.nfa.matcher), whose
    methods the generated source calls by name (`m._step`, `m._emit`, ...) for the rare paths."""

    nfa: Nfa
    plans: dict[int, StatePlan]
    start: StatePlan
    within: int | None
    ttl: int | None
    max_runs: int
    keys: dict[Any, KeyState]
    store: Any
    timers: Any
    _start_run: Run
    _has_windows: bool
    _timed: bool


def start_conditions(matcher: KernelHost) -> list[Callable[[Record, Any], bool]] | None:
    """The take conditions reachable from the start state; None when an event can always
    start a match (a variable without condition, or a conditional PROCEED on the way)."""
    fns: list[Callable[[Record, Any], bool]] = []
    todo, seen = [matcher.start], set()
    while todo:
        st = todo.pop()
        if st.id in seen:
            continue
        seen.add(st.id)
        for target, fn in st.proceeds:
            if fn is not None:
                return None
            todo.append(target)
        for _, fn in st.takes:
            if fn is None:
                return None
            fns.append(fn)
    return fns


def build_feed(matcher: KernelHost, key_of: Callable[[Record], Any]) -> FeedFn:
    source = KernelSource(matcher, key_of)
    text = source.feed() + source.process()
    namespace = source.namespace
    exec(compile(text, f"<gress kernel {matcher.nfa.name}>", "exec"), namespace)
    feed: FeedFn = namespace["feed"]
    feed.__gress_source__ = text  # type: ignore[attr-defined]
    return feed


class KernelSource:
    """Writes the source of `feed` and `process` for one matcher and key function; every
    object the source refers to is put in `namespace` under a generated name."""

    def __init__(self, matcher: KernelHost, key_of: Callable[[Record], Any]) -> None:
        self.matcher = matcher
        self.key_of = key_of
        self.namespace: dict[str, Any] = dict(BASE_NAMESPACE)
        self.namespace.update(
            _m=matcher,
            _keys=matcher.keys,
            _store=matcher.store,
            _timers=matcher.timers,
            _start=matcher._start_run,
            _key_of=key_of,
            KeyState=KeyState,
            Run=Run,
            Node=Node,
            NEVER=NEVER,
            repr=repr,
            len=len,
            min=min,
            TypeError=TypeError,
        )
        self.namespace["__builtins__"] = {
            **self.namespace["__builtins__"],
            "Exception": Exception,
        }
        self._names: dict[int, str] = {}

    def ref(self, obj: Any, prefix: str) -> str:
        """The name `obj` has in the generated code."""
        name = self._names.get(id(obj))
        if name is None:
            name = self._names[id(obj)] = f"_{prefix}{len(self._names)}"
            self.namespace[name] = obj
        return name

    def test(self, fn: Callable[[Record, Any], bool], result: str, indent: str) -> list[str]:
        """Lines that set `result` to fn(e, r): inlined when fn has a fast form."""
        call = f"{self.ref(fn, 'cond')}(e, r)"
        inline = inline_code(fn)
        if inline is None or len(inline.fast) > MAX_INLINED_CHARS:
            return [f"{indent}{result} = {call}"]
        self.namespace.update(inline.namespace)
        return [
            f"{indent}try:",
            f"{indent}    {result} = {inline.fast}",
            f"{indent}except Exception:  # the null-safe answer",
            f"{indent}    {result} = {call}",
        ]

    # ------------------------------------------------------------------ feed
    def feed(self) -> str:
        field = getattr(self.key_of, "gress_field", None)
        key_expr = f"e.get({field!r})" if field is not None else "_key_of(e)"
        conditions = start_conditions(self.matcher)
        if conditions is None:
            start_test = ["        ok = True"]
        elif not conditions:
            start_test = ["        ok = False"]
        else:
            start_test = self.test(conditions[0], "ok", "        ")
            for fn in conditions[1:]:
                start_test += ["        if not ok:", *self.test(fn, "ok", "            ")]
        start_lines = "\n".join(start_test)
        return f"""
def feed(ready, seq, matches, timeouts):
    keys = _keys
    store = _store
    r = _start
    for ts, e in ready:
        seq += 1
        key = {key_expr}
        try:
            ks = keys.get(key)
        except TypeError:  # an unhashable key value (a list, a dict): use its text
            key = repr(key)
            ks = keys.get(key)
        if ks is None and store.spilled:
            ks = store.load(key)  # state larger than memory: this key's is on disk
        # most events cannot start a match: then a key with no partial match needs nothing,
        # and the others skip the start state
{start_lines}
        if ks is None:
            if not ok:
                continue
            ks = keys[key] = KeyState(key)
        process(key, ks, e, ts, seq, ok, matches, timeouts)
    return seq
"""

    # ------------------------------------------------------------------ process
    def process(self) -> str:
        m = self.matcher
        lines = [
            "def process(key, ks, e, ts, seq, can_start, matches, timeouts):",
            "    m = _m",
            "    _store.mark_dirty(key)",
            "    ks.key = key",
            "    runs = ks.runs",
        ]
        if m.ttl is not None:
            lines += [
                f"    if runs and ts >= ks.last_ts + {m.ttl}:",
                "        m._expire_ttl(key, ks, matches)  # quiet for longer than the ttl",
                "        runs = ks.runs",
                "    ks.last_ts = ts",
            ]
        if m._has_windows:
            lines += [
                "    # ks.timer is never after the earliest deadline: before it, nothing expires",
                "    if runs and (ks.timer is None or ts >= ks.timer):",
                "        m._expire(key, ks, ts, matches, timeouts)",
                "        runs = ks.runs",
            ]
        lines += [
            "    finals = []",
            "    new_runs = []",
            "    for r in runs:",
            "        st = r.state",
        ]
        unrolled = [
            plan
            for plan in m.plans.values()
            if plan.simple and not plan.final and plan is not m.start
        ]
        step = "m._step(r, e, ts, seq, False, new_runs, finals)"
        if len(unrolled) > MAX_CHAINED_STATES:
            lines += [
                f"        step = {self.ref(self._step_table(unrolled), 'steps')}[st.id]",
                f"        if step is None:\n            {step}",
                "        else:\n            step(m, r, e, ts, seq, new_runs, finals)",
            ]
        else:
            branch = "if"
            for plan in unrolled:
                lines.append(f"        {branch} st is {self.ref(plan, 'state')}:  # {plan.label}")
                lines += self._state_step(plan, "            ")
                branch = "elif"
            lines += [
                f"        else:\n            {step}" if branch == "elif" else f"        {step}"
            ]
        lines += [
            "    if can_start:",
            "        r = _start",
            "        r.start_ts = r.prev_ts = ts",
            "        r.start_seq = seq",
        ]
        if m.start.simple:
            lines += self._step(m.start, "        ", is_start=True)
        else:
            lines.append("        m._step(r, e, ts, seq, True, new_runs, finals)")
        lines += [
            f"    if len(new_runs) > {m.max_runs}:",
            "        new_runs = m._cap(new_runs)",
            "    ks.runs = new_runs",
            "    if len(new_runs) > m.stats.max_runs:",
            "        m.stats.max_runs = len(new_runs)",
            "    if finals or ks.held:",
            "        matches.extend(m._emit(key, ks, finals))",
            "    if not ks.runs and not ks.held:",
            "        m._drop(key, ks)",
        ]
        if m._timed:  # Matcher._schedule, inlined: a timer only for an earlier deadline
            lines += [
                "    else:",
                "        t = NEVER",
                "        for r in ks.runs:",
                "            if r.deadline < t:",
                "                t = r.deadline",
            ]
            if m.ttl is not None:
                lines += [
                    f"        if ks.last_ts + {m.ttl} < t:",
                    f"            t = ks.last_ts + {m.ttl}",
                ]
            lines += [
                "        if t != NEVER and (ks.timer is None or t < ks.timer):",
                "            ks.timer = t",
                "            _timers.register(t, key)",
            ]
        return "\n".join(lines) + "\n"

    def _state_step(self, plan: StatePlan, indent: str) -> list[str]:
        """The step of a run in `plan` (not the start state)."""
        # a state without edges (a greedy loop's copy of a group's end) ends its runs
        return self._step(plan, indent, is_start=False) or [f"{indent}pass"]

    def _step_table(self, plans: list[StatePlan]) -> list[Callable[..., None] | None]:
        """One generated function per state, indexed by state id (None: `Matcher._step`):
        for automata too large for one `if`/`elif` chain, which Python compiles recursively
        (a few thousand branches exhaust its stack)."""
        table: list[Callable[..., None] | None] = [None] * (max(self.matcher.plans) + 1)
        for plan in plans:
            text = "\n".join(
                [
                    f"def step(m, r, e, ts, seq, new_runs, finals):  # {plan.label}",
                    *self._state_step(plan, "    "),
                ]
            )
            namespace = self.namespace  # the names the step refers to, as in `process`
            exec(compile(text, f"<gress kernel {self.matcher.nfa.name}>", "exec"), namespace)
            table[plan.id] = namespace.pop("step")
        return table

    def _step(self, plan: StatePlan, indent: str, is_start: bool) -> list[str]:
        """The unrolled step of a simple state: its TAKEs, then (not at the start) its
        IGNOREs, in the order `Matcher._step` would take them."""
        lines: list[str] = []
        results: dict[int, str] = {}  # id(take condition) -> the variable holding its result
        for i, (target, fn) in enumerate(plan.takes):
            body = indent + "    "
            if fn is None:
                lines.append(f"{indent}if True:")
            else:
                name = f"take{i}"
                lines += self.test(fn, name, indent)
                results[id(fn)] = name
                lines.append(f"{indent}if {name}:")
            lines += self._take(plan, target, body)
        if is_start:
            return lines
        for i, (target, fn) in enumerate(plan.ignores):
            if fn is None:
                lines.append(f"{indent}if True:")
            else:
                negated = getattr(fn, "__gress_negates__", None)
                if negated is not None and id(negated) in results:
                    lines.append(f"{indent}if not {results[id(negated)]}:")  # `not take`: known
                else:
                    lines += self.test(fn, f"ignore{i}", indent)
                    lines.append(f"{indent}if ignore{i}:")
            if target is plan:
                lines.append(f"{indent}    new_runs.append(r)  # stays put: the run is shared")
            else:
                target_name = self.ref(target, "state")
                lines.append(f"{indent}    m._ignore(r, {target_name}, new_runs, finals)")
        return lines

    def _take(self, source: StatePlan, target: StatePlan, indent: str) -> list[str]:
        if target.proceeds:  # it may end right here: Flink's findFinalStateAfterProceed
            return [
                f"{indent}m._take(r, {self.ref(source, 'state')}, {self.ref(target, 'state')}, "
                "e, ts, seq, new_runs, finals)"
            ]
        aggs = "r.aggs"
        if source.update is not None:
            aggs = f"{self.ref(source.update, 'update')}(r.aggs, e)"
        lines = [
            f"{indent}new = Run({self.ref(target, 'state')}, Node({source.var!r}, e, seq, ts, "
            f"r.node), r.start_ts, ts, r.start_seq, {aggs})"
        ]
        if target.final:
            return [*lines, f"{indent}finals.append(new)"]
        deadline = self._deadline(target)
        if deadline is not None:
            lines.append(f"{indent}new.deadline = {deadline}")
        return [*lines, f"{indent}new_runs.append(new)"]

    def _deadline(self, target: StatePlan) -> str | None:
        """The deadline of a run that just took an event (at ts) into `target`, as
        `Matcher._deadline` computes it."""
        within = self.matcher.within
        if within is not None and target.window is not None:
            return f"min(r.start_ts + {within}, ts + {target.window})"
        if within is not None:
            return f"r.start_ts + {within}"
        if target.window is not None:
            return f"ts + {target.window}"
        return None
