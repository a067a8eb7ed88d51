"""The checkpoint protocol: what a checkpoint is made of, in which order, and how a job resumes.

docs/operations.md explains the guarantees; the steps below are numbered the same way.

A checkpoint is taken between two rounds of the pipeline, when nothing is in flight:
  1. flush the outputs, so everything emitted so far is durable (files: written and fsynced;
     their lengths are the sink positions);
  2. write every operator's state (keyed state: only what changed) in one atomic batch;
  3. record the positions — where each input stands, how long each output is — and make the
     checkpoint durable (the backend's snapshot; its metadata document is written last);
  4. commit: tell the inputs their positions are safe (Kafka: commit the offsets, or the
     transaction that holds the outputs and the offsets) and drop checkpoints no longer needed.
A crash before step 3 completes leaves the previous checkpoint as the newest: the job resumes
there, truncates its output files to that checkpoint's lengths and reads its inputs again from
that checkpoint's positions, producing exactly the same records again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from gress_cep.errors import UserError
from gress_cep.runtime.faults import fault_point
from gress_cep.state.backend import CheckpointInfo, StateBackend, WriteBatch


class Checkpointable(Protocol):
    """The running job, as the coordinator sees it."""

    run_id: str  # one run and the runs that resume it share it

    def flush_outputs(self) -> dict[str, dict[str, Any]]:
        """Make every output durable; return where each ends (its position)."""
        ...

    def snapshot_into(self, batch: WriteBatch) -> None: ...

    def source_positions(self) -> dict[str, dict[str, Any]]: ...

    def commit(self, info: CheckpointInfo) -> None:
        """The checkpoint is durable: commit the inputs' offsets / the output transaction."""
        ...


@dataclass(slots=True)
class Resume:
    """What a starting job takes over from the newest checkpoint."""

    checkpoint: CheckpointInfo
    source_positions: dict[str, dict[str, Any]]
    sink_positions: dict[str, dict[str, Any]]


@dataclass(slots=True)
class CheckpointStats:
    taken: int = 0
    last_duration_s: float = 0.0
    durations: list[float] = field(default_factory=list)


class CheckpointCoordinator:
    def __init__(
        self,
        backend: StateBackend,
        job: Checkpointable,
        identity: dict[str, Any],
        interval_s: float | None,
        first_id: int = 1,
    ) -> None:
        self.backend = backend
        self.job = job
        self.identity = identity
        self.interval = interval_s
        self.next_id = first_id
        self.last = time.monotonic()
        self.stats = CheckpointStats()

    def due(self) -> bool:
        return self.interval is not None and time.monotonic() - self.last >= self.interval

    def checkpoint(self, *, finished: bool = False) -> CheckpointInfo:
        started = time.monotonic()
        # 1. flush the outputs
        sink_positions = self.job.flush_outputs()
        fault_point("checkpoint-1")
        # 2. write the operators' state
        batch = WriteBatch()
        self.job.snapshot_into(batch)
        self.backend.write(batch)
        fault_point("checkpoint-2")
        # 3. record the positions and make the checkpoint durable
        positions = self.job.source_positions()
        metadata = {
            "job": self.identity,
            "run": self.job.run_id,
            "positions": positions,
            "sinks": sink_positions,
            "finished": finished,
        }
        fingerprints = getattr(self.job, "input_fingerprints", None)
        if fingerprints is not None:  # what a resumed run checks its file inputs against
            metadata["inputs"] = fingerprints(positions)
        info = self.backend.checkpoint(self.next_id, metadata)
        fault_point("checkpoint-3")
        # 4. commit; keep the one before too: a restart picks it when this commit is lost
        self.job.commit(info)
        fault_point("checkpoint-4")
        self.backend.discard_older_than(info.checkpoint_id - 1)
        self.next_id = info.checkpoint_id + 1
        self.last = time.monotonic()
        duration = self.last - started
        self.stats.taken += 1
        self.stats.last_duration_s = duration
        self.stats.durations.append(duration)
        return info


def resume(
    backend: StateBackend, identity: dict[str, Any], checkpoint_id: int | None = None
) -> tuple[Resume | None, int]:
    """Restore a checkpoint of an unfinished run of this job: `checkpoint_id` (the one whose
    Kafka transaction committed), else the newest.

    Returns (what to resume, the next checkpoint id). A run that finished leaves nothing to
    resume: the next run starts afresh. A checkpoint of another job is an error, not a guess.
    """
    existing = backend.checkpoints()
    next_id = existing[-1].checkpoint_id + 1 if existing else 1  # ids are never reused
    info = backend.restore(checkpoint_id)
    if info is None:
        return None, next_id
    stored = info.metadata.get("job")
    if stored != identity:
        raise UserError(
            f"the state directory holds an unfinished run of another job ({_describe(stored)})",
            hint="use another --state-dir, or --fresh to discard that run's state",
        )
    if info.metadata.get("finished"):
        backend.clear()  # a finished run is not continued: the next one starts afresh
        return None, next_id
    return Resume(info, info.metadata["positions"], info.metadata["sinks"]), next_id


def start_afresh(backend: StateBackend, after: int | None = None) -> int:
    """An empty live state (whatever a crashed run left in it) and the next checkpoint id:
    after every checkpoint of the directory, and after `after` (a Kafka output's committed
    checkpoint, which may come from a run in another directory)."""
    existing = backend.checkpoints()
    backend.clear()
    last = existing[-1].checkpoint_id if existing else 0
    return max(last, after or 0) + 1


def _describe(identity: Any) -> str:
    if isinstance(identity, dict) and "file" in identity:
        return f"{identity['file']} with inputs {', '.join(identity.get('inputs', []))}"
    return "unknown"
