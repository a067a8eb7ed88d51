"""A scale-out worker: one member of a Kafka consumer group (`gress detect --group ID`).

The group hands out partitions of the input topic(s); the worker turns each assigned
partition P into a task (gress_cep.runtime.task) holding partition P of every input topic,
restores its state, and processes it. Kafka is the only coordinator:
- assignment: the group shares the partitions of the first input topic, cooperative-sticky (a
  rebalance moves only the partitions that change owner); partition P of every other input
  topic follows P, read by a second consumer of the worker's own (the topics must have the
  same partition count, checked at start: co-partitioning);
- revoke: the tasks given up are committed first, then closed; lost (the worker was
  thrown out of the group): closed without a commit — the next owner fences them anyway;
- commits: every checkpoint interval, each task with work since its last commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from gress_cep.connectors import ConnectorConfig
from gress_cep.connectors.changelog import changelog_topic, ensure_topic
from gress_cep.connectors.kafka import (
    GROUP_DEFAULTS,
    Fenced,
    client_config,
    kafka_client,
    topic_partitions,
    value_decoder,
)
from gress_cep.connectors.validation import Validator
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.runtime.job import KAFKA
from gress_cep.runtime.pipeline import PatternSummary, RoundOutput
from gress_cep.runtime.plan import Plan
from gress_cep.runtime.task import Task, TaskSetup
from gress_cep.state.backend import StateBackend

# what librdkafka raises from a rebalance or close gone wrong (KafkaError itself is raised
# there, though its stubs do not say it is an exception)
_CLIENT_ERRORS = cast("tuple[type[BaseException], ...]", (KafkaException, KafkaError, RuntimeError))


@dataclass(slots=True)
class WorkerStats:
    """What this worker did, for its summary."""

    tasks_opened: int = 0
    restores: list[tuple[int, str, int, float]] = field(default_factory=list)  # p, from, n, s
    revoked: int = 0
    lost: int = 0
    commits: int = 0
    summaries: dict[str, PatternSummary] = field(default_factory=dict)


class GroupWorker:
    def __init__(
        self,
        *,
        file: Path,
        source_text: str,
        program: ast.Program,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        config: ConnectorConfig,
        selection: dict[str, Any],
        state_dir: Path,
        interval_s: float,
        build_plan: Callable[[], Plan],
        open_backend: Callable[[Path | None], StateBackend],
        max_keys_in_memory: int,
        max_events_in_memory: int,
        note: Callable[[str], None],
    ) -> None:
        assert config.group is not None
        self.group = config.group
        self.config = config
        self.interval = interval_s
        self.note = note
        self.stopping = False
        self.stats = WorkerStats()
        self.tasks: dict[int, Task] = {}
        declared = {s.name.text: s for s in program.of_type(ast.Stream)}
        topics = _check_job(inputs, outputs)
        conf = client_config(config)
        probe: Consumer = kafka_client(Consumer, {**conf, "group.id": f"{self.group}-probe"})
        try:
            counts = {t: len(topic_partitions(probe, t, config)) for _, t in topics}
        finally:
            probe.close()
        if len(set(counts.values())) > 1:
            listed = ", ".join(f"{t} ({n})" for t, n in counts.items())
            raise UserError(
                f"the input topics of a --group job must have the same number of partitions "
                f"(co-partitioned): {listed}",
                hint="partition P of every input topic goes to the same worker; repartition "
                "the inputs into topics with equal partition counts, keyed by the partition key",
            )
        self.partitions = next(iter(counts.values()))
        changelog = changelog_topic(self.group)
        ensure_topic(config, changelog, self.partitions)
        identity = hashlib.sha256(
            repr((source_text, sorted(inputs), sorted(outputs), selection)).encode()
        ).hexdigest()[:16]
        self.setup = TaskSetup(
            group=self.group,
            config=config,
            identity=identity,
            inputs=[
                (
                    stream,
                    topic,
                    declared[stream],
                    value_decoder(
                        topic,
                        declared[stream],
                        config,
                        Validator(declared[stream]) if declared[stream].schema else None,
                    ),
                )
                for stream, topic in topics
            ],
            outputs=outputs,
            changelog=changelog,
            state_dir=state_dir,
            build_plan=build_plan,
            open_backend=open_backend,
            max_keys_in_memory=max_keys_in_memory,
            max_events_in_memory=max_events_in_memory,
            on_progress=note,
        )
        self.topics = [t for _, t in topics]
        settings = {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest" if config.from_beginning else "latest",
            "enable.partition.eof": config.stop_at_end,
            "isolation.level": "read_committed",
            **conf,
        }
        # the group shares the first topic's partitions; partition P of the other topics is
        # read by a consumer of the worker's own, assigned along with P (co-partitioning
        # whatever the assignor, and incremental rebalances for joins too)
        self.consumer: Consumer = kafka_client(
            Consumer,
            {
                **GROUP_DEFAULTS,
                "group.id": self.group,
                "partition.assignment.strategy": "cooperative-sticky",
                **settings,
            },
        )
        self.companion: Consumer | None = None
        if len(self.topics) > 1:
            self.companion = kafka_client(
                Consumer, {**settings, "group.id": f"{self.group}-companion"}
            )
        self.consumer.subscribe(
            self.topics[:1],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self.last_commit = time.monotonic()

    # ------------------------------------------------------------------ membership
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        new = [p for p in sorted({tp.partition for tp in partitions}) if p not in self.tasks]
        # the tasks kept first: opening a task reads its outputs to their end, past every open
        # transaction, and this worker's own would stay open while it waits
        self.commit_all()
        fenced = {p: Task(self.setup, p) for p in new}  # all fenced before any is opened
        for p in new:
            self._open_task(fenced[p])
        consumer.incremental_assign(
            [self._start(self.topics[0], tp.partition) for tp in partitions]
        )
        if self.companion is not None:
            others = [self._start(t, tp.partition) for tp in partitions for t in self.topics[1:]]
            self.companion.incremental_assign(others)
        finished = [tp for tp in partitions if self.tasks[tp.partition].finished]
        if finished:
            self._pause(finished)

    def _start(self, topic: str, partition: int) -> TopicPartition:
        """Where the task's input starts: its changelog's position, else the group's
        committed offset (or --from-beginning)."""
        start = self.tasks[partition].inputs[topic].next
        return (
            TopicPartition(topic, partition, start)
            if start >= 0
            else TopicPartition(topic, partition)
        )

    def _pause(self, partitions: list[TopicPartition]) -> None:
        """A finished task reads nothing more."""
        self.consumer.pause([TopicPartition(self.topics[0], tp.partition) for tp in partitions])
        if self.companion is not None:
            self.companion.pause(
                [TopicPartition(t, tp.partition) for tp in partitions for t in self.topics[1:]]
            )

    def _release(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # partitions whose assignment failed (a refused task) were never assigned
        with contextlib.suppress(*_CLIENT_ERRORS):
            consumer.incremental_unassign(partitions)
        if self.companion is not None:
            self.companion.incremental_unassign(
                [TopicPartition(t, tp.partition) for tp in partitions for t in self.topics[1:]]
            )

    def _open_task(self, task: Task) -> None:
        partition = task.partition
        began = time.monotonic()
        task.open()
        seconds = time.monotonic() - began
        self.tasks[partition] = task
        self.stats.tasks_opened += 1
        applied = task.read.applied
        self.stats.restores.append((partition, task.restored_from, applied, seconds))
        self.note(
            f"partition {partition}: restored from {task.restored_from} "
            f"({applied:,} changelog records applied, {seconds:.2f} s)"
            + (" — finished earlier" if task.finished else "")
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for p in sorted({tp.partition for tp in partitions}):
            task = self.tasks.pop(p, None)
            if task is None:
                continue
            try:
                self._commit(task)
            except Fenced:
                self.stats.lost += 1
            self._keep_summary(task)
            task.close()
            self.stats.revoked += 1
        self._release(consumer, partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for p in sorted({tp.partition for tp in partitions}):
            task = self.tasks.pop(p, None)
            if task is not None:
                self._keep_summary(task)
                task.close()
                self.stats.lost += 1
        self._release(consumer, partitions)

    def _keep_summary(self, task: Task) -> None:
        for row in task.pipeline.summary():
            total = self.stats.summaries.get(row.name)
            if total is None:
                self.stats.summaries[row.name] = row
            else:
                for name in ("records_in", "matches", "late", "dead_letters", "filtered"):
                    setattr(total, name, getattr(total, name) + getattr(row, name))

    # ------------------------------------------------------------------ running
    def rounds(self) -> Iterator[list[RoundOutput]]:
        """Run until stopped (or, with --stop-at-end, until every task it owns finished);
        yields each loop's outputs (already written)."""
        while not self.stopping:
            try:
                messages = self.consumer.consume(1000, 0.1)
                if self.companion is not None and self.tasks:
                    messages += self.companion.consume(1000, 0.01)
            except KafkaException as err:
                raise UserError(f"kafka: {err.args[0].str()}") from None
            self._route(messages)
            outputs: list[RoundOutput] = []
            for p, task in list(self.tasks.items()):
                try:
                    outputs += task.run()
                    if task.finished and task.dirty:
                        self._commit(task)
                except Fenced:
                    self._drop(p)
            if time.monotonic() - self.last_commit >= self.interval:
                self.commit_all()
            yield outputs
            tasks = self.tasks.values()
            if self.config.stop_at_end and tasks and all(t.finished for t in tasks):
                break

    def _route(self, messages: list[Message]) -> None:
        runs: dict[tuple[str, int], list[Message]] = {}
        for message in messages:
            error = message.error()
            topic, partition = message.topic(), message.partition()
            assert topic is not None and partition is not None
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    task = self.tasks.get(partition)
                    if task is not None and self.config.stop_at_end:
                        task.end_input(topic)
                    continue
                if error.fatal():
                    raise UserError(f"kafka:{topic}: {error.str()}")
                continue
            runs.setdefault((topic, partition), []).append(message)
        for (topic, partition), run in runs.items():
            task = self.tasks.get(partition)
            if task is not None:  # not revoked in the meantime
                task.add(topic, run)

    def _commit(self, task: Task) -> None:
        offsets = task.commit()
        if offsets:
            self.stats.commits += 1
            # for lag monitoring only (see Task.commit); a rebalance may refuse it
            with contextlib.suppress(KafkaException):
                self.consumer.commit(offsets=offsets, asynchronous=True)

    def _drop(self, partition: int) -> None:
        """A task whose transaction was fenced: another worker owns it now."""
        task = self.tasks.pop(partition)
        self._keep_summary(task)
        task.close()
        self.stats.lost += 1
        self.note(f"partition {partition}: taken over by another worker (fenced)")

    def commit_all(self) -> None:
        for p, task in list(self.tasks.items()):
            try:
                self._commit(task)
            except Fenced:
                self._drop(p)
        self.last_commit = time.monotonic()

    def stop(self) -> None:
        self.stopping = True

    def close(self) -> None:
        """Commit every task, leave the group, give the tasks up."""
        self.commit_all()
        offsets = [tp for task in self.tasks.values() for tp in task.offsets()]
        if offsets:  # the group's offsets as they end (lag tools), before leaving it
            with contextlib.suppress(KafkaException):
                self.consumer.commit(offsets=offsets, asynchronous=False)
        # leaves the group, revoking what it owns (_on_revoke); after an error in a rebalance
        # callback the consumer may refuse: its partitions then move by the session timeout
        with contextlib.suppress(*_CLIENT_ERRORS):
            self.consumer.close()
        if self.companion is not None:
            with contextlib.suppress(*_CLIENT_ERRORS):
                self.companion.close()
        for task in self.tasks.values():  # not revoked (the group was already gone)
            self._keep_summary(task)
            task.close()
        self.tasks.clear()


def _check_job(
    inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(stream, topic) of each input; refuses what a group cannot run exactly once."""
    topics: list[tuple[str, str]] = []
    for stream, spec in inputs:
        if not spec.startswith(KAFKA):
            raise UserError(
                f"--group reads Kafka topics only, not {spec}",
                hint="workers of a group share the partitions of Kafka topics; run a file "
                "input without --group",
            )
        topic = spec[len(KAFKA) :]
        if any(t == topic for _, t in topics):
            raise UserError(f"kafka:{topic} is given twice as an input")
        topics.append((stream, topic))
    for role, spec in outputs:
        if not spec.startswith(KAFKA) and spec != "-":
            raise UserError(
                f"with --group, the {role} output must be a Kafka topic (kafka:TOPIC), not {spec}",
                hint="workers on several machines cannot share a file, and only a Kafka "
                "output commits together with the state and the offsets (exactly once)",
            )
    return topics
