"""`... | lookup TABLE on FIELD`: an event-time temporal join, as Flink's.

TABLE is a changelog keyed by its stream's `key`: each of its records is a new version of
its key's row from its time on. A record gets the fields of the version valid at its own
time — the greatest table time <= the record's time; among equal times the last to arrive —
and its own fields win on a clash. With no row at that time (none yet, or deleted) the
table's fields are null: left semantics, the record is never dropped.

A record waits (in an EventTimeBuffer, which spills) until the lookup's watermark — the
minimum of its input's and TABLE's — has passed its time, so a version that arrives a
little late, within TABLE's lateness, is still seen. A table record whose fields other than
its key and time are all null or absent deletes the row from its time on (a Kafka tombstone
reaches it as such a record: connectors/kafka.py, `deletes`). A key's versions older than the
watermark minus the lookup side's lateness go, except the latest of them, which is still the
row for every record to come.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from gress_cep.connectors.base import Record
from gress_cep.operators.base import Timed
from gress_cep.operators.inputs import MultiInput
from gress_cep.operators.ordering import EventTimeBuffer
from gress_cep.runtime.watermarks import NO_WATERMARK
from gress_cep.state import data_codec
from gress_cep.state.operator_state import KeyedState, OperatorContext, Restored, StateCodec

MAIN, TABLE = 0, 1
_KEY_TYPES = (str, int, float, bytes)


class TemporalLookup(MultiInput):
    # key -> [times, rows]: its versions in time order (a row None: deleted from that time);
    # the times apart, so that bisection runs in C
    table: KeyedState[list[list[Any]]]

    def __init__(
        self,
        name: str,
        view: str,
        inputs: list[str],
        on: str,
        table_key: str,
        table_time: str | None,
        table_fields: list[str],
        lateness_ms: int,
    ) -> None:
        super().__init__(view, inputs)
        self.name = name
        self.on = on
        self.table_key = table_key
        self.table_time = table_time
        self.nulls: Record = dict.fromkeys(table_fields)  # the row where there is none
        self.lateness = lateness_ms
        self.buffer = EventTimeBuffer()
        self.rows = 0  # table records taken in
        self.found = 0  # records that found a row
        self.missed = 0  # ... and that did not

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.table = ctx.keyed("table", StateCodec(1, data_codec.dumps, data_codec.loads))
        self.buffer.use_spill(ctx.spill("buffer"))

    # ------------------------------------------------------------------ records
    def process_input(self, port: int, batch: list[Timed], now: float) -> list[Timed]:
        batch = self.on_time(port, batch)
        if port == MAIN:
            on = self.on
            waiting = [item for item in batch if on in item[1]]
            if len(waiting) < len(batch):
                for _, record in batch:
                    if on not in record:
                        self.dead(record, f"the record has no '{on}', which it looks up by")
            self.buffer.add(waiting)
            return []
        self._versions(batch)
        return []

    def _versions(self, batch: list[Timed]) -> None:
        """Table records: each a new version of its key's row (None: deleted) from its time on.
        The keys' state is marked dirty once per batch, and pruned after that (pruning keeps
        what is at the horizon or later, and every record here is: pruning once at the end
        leaves what pruning after each record would)."""
        table, key_field, time_field = self.table, self.table_key, self.table_time
        data, spilled = table.data, table.spilled
        horizon = self.watermark - self.lateness
        changed: dict[Any, list[list[Any]]] = {}
        for ts, record in batch:
            key = record.get(key_field)
            if key is None or not isinstance(key, _KEY_TYPES):
                what = "no" if key is None else "a bad"
                self.dead(record, f"the table record has {what} '{key_field}', its key")
                continue
            # deleted: every field but the key and the time is null or absent. Counted in C:
            # the fields that are not None, less the key (never None here) and the time.
            fields = len(record) - list(record.values()).count(None) - 1
            if time_field is not None and record.get(time_field) is not None:
                fields -= 1
            row = record if fields else None
            versions = data.get(key)
            if versions is None and spilled:
                versions = table.load(key)
            if versions is None:
                versions = [[], []]
                table.put(key, versions)
            times, rows = versions
            if not times or times[-1] <= ts:
                times.append(ts)
                rows.append(row)
            else:
                at = bisect_right(times, ts)  # after the equal times: it came last
                times.insert(at, ts)
                rows.insert(at, row)
            changed[key] = versions
            self.rows += 1
        table.mark_dirty_all(list(changed))
        for key, (times, _) in changed.items():
            if len(times) > 1 and times[1] < horizon:  # (in _prune, without a call per key)
                self._prune(key, changed[key])

    def _prune(self, key: Any, versions: list[list[Any]]) -> None:
        """Versions older than the watermark minus the lateness, but the latest of them."""
        times, rows = versions
        horizon = self.watermark - self.lateness
        if len(times) > 1 and times[1] < horizon:  # the first is no one's row any more
            old = bisect_left(times, horizon)
            del times[: old - 1], rows[: old - 1]
            self.table.mark_dirty(key)
        if len(times) == 1 and rows[0] is None and times[0] < horizon:
            self.table.remove(key)  # deleted before anything still to come

    # ------------------------------------------------------------------ time
    def on_watermark(self, watermark: int, now: float) -> list[Timed]:
        if watermark > self.watermark:
            self.watermark = watermark
        out: list[Timed] = []
        for ready in self.buffer.release_in_slices(self.watermark - 1):
            out += self._looked_up(ready)
        return out

    def finish(self) -> list[Timed]:
        out: list[Timed] = []
        for ready in self.buffer.release_in_slices():
            out += self._looked_up(ready)
        return out

    def _looked_up(self, ready: list[Timed]) -> list[Timed]:
        """Each record with the row valid at its time."""
        out: list[Timed] = []
        append = out.append
        table, on, nulls = self.table, self.on, self.nulls
        data, spilled = table.data, table.spilled
        horizon = self.watermark - self.lateness
        found = 0
        outdated: dict[Any, list[list[Any]]] = {}  # pruned after: `ready` may need them still
        for ts, record in ready:
            key = record[on]
            if type(key) is str or isinstance(key, _KEY_TYPES):
                versions = data.get(key)
                if versions is None and spilled:
                    versions = table.load(key)
            else:
                versions = None
            row = None
            if versions:
                times = versions[0]
                at = bisect_right(times, ts)
                if at:
                    row = versions[1][at - 1]
                if len(times) > 1 and times[1] < horizon:
                    outdated[key] = versions
            if row is None:
                append((ts, {**nulls, **record}))
            else:
                found += 1
                append((ts, {**nulls, **row, **record}))
        for key, versions in outdated.items():
            self._prune(key, versions)
        self.found += found
        self.missed += len(ready) - found
        return out

    def held_watermark(self) -> int | None:
        """Every record still waiting is at the watermark or later."""
        if not len(self.buffer) or self.watermark == NO_WATERMARK:
            return None
        return self.watermark

    def held_records(self) -> int:
        return len(self.buffer)

    # ------------------------------------------------------------------ counts, state
    def consumed(self, port: int) -> int | None:
        return self.rows if port == TABLE else None

    def extra_counts(self) -> dict[str, int]:
        return {"rows": self.rows, "found": self.found, "missed": self.missed}

    def extra_snapshot(self) -> Any:
        return [self.rows, self.found, self.missed, self.buffer.snapshot()]

    def extra_restore(self, value: Any, restored: Restored) -> None:
        self.rows, self.found, self.missed, pending = value
        if restored.changed and not restored.same_input:
            restored.dropped += EventTimeBuffer.held_in(pending)
        else:
            self.buffer.restore(pending)
