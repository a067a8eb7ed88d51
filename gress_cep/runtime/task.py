"""A task: partition P of every input topic of a scale-out job, with its own pipeline, event
time, state and Kafka transaction, so that it can move between workers alone.

A task's state lives in a local RocksDB directory, a cache of its changelog partition
(gress_cep.connectors.changelog). Opening a task:
  1. starts its transactional producer (`<group>-task-P`), which fences the task's previous
     owner, wherever it runs;
  2. restores the local checkpoint, if any, and applies the changelog from the offset it
     recorded (all of it when there is no usable local copy);
  3. builds the pipeline on that state, its sinks at the outputs' recorded positions (a
     predecessor's output after them is not written again: kafka.OutputLedger), and starts
     the inputs at the recorded offsets.
A commit writes the state changes and a commit record to the changelog, and commits them with
the outputs and the input offsets in one transaction; then it checkpoints the local copy.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Message, TopicPartition

from gress_cep.connectors import ConnectorConfig, open_sink
from gress_cep.connectors.base import Batch, DeadLetter, Sink
from gress_cep.connectors.changelog import (
    COMMIT_KEY,
    ChangelogRead,
    commit_value,
    read_changelog,
    write_changes,
)
from gress_cep.connectors.codec import ValueDecoder
from gress_cep.connectors.kafka import (
    KafkaTransaction,
    StillOpen,
    decode_messages,
    produce,
    tombstone_record,
)
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.runtime.faults import fault_point
from gress_cep.runtime.job import Sinks
from gress_cep.runtime.pipeline import Pipeline, RoundOutput
from gress_cep.runtime.plan import Plan
from gress_cep.state.backend import StateBackend, WriteBatch


class TaskInput:
    """One topic partition of a task, as a pipeline Source: the worker's consumer hands it
    messages; it decodes them when the pipeline polls."""

    live = True  # Kafka: wall-clock deadlines apply

    def __init__(
        self, topic: str, partition: int, stream: ast.Stream, decoder: ValueDecoder, next_: int
    ) -> None:
        self.description = f"kafka:{topic}"
        self.topic = topic
        self.partition = partition
        self.deletes = False  # a lookup's table (set by the Pipeline)
        self._stream = stream
        self._decoder = decoder
        self._waiting: deque[list[Message]] = deque()
        self.next = next_  # the offset of the next message (-1: not known yet)
        # its name among the job's positions, as a single-process job names it (Job)
        self.key = f"{stream.name.text}={self.description}"
        self.ended = False  # --stop-at-end: reached the end

    def add(self, messages: list[Message]) -> None:
        if self.next >= 0 and (messages[0].offset() or 0) < self.next:
            # fetched before the partition was revoked and given back: already processed
            messages = [m for m in messages if (m.offset() or 0) >= self.next]
            if not messages:
                return
        offset = messages[-1].offset()
        assert offset is not None  # consumed messages have offsets
        self.next = offset + 1
        self._waiting.append(messages)

    def pending(self) -> bool:
        return bool(self._waiting)

    def partitions(self) -> list[int]:
        return [self.partition]

    def poll(self, max_records: int, timeout_s: float) -> Batch | None:
        if self._waiting:
            deletion = (lambda m: tombstone_record(self._stream, m)) if self.deletes else None
            return decode_messages(
                self.description, self._waiting.popleft(), self._decoder, deletion
            )
        return None if self.ended else Batch()

    def position(self) -> dict[str, Any]:
        offsets = {str(self.partition): self.next} if self.next >= 0 else {}
        return {"topic": self.topic, "offsets": offsets}

    def commit(self, position: dict[str, Any]) -> None:
        """Nothing: a task's offsets are committed in its transaction."""

    def close(self) -> None:
        pass


@dataclass(slots=True)
class TaskSetup:
    """What a worker gives each of its tasks."""

    group: str
    config: ConnectorConfig
    identity: str  # digest of the job: pattern file text, inputs, outputs, selection
    inputs: list[tuple[str, str, ast.Stream, ValueDecoder]]  # (stream, topic, decl, decoder)
    outputs: list[tuple[str, str]]  # (role, spec)
    changelog: str  # the changelog topic
    state_dir: Path
    build_plan: Callable[[], Plan]
    open_backend: Callable[[Path | None], StateBackend]
    max_keys_in_memory: int
    max_events_in_memory: int
    on_progress: Callable[[str], None]


class Task:
    def __init__(self, setup: TaskSetup, partition: int) -> None:
        self.setup = setup
        self.partition = partition
        self.run_id = f"{setup.group}-task-{partition}"
        # 1. fence the previous owner (its unfinished transaction is aborted, or on brokers
        # that commit it instead, shows up below as a tail and as outputs to skip)
        self.transaction = KafkaTransaction(setup.config, self.run_id, None)
        self.sinks: Sinks | None = None  # open once the outputs were read to their end

    def open(self) -> None:
        """Restore the state and open inputs and outputs. A worker fences every task it was
        given before it opens any: reading an output to its end waits for the open
        transactions on it, and those of a fenced owner end only when it is fenced."""
        setup, partition = self.setup, self.partition
        self.backend = self._open_local()
        # 2. the state: local checkpoint, then the changelog after it
        self.read = self._restore()
        commit = self.read.commit or {}
        if commit and commit.get("job") != setup.identity:
            self.close()
            raise UserError(
                f"partition {partition}'s state in {setup.changelog} was written by another "
                "version of this job (another pattern file, inputs or outputs)",
                hint="run every worker of a group with the same file and options; to change "
                "rules, start a new --group (its changelog starts empty)",
            )
        self.seq = int(commit.get("seq", 0))
        self.finished = bool(commit.get("finished", False))
        self.dirty = False
        positions = commit.get("positions", {})
        # 3. pipeline, inputs and outputs
        self.inputs: dict[str, TaskInput] = {}
        sources: dict[str, list[Any]] = {}
        for stream, topic, decl, decoder in setup.inputs:
            inp = TaskInput(topic, partition, decl, decoder, -1)
            stored = positions.get(inp.key, {}).get("offsets", {})
            inp.next = int(stored.get(str(partition), -1))
            self.inputs[topic] = inp
            sources.setdefault(stream, []).append(inp)
        self.pending_dead: list[DeadLetter] = []  # model failures, from the worker
        self.pipeline = Pipeline(
            setup.build_plan(),
            sources,
            backend=self.backend,
            max_keys_in_memory=setup.max_keys_in_memory,
        )
        self.pipeline.registry.max_events_in_memory = setup.max_events_in_memory
        self.pipeline.registry.restored_from = f"the changelog of partition {partition}"
        if commit:
            self.pipeline.restore_from(self.backend)
        self._stored_sinks = commit.get("sinks", {})
        self._next_try = 0.0
        self._rounds: Iterator[RoundOutput] | None = None
        self.ready()
        fault_point("restore")

    def ready(self) -> bool:
        """Whether the outputs are open. Opening one reads it to its end, past every open
        transaction on it: a fenced owner's, whose next owner may only fence it once the
        rebalance under way completes. So a task does not wait for that here (nor hold up
        the rebalance): it tries again a moment later, its input waiting meanwhile."""
        if self.sinks is not None:
            return True
        if time.monotonic() < self._next_try:
            return False
        sinks: dict[str, Sink] = {}
        try:
            for role, spec in self.setup.outputs:
                kafka = spec.startswith("kafka:")
                sinks[role] = open_sink(
                    spec,
                    self.setup.config,
                    role=role,
                    resume=self._stored_sinks.get(f"{role}={spec}"),
                    transaction=self.transaction if kafka else None,
                    run_id=self.run_id if kafka else None,
                )
        except StillOpen:
            for sink in sinks.values():
                sink.close()
            self._next_try = time.monotonic() + 0.5
            return False
        self.sinks = Sinks(sinks)
        if self.read.tail:
            self._write_back_tail()
        return True

    # ------------------------------------------------------------------ opening
    def _open_local(self) -> StateBackend:
        folder = self.setup.state_dir / f"task-{self.partition}"
        try:
            return self.setup.open_backend(folder)
        except UserError:  # held by another process here (a worker being replaced): a
            # folder of this process's own, filled from the changelog
            return self.setup.open_backend(folder.with_name(f"{folder.name}-{os.getpid()}"))

    def _restore(self) -> ChangelogRead:
        backend, setup = self.backend, self.setup
        local = backend.restore()
        start = -1
        if local is not None and local.metadata.get("job") == setup.identity:
            start = int(local.metadata["changelog"])
        elif local is not None:
            backend.clear()

        shown = [0]

        def progress(applied: int) -> None:  # a line per 100,000 changes applied
            if applied // 100_000 > shown[0]:
                shown[0] = applied // 100_000
                setup.on_progress(f"restoring partition {self.partition}: {applied:,} changes")

        read = read_changelog(
            setup.config, setup.changelog, self.partition, start, backend.write, progress
        )
        if start >= 0 and read.end < start:  # the changelog is not the one the copy came from
            backend.clear()
            read = read_changelog(
                setup.config, setup.changelog, self.partition, -1, backend.write, progress
            )
            start = -1
        if read.commit is None and local is not None and start >= 0:
            read.commit = {k: v for k, v in local.metadata.items() if k != "changelog"}
        self.restored_from = "local state" if start >= 0 else "the changelog"
        return read

    def _write_back_tail(self) -> None:
        """The restored values of the keys a fenced owner changed after its last commit
        record, written again in a commit of their own: a later reader then never applies
        those orphaned changes as part of the next group."""
        batch = WriteBatch()
        for table, key in self.read.tail:
            value = self.backend.table(table).get(key)
            if value is None:
                batch.delete(table, key)
            else:
                batch.put(table, key, value)
        self._commit_batch(batch)

    # ------------------------------------------------------------------ running
    def add(self, topic: str, messages: list[Message]) -> None:
        self.inputs[topic].add(messages)

    def end_input(self, topic: str) -> None:
        self.inputs[topic].ended = True

    def run(self) -> list[RoundOutput]:
        """Rounds of the pipeline until what the worker handed over is processed."""
        if self.finished or not self.ready():
            return []
        if self._rounds is None:
            self._rounds = self.pipeline.rounds()
        outputs = []
        while True:
            fed = any(i.pending() for i in self.inputs.values())
            out = next(self._rounds, None)
            if out is None:
                self.finished = True
                break
            if self.pending_dead:
                out.dead_letters.extend(self.pending_dead)
                self.pending_dead.clear()
            assert self.sinks is not None  # ready()
            self.sinks.write(out)
            outputs.append(out)
            # state changes with records in, or output (a timer, the end of the input)
            self.dirty = self.dirty or fed or bool(out) or self.pipeline.finishing
            # the inputs ended: the pipeline releases what it holds, round after round
            if not self.pipeline.finishing and not any(i.pending() for i in self.inputs.values()):
                break
        return outputs

    # ------------------------------------------------------------------ commits
    def commit(self) -> list[TopicPartition]:
        """State changes, outputs and input positions, in one transaction (skipped when
        nothing happened since the last one). Returns the input offsets committed, which the
        worker also commits to the consumer group, for lag monitoring only: where a task
        resumes is what its changelog says."""
        if not self.dirty:
            return []
        batch = WriteBatch()
        self.pipeline.snapshot_into(batch)
        self._commit_batch(batch)
        self.dirty = False
        return self.offsets()

    def offsets(self) -> list[TopicPartition]:
        """Where the task's inputs stand (the next offset of each)."""
        inputs = self.inputs.items()
        return [TopicPartition(t, self.partition, i.next) for t, i in inputs if i.next >= 0]

    def _commit_batch(self, batch: WriteBatch) -> None:
        assert self.sinks is not None  # a task commits only what it ran (ready)
        sink_positions = {
            f"{role}={spec}": self.sinks.by_role[role].prepare()
            for role, spec in self.setup.outputs
            if role in self.sinks.by_role
        }
        fault_point("checkpoint-1")
        self.backend.write(batch)
        producer = self.transaction.producer
        topic, partition = self.setup.changelog, self.partition
        write_changes(
            lambda key, value: produce(producer, topic, value, key, partition=partition), batch
        )
        fault_point("checkpoint-2")
        self.seq += 1
        positions = {i.key: i.position() for i in self.inputs.values()}
        metadata = {
            "job": self.setup.identity,
            "seq": self.seq,
            "positions": positions,
            "sinks": sink_positions,
            "finished": self.finished,
        }
        where: list[int] = []

        def delivered(error: Any, message: Message) -> None:
            offset = message.offset()
            if error is None and offset is not None:
                where.append(offset)

        self.transaction.flush()  # the changes before the commit record
        produce(
            producer, topic, commit_value(metadata), COMMIT_KEY,
            partition=partition, on_delivery=delivered,
        )  # fmt: skip
        fault_point("checkpoint-3")
        # no consumer-group offsets in the transaction: a rebalance in progress would fail it
        self.transaction.commit_offsets([], None)
        fault_point("checkpoint-4")
        assert where, "the commit record was delivered (commit_offsets flushed)"
        existing = self.backend.checkpoints()
        local_id = existing[-1].checkpoint_id + 1 if existing else 1
        self.backend.checkpoint(local_id, {**metadata, "changelog": where[0] + 1})
        self.backend.discard_older_than(local_id)

    def close(self) -> None:
        """Give the task up (after a commit, or fenced): what is not committed is left to
        the next owner."""
        if self.sinks is not None:
            for sink in self.sinks.all():
                sink.close()
        self.transaction.close()
        self.backend.close()
