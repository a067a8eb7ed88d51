"""The `gress` command: a click group whose commands live one per module in this package.

User mistakes (a bad pattern file, a missing input, an unreachable broker) are `GressError` or
`click.ClickException`: one clear message and exit status 1. Anything else is a bug; it is
shown as a short message too, and `--debug` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

import click

from gress_cep.errors import GressError


def _version() -> str:
    try:
        return version("gress")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


# one module per command, each exposing `command`; imported only when its command runs (or
# for --help), so that `gress check` does not pay for onnxruntime and numpy
COMMANDS = {
    "check": "check",
    "explain": "explain",
    "detect": "detect",
    "score": "score",
    "checkpoints": "checkpoints",
    "savepoint": "savepoint",
    "test": "testing",
    "diff": "diff",
}


# commands whose stdout is only a line saying that it worked: -q silences it too
STATUS_ONLY = {"savepoint"}


def with_quiet(command: click.Command, *, status_only: bool = False) -> click.Command:
    """`command` with `-q, --quiet` (only errors: nothing else on stderr — nor on stdout for a
    `status_only` command), for the commands that have no -q of their own; what a command was
    asked for (a plan, a list) still goes to stdout. Errors are printed by GressGroup.invoke
    after the streams are back."""
    if any("-q" in getattr(param, "opts", ()) for param in command.params):
        return command
    command.params.append(
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_silence_stdout_too if status_only else _silence_stderr,
            help="Print only errors: no warnings or notes.",
        )
    )
    return command


def _silence_stderr(ctx: click.Context, param: click.Parameter, quiet: bool) -> None:
    if quiet:
        _silence(ctx, stdout=False)


def _silence_stdout_too(ctx: click.Context, param: click.Parameter, quiet: bool) -> None:
    if quiet:
        _silence(ctx, stdout=True)


def _silence(ctx: click.Context, *, stdout: bool) -> None:
    saved = sys.stderr, sys.stdout
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed when the command's context ends
    sys.stderr = devnull
    if stdout:
        sys.stdout = devnull

    def restore() -> None:
        sys.stderr, sys.stdout = saved
        devnull.close()

    ctx.call_on_close(restore)


class GressGroup(click.Group):
    """Turns user errors into one readable message and exit status 1; loads commands lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command: click.Command = import_module(f"gress_cep.cli.{module}").command
        return with_quiet(command, status_only=cmd_name in STATUS_ONLY)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GressError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(err.render(), err=True)
            ctx.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            ctx.exit(130)
        except BrokenPipeError:
            # the reader went away (`gress detect ... | head`): stop quietly, like other tools
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"gress: internal error: {type(exc).__name__}: {exc}\n"
                "    (run again with --debug for the traceback, and please report it)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=GressGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="gress")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """gress: complex event processing and in-stream ML scoring.

    \b
    Write patterns in a .gress file, then:
      gress check rules.gress                      find mistakes before running
      gress explain rules.gress                    see the compiled automaton
      gress detect rules.gress -i events.jsonl     run it and print the matches

    \b
    Shell completion (bash; zsh_source and fish_source likewise):
      eval "$(_GRESS_COMPLETE=bash_source gress)"
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    cli(prog_name="gress")


if __name__ == "__main__":
    main()  # click exits with the command's status itself
