"""Where `gress detect` keeps its state (docs/cli.md, README): ./.gress/state/<job id> by default,
GRESS_STATE_DIR, `--checkpoint-interval off`; and gress.toml: the documented example, settings at
the top level, precedence flags > environment GRESS_* > file > defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gress_cep.cli.main import cli

CLI_MD = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
DOCUMENTED_TOML = re.search(r"```toml\n(.*?)```", CLI_MD, re.DOTALL).group(1)  # type: ignore[union-attr]

RULES = """stream payments
    key card_id
    time ts

pattern card_testing
    from payments
    match small{2,} -> big
    where small: amount < 2
          big: amount > 500
    within 10m

pattern big_spender
    from payments
    match big
    where big: amount > 500
"""
PAYMENTS = [
    {"card_id": "c1", "ts": 1000, "amount": 1.0},
    {"card_id": "c1", "ts": 2000, "amount": 1.5},
    {"card_id": "c1", "ts": 3000, "amount": 900.0},
]


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "rules.gress").write_text(RULES)
    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAYMENTS))
    monkeypatch.chdir(tmp_path)
    for name in ("GRESS_STATE_DIR", "GRESS_STATE_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def detect(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(
        cli, ["detect", "rules.gress", "-i", "payments.jsonl", "-o", "out.jsonl", *args], env=env
    )
    assert result.exit_code == 0, result.output
    return result


def has_checkpoints(folder: Path) -> bool:
    return (folder / "checkpoints").is_dir() and any((folder / "checkpoints").iterdir())


def test_state_is_kept_in_dot_gress_state_per_job_by_default(job: Path) -> None:
    detect()
    [state] = (job / ".gress" / "state").iterdir()
    assert re.fullmatch(r"[0-9a-f]{12}", state.name)  # the job id
    assert has_checkpoints(state)
    listed = CliRunner().invoke(cli, ["checkpoints", str(state), "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)


def test_another_job_gets_another_state_folder(job: Path) -> None:
    detect()
    detect("--pattern", "big_spender")  # another job: its own state, not a clash
    assert len(list((job / ".gress" / "state").iterdir())) == 2


def test_gress_state_dir_sets_the_state_folder(job: Path) -> None:
    detect(env={"GRESS_STATE_DIR": str(job / "from-env")})
    assert has_checkpoints(job / "from-env")
    assert not (job / ".gress").exists()


def test_checkpoint_interval_off_keeps_no_state_at_all(job: Path) -> None:
    result = detect("--checkpoint-interval", "off")
    assert not (job / ".gress").exists()
    assert "checkpoints:" not in result.stderr
    assert len((job / "out.jsonl").read_text().splitlines()) == 2  # it still runs


def test_the_documented_gress_toml_is_accepted(job: Path) -> None:
    (job / "gress.toml").write_text(DOCUMENTED_TOML)
    result = detect("--config", "gress.toml")
    patterns = {json.loads(line)["pattern"] for line in (job / "out.jsonl").read_text().split()}
    assert patterns == {"card_testing"}  # its `pattern = ["card_testing"]`
    assert "big_spender" not in result.stderr


def test_settings_at_the_top_level_apply(job: Path) -> None:
    (job / "gress.toml").write_text('pattern = ["big_spender"]\nstate-dir = "top-state"\n')
    detect("--config", "gress.toml")
    patterns = {json.loads(line)["pattern"] for line in (job / "out.jsonl").read_text().split()}
    assert patterns == {"big_spender"}
    assert has_checkpoints(job / "top-state")


def test_the_environment_wins_over_the_file(job: Path) -> None:
    (job / "gress.toml").write_text('[detect]\nstate-dir = "from-file"\n')
    detect("--config", "gress.toml", env={"GRESS_STATE_DIR": str(job / "from-env")})
    assert has_checkpoints(job / "from-env")
    assert not (job / "from-file").exists()


def test_a_flag_wins_over_the_environment(job: Path) -> None:
    detect("--state-dir", "from-flag", env={"GRESS_STATE_DIR": str(job / "from-env")})
    assert has_checkpoints(job / "from-flag")
    assert not (job / "from-env").exists()


def test_the_file_wins_over_the_defaults(job: Path) -> None:
    (job / "gress.toml").write_text('[detect]\ncheckpoint-interval = "off"\n')
    detect("--config", "gress.toml")
    assert not (job / ".gress").exists()  # the default would have kept state there


def test_a_config_file_that_is_not_toml_is_one_clear_error(job: Path) -> None:
    (job / "gress.toml").write_text("this is = not = toml\n")
    result = CliRunner().invoke(cli, ["detect", "rules.gress", "--config", "gress.toml"])
    assert result.exit_code == 1
    assert result.stderr.startswith("gress: error: gress.toml: not valid TOML")
