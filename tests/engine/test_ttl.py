"""`ttl D`: the partial matches of a key that went quiet are dropped (issue 6)."""

import gress_cep

RULES = """stream s
    key user
    time ts

pattern abandoned
    from s
    match add -> checkout
    where add: action == "add"
          checkout: action == "checkout"
{ttl}"""


def events() -> list[dict]:
    return [
        {"user": "u1", "ts": 0, "action": "add"},
        {"user": "u2", "ts": 5_000, "action": "browse"},  # time moves on for everyone
        {"user": "u2", "ts": 20_000, "action": "browse"},
        {"user": "u1", "ts": 21_000, "action": "checkout"},
    ]


def run(ttl: str) -> list[dict]:
    return list(gress_cep.compile(RULES.format(ttl=ttl)).run({"s": events()}))


def test_without_a_ttl_a_partial_match_waits_forever() -> None:
    assert [m["key"] for m in run("")] == ["u1"]


def test_a_key_quiet_for_longer_than_the_ttl_loses_its_partial_matches() -> None:
    assert run("    ttl 10s\n") == []


def test_a_key_that_stays_active_keeps_them() -> None:
    assert [m["key"] for m in run("    ttl 30s\n")] == ["u1"]


def test_each_event_of_the_key_restarts_its_ttl() -> None:
    more = [*events()[:2], {"user": "u1", "ts": 9_000, "action": "browse"}, *events()[2:]]
    program = gress_cep.compile(RULES.format(ttl="    ttl 15s\n"))
    # u1's last event before the checkout is at 9s: 21s - 9s < 15s
    assert [m["key"] for m in program.run({"s": more})] == ["u1"]
