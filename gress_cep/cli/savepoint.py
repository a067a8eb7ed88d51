"""`gress savepoint DIR --to PATH`: a portable copy of a checkpoint, for upgrades and moves.

It reads a complete checkpoint read-only (no lock), so it can run beside the job that owns DIR.
"""

from __future__ import annotations

from pathlib import Path

import click

from gress_cep.cli.checkpoints import format_size
from gress_cep.errors import UserError
from gress_cep.state.rocksdb import savepoint_from_checkpoint
from gress_cep.state.state_dir import StateDir


@click.command("savepoint")
@click.argument("state_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write (must not exist, or be empty).",
)
@click.option(
    "--checkpoint",
    "checkpoint_id",
    type=int,
    default=None,
    help="Checkpoint id (default: the newest complete one).",
)
def command(state_dir: Path, target: Path, checkpoint_id: int | None) -> None:
    """Write a checkpoint of the state directory DIR as a self-contained savepoint folder:
    plain record files with checksums and a manifest, independent of DIR and of RocksDB.
    Start a job from it with `gress detect ... --from-savepoint PATH`.

    \b
    Example:
      gress savepoint .gress/state/3f2a9c1e7b40 --to savepoints/before-upgrade
      gress savepoint /var/lib/gress --to sp7 --checkpoint 7
    """
    folder = StateDir(state_dir)
    folder.require()
    info = folder.find_checkpoint(checkpoint_id)
    try:
        summary = savepoint_from_checkpoint(
            folder.checkpoint_path(info.checkpoint_id), info, target
        )
    except UserError:
        raise
    except Exception:
        if folder.checkpoint_info(info.checkpoint_id) is None:  # the job discarded it meanwhile
            raise UserError(
                f"checkpoint {info.checkpoint_id} was discarded while it was being read",
                hint="run the command again: it takes the newest checkpoint",
            ) from None
        raise
    click.echo(
        f"savepoint of checkpoint {info.checkpoint_id} written to {target}: "
        f"{summary.tables} table{'' if summary.tables == 1 else 's'}, "
        f"{summary.entries:,} entries, {format_size(summary.size_bytes)}"
    )
