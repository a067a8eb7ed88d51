"""`gress explain` shows what a join, a lookup and a union do."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gress_cep.cli.main import cli

RULES = """stream payments
    key card_id
    time ts

stream logins
    key card_id
    time ts

stream merchants
    key merchant
    time ts

view pl = left join payments as p, logins as l on p.card_id == l.card_id and p.ts > 0 within 2m
view enriched = payments | lookup merchants on merchant
view both = union payments, logins
"""


def explain(tmp_path: Path, *args: str) -> str:
    (tmp_path / "r.gress").write_text(RULES)
    result = CliRunner().invoke(cli, ["explain", str(tmp_path / "r.gress"), *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_explain_says_what_joins_lookups_and_unions_do(tmp_path: Path) -> None:
    text = explain(tmp_path)
    assert "view pl (from left join payments as p, logins as l on" in text
    assert "pairs {p, l} with p.card_id == l.card_id at most 2m apart" in text
    assert (
        "each p record without a partner once the watermark passes its time + 2m, with l null"
        in text
    )
    assert "each record waits until merchants's watermark passes its time" in text
    assert "view both (from union payments, logins)" in text
    assert "the records of payments, logins, each once" in text


def test_explain_json_names_the_inputs(tmp_path: Path) -> None:
    (tmp_path / "r.gress").write_text(RULES)
    result = CliRunner().invoke(
        cli, ["explain", str(tmp_path / "r.gress"), "--json", "--view", "both"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {"view": "both", "from": "union payments, logins", "operators": []} in plan
