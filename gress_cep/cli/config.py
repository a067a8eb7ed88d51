"""gress.toml: settings for `gress detect` that would otherwise be typed as flags.

Precedence is flags > environment (GRESS_*) > this file > defaults; click gives exactly that
when the file becomes the command's `default_map`. Keys are the long flag names with dashes or
underscores: `bootstrap-servers = "..."`, `kafka-config = ["security.protocol=SSL"]`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click

from gress_cep.errors import UserError


def load_config_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is None:
        return
    try:
        data = tomllib.loads(value.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read config file {value}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{value}: not valid TOML: {exc}") from None
    # the command's own [section] when there is one, else the top level
    section = data.get(ctx.info_name) if ctx.info_name is not None else None
    if not isinstance(section, dict):
        section = data
    # a setting is named like its long flag: `pattern` for --pattern (parameter `patterns`)
    known: dict[str, str] = {}
    for p in ctx.command.params:
        for opt in getattr(p, "opts", []):
            if opt.startswith("--") and p.name:
                known[opt[2:].replace("-", "_")] = p.name
    defaults: dict[str, Any] = {}
    for key, setting in section.items():
        if isinstance(setting, dict):
            continue  # another command's section
        flag = key.replace("-", "_")
        name = known.get(flag)
        if name is None or name == "config_file":
            raise UserError(
                f"{value}: unknown setting '{key}'",
                hint="settings are the long option names of `gress detect --help`",
            )
        defaults[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
