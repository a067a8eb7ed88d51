"""The traced path gives exactly the matches (and timeouts) of the generated kernel: the same
job with and without `--trace`, byte for byte, on patterns that use every part of the
matcher — skip strategies, negations, windows, loops, groups, aggregates, ttl."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import random_events, run, write_job


def where(variables: str) -> str:
    """`where` with the condition `kind == "v"` for each of `variables`."""
    lines = [f'{v}: kind == "{v}"' for v in variables]
    return "    where " + "\n          ".join(lines) + "\n"


PATTERNS = {
    "loop_within": "match a{2,} -> b\n" + where("ab") + "    within 10s\n",
    "skip_no": "match a -> b+\n" + where("ab") + "    within 20s\n    skip no\n",
    "skip_to_next": "match a ->> b\n" + where("ab") + "    within 20s\n    skip to next\n",
    "skip_to_first": "match a{2} , b{2}\n" + where("ab") + "    skip to first b\n",
    "skip_to_last": "match a+ consecutive greedy , b\n" + where("ab") + "    skip to last a\n",
    "not_next": "match a , !x -> b\n" + where("abx") + "    within 30s\n",
    "not_followed_by": "match a -> !x -> b\n" + where("abx") + "    within 30s\n",
    "absence": "match a -> !x\n" + where("ax") + "    within 5s\n",
    "group": "match (a -> b+){2} -> c\n" + where("abc") + "    within 1m\n",
    "until": "match c -> a+ until(amount == 500) -> b\n" + where("abc") + "    within 1m\n",
    "step_window": "match a -> b within 5s -> c\n" + where("abc"),
    "alternation": "match a -> (b | c) -> x\n" + where("abcx") + "    within 30s\n",
    "conjunction": "match a -> (b & c)\n" + where("abc") + "    within 30s\n",
    "aggregate": (
        "match a+ -> b\n"
        '    where a: kind == "a"\n'
        '          b: kind == "b" and amount > sum(a.amount)\n'
        "    within 30s\n"
    ),
    "ttl": "match a -> b\n" + where("ab") + "    ttl 10s\n",
    "timeouts": (
        "match a -> b{2}\n" + where("ab") + "    within 10s\n"
        "    on timeout emit card, count(b) as bs\n"
    ),
}


@pytest.mark.parametrize("name", sorted(PATTERNS))
@pytest.mark.parametrize("key", ["*", "k1"])
def test_a_traced_job_gives_the_same_matches_as_an_untraced_one(
    tmp_path: Path, name: str, key: str
) -> None:
    body = f"pattern {name}\n    from events\n    " + PATTERNS[name].replace("\n", "\n    ")
    rules, data = write_job(tmp_path, body.rstrip() + "\n", random_events(seed=len(name)))
    run(rules, data, tmp_path / "plain.jsonl", timeouts=tmp_path / "plain_timeouts.jsonl")
    trace = tmp_path / "trace.jsonl"
    run(
        rules,
        data,
        tmp_path / "traced.jsonl",
        "--trace",
        key,
        "--trace-output",
        str(trace),
        timeouts=tmp_path / "traced_timeouts.jsonl",
    )
    plain = (tmp_path / "plain.jsonl").read_text()
    assert plain, "the pattern finds something in this data: the comparison means something"
    assert (tmp_path / "traced.jsonl").read_text() == plain
    plain_timeouts = (tmp_path / "plain_timeouts.jsonl").read_text()
    assert (tmp_path / "traced_timeouts.jsonl").read_text() == plain_timeouts
    assert trace.stat().st_size > 0
    if name == "timeouts":
        assert plain_timeouts


@pytest.mark.parametrize("name", ["loop_within", "skip_to_next", "absence", "ttl"])
def test_a_traced_job_with_state_on_disk_gives_the_same_matches(tmp_path: Path, name: str) -> None:
    """Keys whose state waits on disk (--state-cache-keys 1) come back on the traced path
    as on the kernel's."""
    body = f"pattern {name}\n    from events\n    " + PATTERNS[name].replace("\n", "\n    ")
    rules, data = write_job(tmp_path, body.rstrip() + "\n", random_events(seed=3, n=20_000, keys=6))
    on_disk = ["--checkpoint-interval", "10s", "--state-cache-keys", "1", "--fresh"]
    run(rules, data, tmp_path / "plain.jsonl", *on_disk, "--state-dir", str(tmp_path / "s1"))
    run(
        rules,
        data,
        tmp_path / "traced.jsonl",
        *on_disk,
        "--state-dir",
        str(tmp_path / "s2"),
        "--trace",
        "k2",
        "--trace-output",
        str(tmp_path / "trace.jsonl"),
    )
    plain = (tmp_path / "plain.jsonl").read_text()
    assert plain
    assert (tmp_path / "traced.jsonl").read_text() == plain
