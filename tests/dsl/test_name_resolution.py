"""What a name means where it stands (docs/language.md, "Names in expressions")."""

from __future__ import annotations

from .checking import errors, problems

PAYMENTS = """\
stream payments
    key card_id
    time ts
    schema { card_id: string, ts: timestamp, amount: float, merchant: string }
"""


def pattern(where: str, match: str = "a -> b+ -> c", extra: str = "    within 1h\n") -> str:
    return PAYMENTS + f"pattern p\n    match {match}\n    where\n{where}{extra}"


def test_a_bare_name_in_a_condition_is_a_field_of_the_candidate_event() -> None:
    assert problems(pattern('        a: amount > 1 and merchant == "x"\n')) == []


def test_a_variable_and_a_field_read_an_earlier_variables_event() -> None:
    assert problems(pattern("        c: amount > a.amount and merchant != a.merchant\n")) == []


def test_a_variable_in_its_own_condition_is_the_candidate() -> None:
    text = pattern("        b: b.amount > 1 and amount > avg(b.amount) and count(b) < 10\n")
    assert problems(text) == []


def test_aggregates_of_a_loop_are_values_after_the_loop() -> None:
    text = pattern(
        "        c: amount > sum(b.amount) and merchant == last(b).merchant\n"
        "           and amount > prev(b).amount and first(b).amount < max(b.amount)\n"
    )
    assert problems(text) == []


def test_the_until_of_a_loop_reads_like_its_condition() -> None:
    text = pattern(
        "        a: amount > 1\n", match="a -> b+ until(amount > a.amount + sum(b.amount))"
    )
    assert problems(text) == []


def test_the_until_of_a_loop_cannot_read_a_later_variable() -> None:
    text = pattern("        a: amount > 1\n", match="a -> b+ until(amount > c.amount) -> c")
    assert errors(text) == ["6:34: error: variable 'c' is matched after 'b'"]


def test_a_dotted_name_that_is_no_variable_is_a_nested_field() -> None:
    text = "stream s\npattern p\n    match a\n    where\n        a: payload.amount > 1\n"
    assert problems(text) == []


def test_a_nested_field_named_almost_like_a_variable_gets_a_warning() -> None:
    text = (
        "stream s\npattern p\n    match small+ -> big\n    where\n        big: smal.x > 1\n"
        "    within 1m\n"
    )
    assert problems(text) == [
        "5:14: warning: 'smal' is not a variable: 'smal.x' reads a nested field of the event "
        "(did you mean 'small'?)"
    ]


def test_a_variable_hides_a_field_of_the_same_name() -> None:
    text = pattern("        c: amount > 1\n", match="amount -> c")
    assert errors(text) == [
        "8:12: error: variable 'amount' is not a value: write amount.field, or an aggregate "
        "like count(amount)"
    ]


def test_emit_reads_the_fields_of_the_last_event() -> None:
    text = pattern("        a: amount > 1\n", extra="    within 1h\n    emit card_id, merchant\n")
    assert problems(text) == []


def test_emit_sees_every_variable_whatever_its_position() -> None:
    text = (
        "stream s\npattern p\n    match a -> (b | c) -> d\n    within 1m\n"
        "    emit d.x, c.x, b.x, a.x, count(b)\n"
    )
    assert problems(text) == []


def test_emit_cannot_read_a_negated_variable() -> None:
    text = "stream s\npattern p\n    match a -> !x -> b\n    emit x.v as v\n"
    assert errors(text) == ["4:10: error: cannot reference the negated variable 'x'"]


def test_an_unknown_field_in_emit_says_where_it_is() -> None:
    text = pattern("        a: amount > 1\n", extra="    within 1h\n    emit amont\n")
    assert errors(text) == [
        "10:10: error: unknown field 'amont' in 'emit' (did you mean 'amount'?)"
    ]


def test_a_pattern_without_from_reads_the_only_stream() -> None:
    text = (
        "stream s\n    schema { amount: int }\n"
        "pattern p\n    match a\n    where\n        a: amout > 1\n"
    )
    assert errors(text) == [
        "6:12: error: unknown field 'amout' in condition of 'a' (did you mean 'amount'?)"
    ]


def test_parts_of_a_conjunction_do_not_see_each_other() -> None:
    text = "stream s\npattern p\n    match a -> (b & c)\n    where\n        c: b.x > a.x\n"
    assert errors(text) == [
        "5:12: error: variable 'b' may be matched after 'c' (they are parts of one '&', "
        "which match in any order)"
    ]


# ---------------------------------------------------------------------- records through views
VIEWS = (
    PAYMENTS
    + """\
stream merchants
    key merchant
    schema { merchant: string, category: string }
stream logins
    key card_id
    schema { card_id: string, ip: string }
model fraud = onnx "fraud.onnx"
    inputs (amount)
view small = payments | select card_id, amount
view scored = payments | score fraud as risk
view per_hour = payments | window tumbling 1h by card_id | aggregate count() as n, sum(amount)
view enriched = payments | lookup merchants on merchant
view pay_login = join payments as p, logins as l on p.card_id == l.card_id within 2m
view flat = pay_login | select p.card_id, l.ip as login_ip
"""
)
# the line of the condition in view_pattern
LINE = VIEWS.count("\n") + 5


def view_pattern(source: str, condition: str) -> str:
    return VIEWS + f"pattern q\n    from {source}\n    match a\n    where\n        a: {condition}\n"


def test_the_views_of_the_file_check() -> None:
    """Joins and lookups run (issue 12): no warning that they cannot."""
    assert problems(VIEWS) == []


def test_select_makes_a_record_of_its_outputs_only() -> None:
    assert errors(view_pattern("small", 'merchant == "x"')) == [
        f"{LINE}:12: error: unknown field 'merchant' in condition of 'a'"
    ]


def test_score_adds_a_float_field() -> None:
    assert errors(view_pattern("scored", 'risk > 0.5 and merchant == "x"')) == []
    assert errors(view_pattern("scored", 'risk == "high"')) == [
        f"{LINE}:12: error: cannot compare 'risk' (a float) with \"high\" (a string)"
    ]


def test_a_window_yields_its_keys_bounds_and_aggregates() -> None:
    condition = 'n > 1 and sum_amount > 10 and card_id != "" and window_end > window_start'
    assert errors(view_pattern("per_hour", condition)) == []
    assert errors(view_pattern("per_hour", "amount > 1")) == [
        f"{LINE}:12: error: unknown field 'amount' in condition of 'a' (did you mean 'sum_amount'?)"
    ]


def test_lookup_adds_the_fields_of_the_table() -> None:
    assert errors(view_pattern("enriched", 'category == "food" and amount > 1')) == []


def test_a_join_views_records_are_read_through_its_aliases() -> None:
    assert errors(view_pattern("pay_login", 'p.amount > 1 and l.ip != ""')) == []
    assert errors(view_pattern("pay_login", 'p.ip != ""')) == [
        f"{LINE}:12: error: unknown field 'ip' of 'p' in condition of 'a'"
    ]


def test_selected_join_fields_are_named_alias_underscore_field() -> None:
    assert errors(view_pattern("flat", 'p_card_id != "" and login_ip != ""')) == []


def test_score_adds_the_variant_and_shadow_fields() -> None:
    text = (
        'stream s\n    schema { x: float }\nmodel m = onnx "a.onnx"\n    inputs (x)\n'
        '    shadow onnx "b.onnx"\n'
        "view v = s | score m as risk\n"
        "pattern p\n    from v\n    match a\n    where\n"
        '        a: risk > 0.5 and risk_shadow > 0.5 and risk_model != "a.onnx"\n'
    )
    assert problems(text) == []
