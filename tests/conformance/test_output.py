"""Output (DSL 3.5) and partitioning: the default form, `emit` projections, per-key matching."""

import pytest

from .harness import case, check

DEFAULT_FORM = [
    case(
        "quantified_variables_are_lists_and_single_ones_are_objects",
        """
        match a -> b{2} -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        """,
        "a1 b1 b2 c1",
        ["a:a1 b:[b1,b2] c:c1"],
    ),
    case(
        "an_optional_variable_is_a_list_or_left_out",
        """
        match a -> b? -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        skip no
        """,
        "a1 b1 c1",
        ["a:a1 b:[b1] c:c1", "a:a1 c:c1"],
    ),
    case(
        "negated_variables_never_appear",
        """
        match a -> !x -> b
        where a: kind == "a"
              x: kind == "x"
              b: kind == "b"
        """,
        "a1 y1 b1",
        ["a:a1 b:b1"],
    ),
    case(
        "events_are_delivered_unchanged",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        """,
        'a1{amount:2.5,card:"k 1",flag:true,note:null} b1{nested:7}',
        [
            {
                "pattern": "p",
                "key": None,
                "start": 0,
                "end": 1000,
                "a": {
                    "id": "a1",
                    "kind": "a",
                    "ts": 0,
                    "amount": 2.5,
                    "card": "k 1",
                    "flag": True,
                    "note": None,
                },
                "b": {"id": "b1", "kind": "b", "ts": 1000, "nested": 7},
            }
        ],
    ),
]

EMIT = [
    case(
        "emit.names_default_to_variable_underscore_field",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        emit a.id, b.amount
        """,
        "a1 b1{amount:7}",
        [{"pattern": "p", "key": None, "start": 0, "end": 1000, "a_id": "a1", "b_amount": 7}],
    ),
    case(
        "emit.aliases_and_loop_aggregates",
        """
        match a -> b{2} -> c
        where a: kind == "a"
              b: kind == "b"
              c: kind == "c"
        emit a.id as first_id, count(b) as n, sum(b.amount) as total, avg(b.amount) as mean
           , min(b.amount) as lo, max(b.amount) as hi, first(b).id as first_b, last(b).id as last_b
        """,
        "a1 b1{amount:2} b2{amount:5} c1",
        [
            {
                "pattern": "p",
                "key": None,
                "start": 0,
                "end": 3000,
                "first_id": "a1",
                "n": 2,
                "total": 7,
                "mean": 3.5,
                "lo": 2,
                "hi": 5,
                "first_b": "b1",
                "last_b": "b2",
            }
        ],
    ),
    case(
        # the card_testing example of DSL section 3 (its stream renamed s, its pattern p)
        "emit.dsl_card_testing_example",
        """
        match small{3,} -> big
        where
            small: amount < 2.00
            big:   amount > 500 and merchant != first(small).merchant
        within 10m
        skip past last
        emit card_id, count(small) as probes, big.amount as amount
        """,
        "s1{card_id:k1,amount:1,merchant:m1} s2{card_id:k1,amount:1.5,merchant:m1} "
        "s3{card_id:k1,amount:0.5,merchant:m1} big1{card_id:k1,amount:600,merchant:m2}",
        [
            {
                "pattern": "p",
                "key": "k1",
                "start": 0,
                "end": 3000,
                "card_id": "k1",
                "probes": 3,
                "amount": 600,
            }
        ],
        partition="card_id",
    ),
]

PARTITIONS = [
    case(
        "partition_by_a_field_matches_each_key_on_its_own",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1{card:x} a2{card:y} b1{card:x} b2{card:y}",
        ["key=x a1 b1", "key=y a2 b2"],
        partition="card",
    ),
    case(
        "partition_by_none_matches_across_keys",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1{card:x} a2{card:y} b1{card:x} b2{card:y}",
        ["a2 b1"],
    ),
    case(
        "the_stream_key_is_the_default_partition",
        """
        match a , b
        where a: kind == "a"
              b: kind == "b"
        skip no
        """,
        "a1{card:x} a2{card:y} b1{card:x} b2{card:y}",
        ["key=x a1 b1", "key=y a2 b2"],
        stream="key card\ntime ts",
        partition=None,
    ),
    case(
        "skip_strategies_apply_per_key",
        """
        match a -> b
        where a: kind == "a"
              b: kind == "b"
        skip past last
        """,
        "a1{card:x} a2{card:y} b1{card:y} b2{card:x}",
        # y's match does not wait for x's partial match, which started earlier
        ["key=y a2 b1", "key=x a1 b2"],
        partition="card",
    ),
]


@pytest.mark.parametrize("c", DEFAULT_FORM, ids=lambda c: c.id)
def test_default_output_form(c):
    check(c)


@pytest.mark.parametrize("c", EMIT, ids=lambda c: c.id)
def test_emit_projects_the_match(c):
    check(c)


@pytest.mark.parametrize("c", PARTITIONS, ids=lambda c: c.id)
def test_partition_by(c):
    check(c)


TABLES = [DEFAULT_FORM, EMIT, PARTITIONS]
