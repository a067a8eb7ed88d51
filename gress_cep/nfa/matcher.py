"""Running a compiled NFA over the events of each partition key (Flink's NFA.process/advanceTime).

For each key the matcher keeps its partial matches (`Run`s). An event is offered to every run:
the run's decision graph (its state, and every state reachable by PROCEED edges whose condition
holds) yields TAKE and IGNORE moves, each a new run; a KILL edge that holds discards the run's
continuations. A run that reaches the final state is a match. A run that starts at the start
state always stays there too, so a new match can begin at every event.

Time: before an event with time t is processed, runs whose window has closed by t are pruned
(`t - start >= within`, or `t - previous >= step window`); a pruned run in a PENDING state (a
trailing absence) is a match, any other is a timeout. The same happens when the watermark
advances.

After-match skip: with `skip no` a match is emitted at once. With any other strategy, as in
Flink, completed matches are held until no partial match that started earlier is alive; they are
then emitted in order of their first event, each pruning the runs (and held matches) that the
strategy discards. Matches with the same first event come out exactly in Flink's order: the
runs are kept in Flink's order (by first event, then by the order of their decisions), and the
completed matches in a copy of Java's PriorityQueue (`_emit`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gress_cep.nfa.kernel import build_feed
from gress_cep.nfa.model import Nfa
from gress_cep.nfa.runs import NEVER, Completed, KeyState, Record, Run, StatePlan
from gress_cep.nfa.shared_buffer import Node, path, restore_nodes, snapshot_nodes
from gress_cep.state import data_codec
from gress_cep.state.keys import decode_key, encode_key
from gress_cep.state.operator_state import (
    KeyedState,
    MemoryKeyed,
    MemoryTimers,
    StateCodec,
    Timers,
)

END = 2**63 - 1  # the watermark at the end of input (an int: timer tables store int64)


@dataclass(slots=True)
class MatcherStats:
    matches: int = 0
    timeouts: int = 0
    dropped_runs: int = 0  # partial matches dropped by the per-key cap
    max_runs: int = 0
    ttl_expired: int = 0  # partial matches dropped because their key went quiet (ttl)


class Matcher:
    """The keyed runtime of one NFA. Events must arrive in event-time order per key."""

    def __init__(
        self,
        nfa: Nfa,
        *,
        keep_timeouts: bool = False,
        max_runs_per_key: int = 10_000,
        ttl_ms: int | None = None,
    ) -> None:
        self.nfa = nfa
        self.keep_timeouts = keep_timeouts
        self.max_runs = max_runs_per_key
        self.ttl = ttl_ms
        self.plans = _plans(nfa)
        self.start = self.plans[nfa.start.id]
        self.within = nfa.within_ms
        self.initial_aggs = nfa.slots.initial()
        self.stats = MatcherStats()
        self._order = 0  # tie-breaker for held matches
        self._prune = _pruning_rule(nfa)
        self._has_windows = self.within is not None or any(p.window for p in self.plans.values())
        self._timed = self._has_windows or ttl_ms is not None
        self._start_run = Run(self.start, None, 0, 0, 0, self.initial_aggs)
        self._kernels: dict[Callable[[Record], Any], Any] = {}
        # which stored states finish() must look at (see encode_key_state's flags)
        self._finish_flags = HELD | (PENDING if any(p.pending for p in self.plans.values()) else 0)
        if keep_timeouts and self._has_windows:
            self._finish_flags |= TIMED
        # how a key's state is stored (version 1: a flags byte, then data_codec)
        self._avg_slots = [i for i, s in enumerate(nfa.slots.slots) if s.kind == "avg"]
        self.codec: StateCodec[KeyState] = StateCodec(1, encode_key_state, self.decode)
        self.use_storage(MemoryKeyed(self.codec), MemoryTimers())

    def use_storage(self, store: KeyedState[KeyState], timers: Timers) -> None:
        """Keep keyed state and timers there (a checkpointed job: spillable, on disk)."""
        self.store = store
        self.keys = store.data
        self.timers = timers
        self._kernels.clear()  # the generated loop refers to the store

    def decode(self, data: bytes) -> KeyState:
        """A key's state read back from a table (its runs' deadlines derived again)."""
        ks = decode_key_state(data, self.plans, self._avg_slots)
        for run in ks.runs:
            run.deadline = self._deadline(run)
        return ks

    # ------------------------------------------------------------------ events
    def feed(
        self,
        ready: list[tuple[int, Record]],
        key_of: Callable[[Record], Any],
        seq: int,
        matches: list[Completed],
        timeouts: list[Completed],
    ) -> int:
        """Offer events (in event-time order) to their keys' partial matches.

        Returns the last arrival sequence number used. The loop is generated for this pattern
        and key (gress_cep.nfa.kernel): it is the hottest path of the engine.
        """
        kernel = self._kernels.get(key_of)
        if kernel is None:
            kernel = self._kernels[key_of] = build_feed(self, key_of)
        return kernel(ready, seq, matches, timeouts)

    def process(
        self, key: Any, event: Record, ts: int, seq: int
    ) -> tuple[list[Completed], list[Completed]]:
        """Offer one event; returns (matches, timeouts) in emission order."""
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        self.feed([(ts, event)], lambda e: key, seq - 1, matches, timeouts)
        return matches, timeouts

    def _step(
        self,
        run: Run,
        e: Record,
        ts: int,
        seq: int,
        is_start: bool,
        out: list[Run],
        finals: list[Run],
    ) -> None:
        """Flink's computeNextStates: the decision graph of one run for one event.

        The states reachable by PROCEED edges are visited depth first, last edge first (as
        Flink's stack does); each state adds its TAKE moves, then its IGNORE moves. The new
        runs come out in that order, which is Flink's: it decides which of several matches
        with the same first event a skip strategy keeps (see `_emit`)."""
        moves: list[tuple[StatePlan, StatePlan | None]] = []  # (target, source of a TAKE)
        killed = False
        stack = [run.state]
        while stack:
            st = stack.pop()
            for fn in st.kills:
                if fn is None or fn(e, run):
                    killed = True
            for target, fn in st.proceeds:
                if fn is None or fn(e, run):
                    stack.append(target)
            for target, fn in st.takes:
                if fn is None or fn(e, run):
                    moves.append((target, st))
            if not is_start:
                for target, fn in st.ignores:
                    if fn is None or fn(e, run):
                        moves.append((target, None))
        if not moves:
            return
        # a KILL discards the continuations, not the matches this event completed (Flink)
        retained: list[Run] = []
        for target, source in moves:
            if source is None:
                self._ignore(run, target, retained, finals)
            else:
                self._take(run, source, target, e, ts, seq, retained, finals)
        if not killed:
            out.extend(retained)

    def _ignore(self, run: Run, target: StatePlan, out: list[Run], finals: list[Run]) -> None:
        new = Run(target, run.node, run.start_ts, run.prev_ts, run.start_seq, run.aggs)
        self._place(new, out, finals)

    def _place(self, new: Run, out: list[Run], finals: list[Run]) -> bool:
        """A new run is a match, or a partial match with its deadline; True for the latter."""
        if new.state.final:
            finals.append(new)
            return False
        if self._has_windows:
            new.deadline = self._deadline(new)
        out.append(new)
        return True

    def _take(
        self,
        run: Run,
        source: StatePlan,
        target: StatePlan,
        e: Record,
        ts: int,
        seq: int,
        out: list[Run],
        finals: list[Run],
    ) -> None:
        node = Node(source.var, e, seq, ts, run.node)  # type: ignore[arg-type]
        aggs = run.aggs if source.update is None else source.update(run.aggs, e)
        new = Run(target, node, run.start_ts, ts, run.start_seq, aggs)
        if self._place(new, out, finals) and target.proceeds:
            final = self._final_after_proceed(target, e, new)
            if final is not None:
                finals.append(Run(final, node, run.start_ts, ts, run.start_seq, aggs))

    @staticmethod
    def _final_after_proceed(state: StatePlan, e: Record, run: Run) -> StatePlan | None:
        """Flink's findFinalStateAfterProceed: can the new run end right here?"""
        stack = [state]
        seen = set()
        while stack:
            st = stack.pop()
            for target, fn in st.proceeds:
                if fn is None or fn(e, run):
                    if target.final:
                        return target
                    if target.id not in seen:
                        seen.add(target.id)
                        stack.append(target)
        return None

    def _cap(self, runs: list[Run]) -> list[Run]:
        """Bounded state: keep the newest `max_runs` partial matches, count the dropped."""
        runs.sort(key=lambda r: r.start_seq)
        dropped = len(runs) - self.max_runs
        self.stats.dropped_runs += dropped
        return runs[dropped:]

    # ------------------------------------------------------------------ time
    def _deadline(self, run: Run) -> float:
        deadline = NEVER
        if self.within is not None:
            deadline = run.start_ts + self.within
        if run.state.window is not None:
            deadline = min(deadline, run.prev_ts + run.state.window)
        return deadline

    def _schedule(self, key: Any, ks: KeyState) -> None:
        """A timer for the key's earliest deadline: a window closing or the ttl.

        Only an earlier deadline registers anew; the old entry stays and, when it fires,
        finds `ks.timer` changed and is ignored. A timer that fires too early finds nothing
        to expire and schedules the real deadline. Either way, most events cost no timer work.
        """
        earliest = min((r.deadline for r in ks.runs), default=NEVER)
        if self.ttl is not None:
            earliest = min(earliest, ks.last_ts + self.ttl)
        if earliest != NEVER and (ks.timer is None or earliest < ks.timer):
            ks.timer = int(earliest)
            self.timers.register(ks.timer, key)

    def _drop(self, key: Any, ks: KeyState) -> None:
        """A key with nothing left: forget its state and its timer."""
        if ks.timer is not None:
            self.timers.cancel(ks.timer, key)
            ks.timer = None
        self.store.remove(key)

    def _expire(
        self, key: Any, ks: KeyState, t: float, matches: list[Completed], timeouts: list[Completed]
    ) -> None:
        """Flink's advanceTime for one key: prune runs whose window closed by t.

        A partial match that waits in several states at once (`a -> b* -> c* -> d` after
        `a b`: `[a]` waits for a `c` and for a `d`) is one partial match: it times out once,
        where Flink's NFA reports it once per waiting state."""
        keep: list[Run] = []
        finals: list[Run] = []
        expired: set[tuple[int, tuple[tuple[str, int], ...]]] = set()
        for run in ks.runs:
            if t >= run.deadline:
                if run.state.pending:
                    finals.append(run)
                elif self.keep_timeouts:
                    events = _identity(run)
                    if events not in expired:
                        expired.add(events)
                        timeouts.append(self._completed(key, run, timed_out=True))
                        self.stats.timeouts += 1
            else:
                keep.append(run)
        if len(keep) != len(ks.runs):
            ks.runs = keep
            matches.extend(self._emit(key, ks, finals))
            timeouts.sort(key=lambda c: c.start_seq)

    def _expire_ttl(self, key: Any, ks: KeyState, matches: list[Completed]) -> None:
        self.stats.ttl_expired += len(ks.runs)
        ks.runs = []
        matches.extend(self._emit(key, ks, []))  # what they held back is released

    def advance(self, t: int) -> tuple[list[Completed], list[Completed]]:
        """The watermark reached t: expire the runs whose window closed, and the state of
        keys quiet for longer than the ttl."""
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        for deadline, key in self.timers.pop_due(t):
            ks = self.store.get(key)
            if ks is None or ks.timer != deadline:
                continue  # the key moved on since (a stale entry of a spilled timer table)
            ks.timer = None
            self.store.mark_dirty(key)
            if self.ttl is not None and t >= ks.last_ts + self.ttl:
                self._expire_ttl(key, ks, matches)
            else:
                self._expire(key, ks, t, matches, timeouts)
            if not ks.runs and not ks.held:
                self._drop(key, ks)
            else:
                self._schedule(key, ks)
        return matches, timeouts

    def finish(
        self, on_disk: Iterable[tuple[bytes, Any, bytes]] = ()
    ) -> tuple[list[Completed], list[Completed]]:
        """End of input: every window closes (absences fire, partial matches time out);
        partial matches without a window can never complete, so they are dropped and the
        matches they held back are released.

        Keys are finished in the order of their encoded bytes, in memory or on disk alike
        (`on_disk`: (encoded key, key, encoded state) in that order, for keys only on disk),
        so that the output does not depend on what happened to be in memory. A key on disk
        is decoded only when its state can still produce something.
        """
        matches: list[Completed] = []
        timeouts: list[Completed] = []
        in_memory = sorted((encode_key(k), k, None) for k in self.keys)
        for _, key, raw in heapq.merge(in_memory, on_disk, key=lambda e: e[0]):
            if raw is None:
                ks = self.keys[key]
            elif raw[0] & self._finish_flags:
                ks = self.decode(raw)
            else:
                continue
            self._expire(key, ks, NEVER, matches, timeouts)
            ks.runs = []
            matches.extend(self._emit(key, ks, []))
            if raw is None:
                self._drop(key, ks)
        # keys only on disk keep their (finished) state there: a finished run is never
        # resumed, so deleting it would be work for nothing
        return matches, timeouts

    # ------------------------------------------------------------------ checkpoints
    def meta(self) -> dict[str, Any]:
        st = self.stats
        return {
            "order": self._order,
            "stats": [st.matches, st.timeouts, st.dropped_runs, st.max_runs, st.ttl_expired],
        }

    def restore_meta(self, meta: dict[str, Any]) -> None:
        self._order = meta["order"]
        self.restore_stats(meta)

    def restore_stats(self, meta: dict[str, Any]) -> None:
        """Only the counts of `meta` (a pattern that changed keeps counting, nothing else)."""
        self.stats = MatcherStats(*meta["stats"])

    # ------------------------------------------------------------------ output and skipping
    def _completed(self, key: Any, run: Run, timed_out: bool = False) -> Completed:
        end = run.node.ts if run.node is not None else run.start_ts
        return Completed(key, run.node, run.start_ts, end, run.start_seq, timed_out)

    def _emit(self, key: Any, ks: KeyState, finals: list[Run]) -> list[Completed]:
        """Flink's processMatchesAccordingToSkipStrategy.

        Completed matches wait in `ks.held`, a priority queue ordered by first event only and
        kept exactly as Java's PriorityQueue keeps Flink's completed matches (`_offer`,
        `_poll`, `_remove_started_before`): matches with the same first event therefore come
        out in the order Flink's NFA emits them, and a skip strategy keeps the same one. With a skip
        strategy, a match waits while a partial match that started earlier is alive (it may
        still complete first); each match emitted prunes the partial and held matches the
        strategy discards."""
        held = ks.held
        for run in finals:
            self._order += 1
            end = run.node.seq if run.node is not None else run.start_seq
            _offer(held, (run.start_seq, end, (), (), self._order, self._completed(key, run)))
        prune = self._prune
        out: list[Completed] = []
        while held:
            if prune is not None and ks.runs and min(r.start_seq for r in ks.runs) < held[0][0]:
                break  # a partial match that started earlier may still complete first
            match: Completed = _poll(held)[-1]
            limit = None if prune is None else prune(match)
            if limit is not None:
                inclusive, bound = limit
                if inclusive:
                    ks.runs = [r for r in ks.runs if r.start_seq > bound]
                else:
                    ks.runs = [r for r in ks.runs if r.start_seq >= bound]
                _remove_started_before(held, bound + 1 if inclusive else bound)
            out.append(match)
        self.stats.matches += len(out)
        return out


def _identity(run: Run) -> tuple[int, tuple[tuple[str, int], ...]]:
    """What a partial match holds: its first event and (variable, event) for each event."""
    taken = []
    node = run.node
    while node is not None:
        taken.append((node.var, node.seq))
        node = node.parent
    return run.start_seq, tuple(taken)


# The completed matches of a key, as Flink keeps them: java.util.PriorityQueue ordered by the
# first event only (NFAState.COMPUTATION_STATE_COMPARATOR). Entries are tuples whose [0] is the
# first event's arrival number. Which of several matches with the same first event comes out
# first depends on how the binary heap moves them, so these follow Java's PriorityQueue step
# by step (offer: sift up; poll: the last entry sifts down from the root; removeAll: the
# survivors keep their places in the array, then the heap is rebuilt).
def _offer(queue: list[tuple[Any, ...]], entry: tuple[Any, ...]) -> None:
    k = len(queue)
    queue.append(entry)
    first = entry[0]
    while k > 0:
        parent = (k - 1) >> 1
        above = queue[parent]
        if first >= above[0]:
            break
        queue[k] = above
        k = parent
    queue[k] = entry


def _poll(queue: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    top = queue[0]
    last = queue.pop()
    if queue:
        _sift_down(queue, 0, last)
    return top


def _sift_down(queue: list[tuple[Any, ...]], k: int, entry: tuple[Any, ...]) -> None:
    n = len(queue)
    half = n >> 1
    first = entry[0]
    while k < half:
        child = 2 * k + 1
        smaller = queue[child]
        right = child + 1
        if right < n and smaller[0] > queue[right][0]:
            child = right
            smaller = queue[child]
        if first <= smaller[0]:
            break
        queue[k] = smaller
        k = child
    queue[k] = entry


def _remove_started_before(queue: list[tuple[Any, ...]], bound: int) -> None:
    """Drop the entries whose first event came before `bound` (Flink's prune: removeAll)."""
    kept = [entry for entry in queue if entry[0] >= bound]
    if len(kept) == len(queue):
        return
    queue[:] = kept
    for i in range((len(queue) >> 1) - 1, -1, -1):
        _sift_down(queue, i, queue[i])


def _pruning_rule(nfa: Nfa) -> Callable[[Completed], tuple[bool, int] | None] | None:
    """For a match, which partial matches the skip strategy discards: those whose first event
    is (inclusive=True) at or before, or (False) strictly before, the returned arrival seq."""
    kind, var = nfa.skip, nfa.skip_var
    if kind == "no":
        return None
    if kind == "past_last":
        return lambda m: (True, m.node.seq) if m.node is not None else None
    if kind == "to_next":
        return lambda m: (True, m.start_seq)

    def to_variable(m: Completed) -> tuple[bool, int] | None:
        seqs = [n.seq for n in path(m.node) if n.var == var]
        if not seqs:
            return None  # the variable matched nothing: nothing is skipped
        return (False, seqs[0] if kind == "to_first" else seqs[-1])

    return to_variable


def _plans(nfa: Nfa) -> dict[int, StatePlan]:
    plans = {s.id: StatePlan(s) for s in nfa.states}
    for s in nfa.states:
        plan = plans[s.id]
        plan.takes = [(plans[t.id], c.fn) for t, c in s.takes]
        plan.ignores = [(plans[t.id], c.fn) for t, c in s.ignores]
        plan.proceeds = [(plans[t.id], c.fn) for t, c in s.proceeds]
        plan.kills = [c.fn for _, c in s.kills]
        if s.var is not None:
            plan.update = nfa.slot_updates.get(s.var)
        plan.simple = not plan.proceeds and not plan.kills
    return plans


# flags in the first byte of a stored key state: what it holds that the end of input must see
HELD = 1  # completed matches held back by a skip strategy
PENDING = 2  # a partial match waiting in an absence (fires at the end)
TIMED = 4  # a partial match with a window (times out at the end)
NO_TIMER = -(2**63)  # a stored key state's timer when it has none


def encode_key_state(ks: KeyState) -> bytes:
    """A key's partial and held matches as bytes: a flags byte, then plain data
    (gress_cep.state.data_codec). Nodes shared between runs (the shared buffer's common
    prefixes) are written once; the key as its stable bytes (gress_cep.state.keys), in hex."""
    heads = [r.node for r in ks.runs] + [h[-1].node for h in ks.held]
    rows, ids = snapshot_nodes(heads)
    runs = [
        [r.state.id, ids[i], r.start_ts, r.prev_ts, r.start_seq, r.aggs]
        for i, r in enumerate(ks.runs)
    ]
    held = []
    base = len(ks.runs)
    for j, entry in enumerate(ks.held):
        c: Completed = entry[-1]
        held.append([entry[:-1], ids[base + j], c.start_ts, c.end_ts, c.start_seq, c.timed_out])
    flags = HELD if ks.held else 0
    for r in ks.runs:
        if r.state.pending:
            flags |= PENDING
        if r.deadline != NEVER:
            flags |= TIMED
    # no None where there need not be: a value without null takes data_codec's fast path
    timer = NO_TIMER if ks.timer is None else ks.timer
    body = [encode_key(ks.key).hex(), timer, ks.last_ts, rows, runs, held]
    return bytes((flags,)) + data_codec.dumps(body)


def decode_key_state(
    data: bytes, plans: dict[int, StatePlan], avg_slots: list[int] | None = None
) -> KeyState:
    """The KeyState `encode_key_state` wrote; `avg_slots`: which aggregate slots hold
    (sum, count) pairs (stored as lists, made tuples again)."""
    hex_key, timer, last_ts, rows, runs, held = data_codec.loads(memoryview(data)[1:])
    key = decode_key(bytes.fromhex(hex_key))
    nodes = restore_nodes(rows)

    def node(i: int) -> Node | None:
        return nodes[i] if i >= 0 else None

    def aggs_of(stored: list[Any]) -> tuple[Any, ...]:
        values = list(stored)
        for i in avg_slots or ():
            values[i] = tuple(values[i])
        return tuple(values)

    ks = KeyState(key=key, timer=None if timer == NO_TIMER else timer, last_ts=last_ts)
    ks.runs = [
        Run(plans[sid], node(n), st, pt, ss, aggs_of(aggs)) for sid, n, st, pt, ss, aggs in runs
    ]
    ks.held = []
    for order, n, st, et, ss, to in held:
        first, last, seqs, variables, tie = order
        entry = (first, last, tuple(seqs), tuple(variables), tie)
        ks.held.append((*entry, Completed(key, node(n), st, et, ss, to)))
    return ks  # held in its stored array order: a heap, and its order among equals matters
