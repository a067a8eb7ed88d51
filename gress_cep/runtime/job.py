"""A `gress detect` job: its inputs, outputs, state and checkpoints, wired around a Pipeline.

The job resumes an unfinished earlier run of itself from the state directory (its newest
checkpoint, or the one whose Kafka transaction committed), takes checkpoints while it runs, and a
last one when it stops or finishes (see gress_cep.state.coordinator for the protocol).
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gress_cep.connectors import ConnectorConfig, open_sink, open_source
from gress_cep.connectors.base import DeadLetter, Sink, Source
from gress_cep.dsl import ast
from gress_cep.errors import UserError
from gress_cep.runtime.faults import fault_point
from gress_cep.runtime.pipeline import Pipeline, RoundOutput
from gress_cep.runtime.plan import Plan
from gress_cep.state.backend import CheckpointInfo, StateBackend, WriteBatch
from gress_cep.state.coordinator import CheckpointCoordinator, Resume, resume, start_afresh

Record = dict[str, Any]
KAFKA = "kafka:"
OPTION_OF_ROLE = {
    "matches": "-o",
    "dead-letter": "--dead-letter",
    "late": "--late",
    "timeouts": "--timeouts",
}


@dataclass(slots=True)
class Outputs:
    """Where each kind of output goes ('-' for matches: stdout)."""

    matches: str = "-"
    dead_letter: str | None = None
    late: str | None = None
    timeouts: str | None = None

    def items(self) -> list[tuple[str, str]]:
        roles = [("matches", self.matches), ("dead-letter", self.dead_letter), ("late", self.late)]
        roles.append(("timeouts", self.timeouts))
        return [(role, spec) for role, spec in roles if spec is not None]


@dataclass(slots=True)
class JobSpec:
    file: Path
    inputs: list[tuple[str, str]]  # (stream, source spec)
    outputs: Outputs
    config: ConnectorConfig
    patterns: list[str] | None = None
    views: list[str] | None = None  # views whose records are written (--view)
    state_dir: Path | None = None  # None: ./.gress/state/<job id>
    checkpoint_interval_s: float | None = 10.0  # None: no state, no checkpoints
    max_keys_in_memory: int = 100_000  # per pattern; beyond, keyed state spills to disk
    # per pattern: events waiting for the watermark kept in memory; beyond, they wait on disk
    max_events_in_memory: int = 100_000
    fresh: bool = False  # ignore the state of an unfinished earlier run
    # drop the restored state of operators this job does not have, instead of refusing it
    allow_non_restored_state: bool = False
    from_savepoint: Path | None = None
    terminal_output: bool = False  # matches go to a live table, not a sink

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same job (and a checkpoint reusable)."""
        return {
            "file": str(self.file.resolve()),
            "inputs": [f"{stream}={spec}" for stream, spec in self.inputs],
            "outputs": {role: spec for role, spec in self.outputs.items()},
            "patterns": sorted(self.patterns) if self.patterns else None,
            **({"views": sorted(self.views)} if self.views else {}),
        }

    def job_id(self) -> str:
        text = repr(sorted(self.identity().items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def transaction_id(self) -> str:
        """Whose Kafka transaction this run continues: the job's, and with --group the
        worker's (its state directory) — workers of one group must each have their own, or
        every one that starts fences the others. A restarted worker fences its own zombie."""
        if self.config.group is None:
            return self.job_id()
        worker = str(self.resolved_state_dir().resolve())
        return f"{self.job_id()}-{hashlib.sha256(worker.encode()).hexdigest()[:8]}"

    def resolved_state_dir(self) -> Path:
        """--state-dir, else a folder of its own per job under GRESS_STATE_ROOT
        (default ./.gress/state), so that different jobs never share state."""
        if self.state_dir is not None:
            return self.state_dir
        root = Path(os.environ.get("GRESS_STATE_ROOT", ".gress/state"))
        return root / self.job_id()


def check_files(spec: JobSpec, program: ast.Program) -> None:
    """Refuse, before anything is opened, outputs that would destroy what the job reads or
    each other: an output file that is an input (or the pattern file, or a model file) —
    opening it truncates it —, two outputs on one file, an output topic that is an input
    topic (the job would read its own output). Files are compared as the system knows them
    (device and inode: `./x`, symlinks and hard links are the same file), or by their resolved
    path when they do not exist yet. `-` (stdio) and non-regular files (/dev/null) are exempt."""
    protected: list[tuple[str, str]] = [(f"the input {src}", src) for _, src in spec.inputs]
    protected.append((f"the pattern file {spec.file}", str(spec.file)))
    for model in program.of_type(ast.Model):
        for variant in (*model.variants, *model.shadows):
            path = spec.file.parent / variant.path
            protected.append((f"the model file {variant.path}", str(path)))
    read: dict[Any, tuple[str, str]] = {}
    topics: dict[str, str] = {}
    for what, src in protected:
        if src.startswith(KAFKA):
            topics.setdefault(src[len(KAFKA) :], what)
            continue
        identity = _file_identity(src)
        if identity is not None:
            read.setdefault(identity, (what, src))
    written: dict[Any, str] = {}
    for role, out in spec.outputs.items():
        option = f"{OPTION_OF_ROLE[role]} {out}"
        if out.startswith(KAFKA):
            topic = out[len(KAFKA) :]
            if topic in topics:
                raise UserError(
                    f"{option} is also an input ({topics[topic]}): the job would read its own "
                    "output",
                    hint="write to another topic",
                )
            continue
        identity = _file_identity(out)
        if identity is None:
            continue
        if identity in read:
            what, src = read[identity]
            alias = (
                "" if os.path.normpath(out) == os.path.normpath(src) else " (another name for it)"
            )
            raise UserError(
                f"{option} is {what}{alias}: writing it would destroy it",
                hint="write the output to another file",
            )
        if identity in written:
            raise UserError(
                f"{option} is the same file as {written[identity]}: two outputs would "
                "overwrite each other",
                hint="give each output a file of its own",
            )
        written[identity] = option


def _file_identity(path: str) -> Any:
    """What makes two paths the same file: (device, inode) of an existing regular file, the
    resolved path of one that does not exist yet; None for stdio and for what is not a
    regular file (/dev/null, a pipe), which any number of outputs may share."""
    if path == "-":
        return None
    try:
        info = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        return ("path", os.path.realpath(path))
    except OSError:
        return None  # cannot be opened either: opening it reports why
    if not stat.S_ISREG(info.st_mode):
        return None
    return ("inode", info.st_dev, info.st_ino)


_CHUNK = 1024  # bytes of each sample of a fingerprint
_SAMPLES = 8  # samples between the first and the last


def file_fingerprint(path: str, position: dict[str, Any]) -> dict[str, Any] | None:
    """A file input as a checkpoint knows it: how many bytes of it were read (`bytes`: its
    byte offset, the start of an Avro block, or its size for a JSON array, which is read
    whole), a SHA-256 of samples of those bytes (the first KiB, the KiB before the offset and
    KiBs evenly between them), and as hints its size, inode and mtime. Only the bytes read
    are covered, so a file that grew at its end still matches."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # nothing to read a sample of without consuming it
    upto = position.get("offset", position.get("block"))
    upto = info.st_size if not isinstance(upto, int) else min(upto, info.st_size)
    digest = _prefix_digest(path, upto)
    if digest is None:
        return None
    return {
        "bytes": upto,
        "sha256": digest,
        "size": info.st_size,
        "inode": info.st_ino,
        "mtime_ns": info.st_mtime_ns,
    }


def fingerprint_mismatch(path: str, stored: dict[str, Any]) -> str | None:
    """Why `path` is not the file `stored` describes (None when it is)."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # opening it says why it cannot be read
    if not stat.S_ISREG(info.st_mode):
        return None
    read = int(stored["bytes"])
    moved = " (another file now: its inode changed)" if info.st_ino != stored.get("inode") else ""
    if info.st_size < read:
        return f"it has {info.st_size:,} bytes now{moved}: it was cut short or replaced"
    if _prefix_digest(path, read) != stored["sha256"]:
        return (
            f"its first {read:,} bytes are not the same any more{moved}: it was replaced or "
            "rewritten"
        )
    return None


def _prefix_digest(path: str, upto: int) -> str | None:
    digest = hashlib.sha256(upto.to_bytes(8, "big"))
    starts = {0, max(0, upto - _CHUNK)}
    starts |= {upto * i // (_SAMPLES + 1) for i in range(1, _SAMPLES + 1)}
    try:
        with open(path, "rb") as fh:
            for start in sorted(starts):
                fh.seek(start)
                digest.update(fh.read(min(_CHUNK, upto - start)))
    except OSError:
        return None
    return digest.hexdigest()


class Sinks:
    """The outputs of a run, by role; what has no sink is counted and reported."""

    def __init__(self, sinks: dict[str, Sink]) -> None:
        self.by_role = sinks
        self.dead_samples: list[DeadLetter] = []
        self.unsaved = {"dead letters": 0, "late records": 0, "timeouts": 0}

    def write(self, out: RoundOutput) -> None:
        matches = self.by_role.get("matches")
        if out.matches and matches is not None:
            matches.write(out.matches)
        self._side("timeouts", out.timeouts, "timeouts")
        self._side("late", out.late, "late records")
        if out.dead_letters:
            dead = self.by_role.get("dead-letter")
            if dead is not None:
                dead.write([d.to_record() for d in out.dead_letters])
            else:
                self.unsaved["dead letters"] += len(out.dead_letters)
                room = 5 - len(self.dead_samples)
                if room > 0:
                    self.dead_samples.extend(out.dead_letters[:room])

    def _side(self, role: str, records: list[Record], what: str) -> None:
        if not records:
            return
        sink = self.by_role.get(role)
        if sink is not None:
            sink.write(records)
        else:
            self.unsaved[what] += len(records)

    def all(self) -> list[Sink]:
        return list(self.by_role.values())


class Job:
    def __init__(
        self,
        spec: JobSpec,
        program: ast.Program,
        plan: Plan,
        open_backend: Callable[[Path | None], StateBackend],
    ) -> None:
        check_files(spec, program)  # before anything is opened (an output truncates)
        self.spec = spec
        self.identity = spec.identity()
        self.notes: list[str] = []
        self.resumed: CheckpointInfo | None = None
        self.from_savepoint = False
        declared = {s.name.text: s for s in program.of_type(ast.Stream)}
        # checkpoints need inputs that can be read again from a position (not stdin)
        self.stateful = spec.checkpoint_interval_s is not None and all(
            spec_ != "-" for _, spec_ in spec.inputs
        )
        self.backend: StateBackend = open_backend(
            spec.resolved_state_dir() if self.stateful else None
        )
        self.transaction = self._transaction()
        found = self._resume()
        self.run_id = (found.checkpoint.metadata.get("run") if found else None) or uuid.uuid4().hex
        self.sources = self._open_inputs(declared, found)
        self.pipeline = Pipeline(
            plan,
            self.sources,
            backend=self.backend if self.stateful else None,
            max_keys_in_memory=spec.max_keys_in_memory,
        )
        self.pipeline.registry.max_events_in_memory = spec.max_events_in_memory
        changes: list[str] = []
        if found is not None:
            registry = self.pipeline.registry
            registry.allow_non_restored = spec.allow_non_restored_state
            if self.from_savepoint:
                registry.restored_from = f"the savepoint {spec.from_savepoint}"
                registry.fresh_hint = False
            else:
                registry.restored_from = f"checkpoint {found.checkpoint.checkpoint_id}"
            changes = self.pipeline.restore_from(self.backend)
            changes += self._account_new_patterns()
        # the outputs last: opening one truncates it (to the checkpoint's length, or to nothing
        # from a savepoint), which a refused restore must not have done
        self.sinks = self._open_outputs(found)
        if found is not None:
            self.resumed = found.checkpoint
            self.notes.append(
                f"resumed from checkpoint {found.checkpoint.checkpoint_id} of an unfinished run"
            )
            self.notes.extend(changes)
            fault_point("restore")
        self.coordinator = CheckpointCoordinator(
            self.backend,
            self,
            self.identity,
            spec.checkpoint_interval_s if self.stateful else None,
            first_id=self._next_id,
        )
        if self.from_savepoint:
            # from now on this job's own checkpoint is what a restart continues from
            self.coordinator.checkpoint()

    # ------------------------------------------------------------------ setting up
    def _account_new_patterns(self) -> list[str]:
        """A pattern new since the checkpoint starts at the restored input positions: the
        records its stream read before never reach it. They are counted as dropped, so that
        its summary adds up (records in = processed + late + dead-letter + filtered + ...)."""
        new = self.pipeline.registry.new_operators
        notes = []
        for row in self.pipeline.summary():
            operator = self.pipeline.plan.patterns[row.name].operator
            if operator.name not in new or row.aggregated is not None:
                continue
            before = (
                row.records_in - row.used - row.late - row.dead_letters - row.filtered
                - row.held - row.dropped
            )  # fmt: skip
            if before > 0:
                operator.counters.dropped += before
                notes.append(
                    f"pattern {row.name} is new since that checkpoint: it reads from the "
                    f"checkpoint's positions on ({before:,} records read before are not "
                    "matched)"
                )
        return notes

    def _transaction(self) -> Any:
        kafka_outputs = [spec for _, spec in self.spec.outputs.items() if spec.startswith(KAFKA)]
        if not kafka_outputs or not self.stateful:
            return None
        from gress_cep.connectors.kafka import KafkaTransaction

        marker_topic = kafka_outputs[0][len(KAFKA) :]
        return KafkaTransaction(self.spec.config, self.spec.transaction_id(), marker_topic)

    def _resume(self) -> Resume | None:
        self._next_id = 1
        if not self.stateful:
            return None
        # Kafka outputs: the newest checkpoint whose transaction committed, in any state
        # directory this job ran in; new checkpoint ids continue after it, so that it never
        # names a checkpoint of this directory that did not commit
        committed = self.transaction.committed_checkpoint() if self.transaction else None
        if self.spec.from_savepoint is not None:
            self._next_id = start_afresh(self.backend, after=committed)
            info = self.backend.restore_savepoint(self.spec.from_savepoint)
            self.from_savepoint = True
            self.notes.append(f"started from the savepoint {self.spec.from_savepoint}")
            # the savepoint's state and input positions; this job's outputs start afresh
            return Resume(info, info.metadata.get("positions", {}), {})
        if self.spec.fresh:
            self._next_id = start_afresh(self.backend, after=committed)
            return None
        if self.transaction is not None:
            ids = [info.checkpoint_id for info in self.backend.checkpoints()]
            if committed is None or min(ids, default=committed + 1) > committed:
                # no transaction of a run in this directory ever committed (a new directory,
                # or a run killed before its first commit): nothing here to resume
                self._next_id = start_afresh(self.backend, after=committed)
                return None
        found, self._next_id = resume(self.backend, self.identity, committed)
        return found

    def _open_inputs(
        self, declared: dict[str, ast.Stream], found: Resume | None
    ) -> dict[str, list[Source]]:
        out: dict[str, list[Source]] = {}
        self._inputs: list[tuple[str, Source]] = []  # (position key, source)
        self._files: dict[str, str] = {}  # position key -> path, for the file inputs
        stored = found.checkpoint.metadata.get("inputs", {}) if found else {}
        for stream, spec in self.spec.inputs:
            key = f"{stream}={spec}"
            start = found.source_positions.get(key) if found else None
            if spec != "-" and not spec.startswith(KAFKA):
                self._files[key] = spec
                if start is not None and key in stored:
                    self._same_file(spec, stored[key], found)
            source = open_source(spec, declared[stream], self.spec.config, start=start)
            out.setdefault(stream, []).append(source)
            self._inputs.append((key, source))
        return out

    def _open_outputs(self, found: Resume | None) -> Sinks:
        sinks: dict[str, Sink] = {}
        for role, spec in self.spec.outputs.items():
            if role == "matches" and self.spec.terminal_output:
                continue  # a live table, not a sink
            position = found.sink_positions.get(f"{role}={spec}") if found else None
            sinks[role] = open_sink(
                spec,
                self.spec.config,
                role=role,
                resume=position,
                transaction=self.transaction,
                run_id=self.run_id if self.stateful else None,
            )
        return Sinks(sinks)

    # ------------------------------------------------------------------ running
    def rounds(self) -> Iterator[RoundOutput]:
        """Run; yields each round's output after writing it. Checkpoints as they fall due."""
        for out in self.pipeline.rounds():
            self.sinks.write(out)
            yield out
            if self.coordinator.due() and not self.pipeline.finishing:
                self.coordinator.checkpoint()
        if self.stateful:
            # the last checkpoint: a finished run is not resumed; a stopped one is
            self.coordinator.checkpoint(finished=self.pipeline.completed)
        else:
            for sink in self.sinks.all():
                sink.flush()

    def stop(self) -> None:
        self.pipeline.stop()

    def close(self) -> None:
        for sink in self.sinks.all():
            sink.close()
        if self.transaction is not None:
            self.transaction.close()
        self.pipeline.close()
        self.backend.close()

    # ------------------------------------------------------------------ Checkpointable
    def snapshot_into(self, batch: WriteBatch) -> None:
        self.pipeline.snapshot_into(batch)

    def flush_outputs(self) -> dict[str, dict[str, Any]]:
        out = {}
        for role, spec in self.spec.outputs.items():
            sink = self.sinks.by_role.get(role)
            if sink is None:
                continue
            out[f"{role}={spec}"] = sink.prepare()
        return out

    def source_positions(self) -> dict[str, dict[str, Any]]:
        return {key: source.position() for key, source in self._inputs}

    def input_fingerprints(self, positions: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """What a resumed run checks its file inputs against (see file_fingerprint)."""
        out = {}
        for key, path in self._files.items():
            fingerprint = file_fingerprint(path, positions[key])
            if fingerprint is not None:
                out[key] = fingerprint
        return out

    def _same_file(self, path: str, stored: dict[str, Any], found: Resume | None) -> None:
        """Refuse to resume reading a file input at a checkpoint's position when the file is
        not the one read up to there (replaced, rewritten, cut short); one that only grew is
        the same file with more to read."""
        problem = fingerprint_mismatch(path, stored)
        if problem is None:
            return
        assert found is not None
        where = (
            f"the savepoint {self.spec.from_savepoint}"
            if self.from_savepoint
            else f"checkpoint {found.checkpoint.checkpoint_id}"
        )
        raise UserError(
            f"input {path} is not the file {where} read {stored['bytes']:,} bytes of: {problem}",
            hint=(
                "put the original file back, or start without --from-savepoint"
                if self.from_savepoint
                else "put the original file back, or start afresh with --fresh "
                "(a file that only grew at its end is fine)"
            ),
        )

    def commit(self, info: CheckpointInfo) -> None:
        positions = info.metadata["positions"]
        if self.transaction is not None:
            self.transaction.commit(info.checkpoint_id, positions)
        for sink in self.sinks.all():
            sink.commit(info.checkpoint_id)
        # the transaction commits the offsets under the job's own group; the inputs of a
        # --group commit them to that group as well, where a partition's next owner reads them
        for key, source in self._inputs:
            source.commit(positions[key])
