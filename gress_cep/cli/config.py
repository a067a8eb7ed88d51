"""gress.toml: settings for `gress detect` that would otherwise be typed as flags.

Precedence is flags > environment (GRESS_*) > this file > defaults; click gives exactly that
when the file becomes the command's `default_map`. Keys are the long flag names with dashes or
underscores: `bootstrap-servers = "..."`, `kafka-config = ["security.protocol=SSL"]`, at the top
level or under `[detect]`. Anything else is an error with the closest name: an unknown key, an
unknown section (`[detct]`), a table inside `[detect]`, a key set in both places.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click

from gress_cep.dsl.errors import did_you_mean
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
    settings = _settings(value, data, ctx.info_name or "detect")
    # a setting is named like its long flag: `pattern` for --pattern (parameter `patterns`)
    known: dict[str, str] = {}
    for p in ctx.command.params:
        for opt in getattr(p, "opts", []):
            if opt.startswith("--") and p.name and p.name != "config_file":
                known[opt[2:].replace("-", "_")] = p.name
    defaults: dict[str, Any] = {}
    for key, (where, setting) in settings.items():
        name = known.get(key.replace("-", "_"))
        if name is None:
            spelled = {flag.replace("_", "-") for flag in known}
            suggestion = did_you_mean(key.replace("_", "-"), spelled) or ""
            raise UserError(
                f"{value}: unknown setting '{key}'{where}{suggestion}",
                hint="settings are the long option names of `gress detect --help`",
            )
        defaults[name] = setting
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def _settings(path: Path, data: dict[str, Any], command: str) -> dict[str, tuple[str, Any]]:
    """The settings of the file: those at the top level and those of the command's own
    [section], each with where it was (for messages). Any other table is an error: TOML
    tables are sections, and the only section is the command's."""
    out: dict[str, tuple[str, Any]] = {}
    for key, setting in data.items():
        if isinstance(setting, dict):
            if key != command:
                suggestion = did_you_mean(key, [command]) or ""
                raise UserError(
                    f"{path}: unknown section [{key}]{suggestion}",
                    hint=f"settings go under [{command}] or at the top level",
                )
            continue
        out[key] = ("", setting)
    section = data.get(command)
    for key, setting in (section if isinstance(section, dict) else {}).items():
        if isinstance(setting, dict):
            raise UserError(
                f"{path}: unknown section [{command}.{key}]",
                hint=f"[{command}] holds settings (`name = value`), not tables",
            )
        if key in out:
            raise UserError(
                f"{path}: '{key}' is set both at the top level and in [{command}]",
                hint="keep one of them",
            )
        out[key] = (f" in [{command}]", setting)
    return out
