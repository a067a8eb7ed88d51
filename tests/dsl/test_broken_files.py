"""A table of broken pattern files: each reports exactly these errors, at exactly these places.

Every rule of the checker and the common syntax mistakes appear here; the messages are the
product's interface (`gress check` prints them), so they are compared word for word.
"""

from __future__ import annotations

import pytest

from .checking import errors

# a stream with a schema, used by most cases (4 lines: patterns start on line 5)
PAYMENTS = """\
stream payments
    key card_id
    time ts
    schema { card_id: string, ts: timestamp, amount: float, merchant: string, kind: string }
"""

CASES: list[tuple[str, str, list[str]]] = [
    # ------------------------------------------------------------------ syntax
    (
        "missing match",
        "stream s\npattern p\n    a -> b\n",
        ["3:5: error: missing 'match' at the start of this line"],
    ),
    (
        "single = instead of ==",
        'stream s\npattern p\n    match a\n    where\n        a: kind = "x"\n',
        ["5:17: error: unexpected '='"],
    ),
    (
        "unclosed string",
        'stream s\npattern p\n    match a\n    where\n        a: kind == "x\n',
        ["5:20: error: unclosed string"],
    ),
    (
        "unclosed brace",
        "stream s\n    schema { a: int, b: string\n",
        ["2:12: error: '{' is never closed"],
    ),
    (
        "unclosed parenthesis",
        "stream s\npattern p\n    match a\n    where\n        a: (x > 1 and y < 2\n",
        ["5:12: error: '(' is never closed"],
    ),
    (
        "unclosed bracket before the next clause",
        "stream s\npattern p\n    match a\n    where\n        a: x in [1, 2\n    emit x\n",
        ["5:17: error: '[' is never closed"],
    ),
    (
        "misspelt clause",
        "stream s\npattern p\n    mach a -> b\n",
        ["3:5: error: unknown clause 'mach' in pattern (did you mean 'match'?)"],
    ),
    (
        "misspelt statement",
        "strem s\n",
        ["1:1: error: unknown keyword 'strem' (did you mean 'stream'?)"],
    ),
    (
        "misspelt keyword inside a clause",
        "stream s\npattern p\n    match a\n    skip past lst\n",
        ["4:15: error: unknown keyword 'lst' (did you mean 'last'?)"],
    ),
    (
        "misspelt keyword that starts with a keyword",
        "stream s\npattern p\n    match a\n    emitt a.x\n",
        ["4:5: error: unknown clause 'emitt' in pattern (did you mean 'emit'?)"],
    ),
    (
        "misspelt within after a where block",
        "stream s\npattern p\n    match a -> b\n    where\n        a: x > 1\n    withn 10s\n",
        ["6:5: error: unknown clause 'withn' in pattern (did you mean 'within'?)"],
    ),
    (
        "misspelt skip after a where block",
        "stream s\npattern p\n    match a\n    where\n        a: x > 1\n    skp to next\n",
        ["6:5: error: unknown clause 'skp' in pattern (did you mean 'skip'?)"],
    ),
    (
        "&& instead of and",
        "stream s\npattern p\n    match a\n    where\n        a: x > 1 && y > 2\n",
        ["5:18: error: unexpected '&&'"],
    ),
    (
        "duration with a space",
        "stream s\npattern p\n    match a -> b\n    within 10 m\n",
        ["4:12: error: a duration is written without a space: '10m'"],
    ),
    (
        "unknown duration unit",
        "stream s\npattern p\n    match a -> b\n    within 10sec\n",
        ["4:12: error: unknown duration unit 'sec'"],
    ),
    (
        "missing colon after a variable",
        "stream s\npattern p\n    match a\n    where\n        a x > 1\n",
        ["5:11: error: missing ':' before 'x'"],
    ),
    (
        "missing arrow between elements",
        "stream s\npattern p\n    match a b\n",
        ["3:13: error: missing '->' or ',' before 'b'"],
    ),
    (
        "=> instead of ->",
        "stream s\npattern p\n    match a => b\n",
        ["3:13: error: '=>' is not an arrow here"],
    ),
    (
        "unmatched closing parenthesis",
        "stream s\npattern p\n    match a\n    where\n        a: x != 1)\n",
        ["5:18: error: unmatched ')'"],
    ),
    (
        "missing colon in a schema, twice on one line",
        "stream s\n    schema { a int, b: string, c float }\n",
        ["2:16: error: missing ':' before 'int'", "2:36: error: missing ':' before 'float'"],
    ),
    (
        "missing comma between outputs",
        "stream s\npattern p\n    match a\n    emit a.x a.y\n",
        ["4:14: error: missing ',' before 'a'"],
    ),
    (
        "missing and between conditions",
        "stream s\npattern p\n    match a\n    where\n        a: x > 1 y < 2\n",
        ["5:18: error: missing 'and' or 'or' before 'y'"],
    ),
    (
        "where without conditions",
        "stream s\npattern p\n    match a\n    where\n    emit a.x\n",
        ["5:5: error: 'where' has no condition before 'emit'"],
    ),
    (
        "condition cut short at the end of a line",
        "stream s\npattern p\n    match a\n    where\n        a: x > 1 and\n",
        ["5:21: error: unexpected end of line"],
    ),
    (
        "every syntax error of a statement",
        "stream s\npattern p\n    mach a -> b\n    where\n        a: x = 1\n    skip past lst\n",
        [
            "3:5: error: unknown clause 'mach' in pattern (did you mean 'match'?)",
            "5:14: error: unexpected '='",
            "6:15: error: unknown keyword 'lst' (did you mean 'last'?)",
        ],
    ),
    # ------------------------------------------------------------------ names
    (
        "duplicate stream",
        "stream s\nstream s\n",
        ["2:8: error: stream 's' is already declared on line 1"],
    ),
    (
        "view named like a stream",
        "stream s\nview s = s | where true\n",
        ["2:6: error: view 's' has the name of the stream on line 1"],
    ),
    (
        "duplicate pattern",
        "stream s\npattern p\n    match a\npattern p\n    match b\n",
        ["4:9: error: pattern 'p' is already declared on line 2"],
    ),
    (
        "unknown stream in from",
        PAYMENTS + "pattern p\n    from paymnts\n    match a\n",
        ["6:10: error: unknown stream or view 'paymnts' in pattern 'p' (did you mean 'payments'?)"],
    ),
    (
        "a model as a pattern's source",
        'stream s\nmodel m = onnx "m.onnx"\n    inputs (x)\npattern p\n    from m\n    match a\n',
        ["5:10: error: 'm' is a model, not a stream or view in pattern 'p'"],
    ),
    (
        "pattern without from and two streams",
        "stream s\nstream t\npattern p\n    match a\n",
        [
            "3:9: error: pattern 'p' has no 'from' and the file declares 2 streams (s, t)",
        ],
    ),
    (
        "pattern without match",
        "stream s\npattern p\n    within 5m\n",
        ["2:9: error: pattern 'p' has no 'match'"],
    ),
    (
        "variable twice in a match",
        "stream s\npattern p\n    match a -> b -> a\n",
        ["3:21: error: variable 'a' occurs twice in the match (first at column 11 of line 3)"],
    ),
    (
        "condition for an unknown variable",
        "stream s\npattern p\n    match small -> big\n    where\n        smal: x < 2\n",
        ["5:9: error: 'smal' is not a variable of the match (did you mean 'small'?)"],
    ),
    (
        "two conditions for one variable",
        "stream s\npattern p\n    match a\n    where\n        a: x > 1\n        a: x < 5\n",
        ["6:9: error: variable 'a' has two conditions (the other on line 5)"],
    ),
    (
        "unknown variable in an aggregate",
        "stream s\npattern p\n    match small+ -> big\n    where\n        big: count(smal) > 2\n"
        "    within 1m\n",
        ["5:20: error: unknown variable 'smal' in condition of 'big' (did you mean 'small'?)"],
    ),
    (
        "unknown variable before a field",
        PAYMENTS + "pattern p\n    match small+ -> big\n    where\n        big: smal.amount > 2\n"
        "    within 1m\n",
        ["8:14: error: unknown variable 'smal' in condition of 'big' (did you mean 'small'?)"],
    ),
    (
        "unknown function",
        'stream s\npattern p\n    match a\n    where\n        a: lowr(x) == "a"\n',
        ["5:12: error: unknown function 'lowr' (did you mean 'lower'?)"],
    ),
    (
        "wrong number of arguments",
        "stream s\npattern p\n    match a\n    where\n        a: abs(x, 2) > 1\n",
        ["5:12: error: 'abs' takes 1 argument, not 2"],
    ),
    (
        "a model called like a function",
        'stream s\nmodel fraud = onnx "m.onnx"\n    inputs (x)\n'
        "pattern p\n    match a\n    where\n        a: fraud(x) > 0.5\n",
        ["7:12: error: 'fraud' is a model, not a function"],
    ),
    # ------------------------------------------------------------------ streams
    (
        "unknown schema type",
        "stream s\n    schema { a: integer }\n",
        ["2:17: error: unknown type 'integer' (did you mean 'int'?)"],
    ),
    (
        "schema field twice",
        "stream s\n    schema { a: int, a: string }\n",
        ["2:22: error: field 'a' appears twice in the schema of 's'"],
    ),
    (
        "key field missing from the schema",
        "stream s\n    key card\n    schema { card_id: string }\n",
        ["2:9: error: key field 'card' is not in the schema of 's' (did you mean 'card_id'?)"],
    ),
    (
        "time field of type string",
        "stream s\n    time ts\n    schema { ts: string }\n",
        ["2:10: error: time field 'ts' is a string; it must be a timestamp, int or float"],
    ),
    (
        "lateness without time",
        "stream s\n    lateness 5s\n",
        ["2:14: error: 'lateness' needs a 'time' field: it is an event-time setting"],
    ),
    (
        "idle without time",
        "stream s\n    idle 1m\n",
        ["2:10: error: 'idle' needs a 'time' field: it is an event-time setting"],
    ),
    # ------------------------------------------------------------------ negation
    (
        "quantified negation",
        "stream s\npattern p\n    match a -> !x+ -> b\n",
        ["3:18: error: a negation cannot be quantified or optional"],
    ),
    (
        "optional negation",
        "stream s\npattern p\n    match a -> !x optional -> b\n",
        ["3:19: error: a negation cannot be quantified or optional"],
    ),
    (
        "match starting with a negation",
        "stream s\npattern p\n    match !x -> a\n",
        ["3:11: error: a match cannot start with a negation"],
    ),
    (
        "trailing absence without within",
        "stream s\npattern p\n    match a -> !x\n",
        ["3:16: error: the match ends with the absence '!x': it needs a pattern 'within'"],
    ),
    (
        "negated group",
        "stream s\npattern p\n    match a -> !(b -> c) -> d\n",
        ["3:16: error: a group cannot be negated"],
    ),
    (
        "alternative that is only a negation",
        "stream s\npattern p\n    match a -> (b | !x) -> c\n",
        ["3:21: error: an alternative cannot be only a negation"],
    ),
    (
        "part of a conjunction that is only a negation",
        "stream s\npattern p\n    match a -> (b & !x) -> c\n",
        ["3:21: error: a part of '&' cannot be only a negation"],
    ),
    (
        "negated variable referenced",
        "stream s\npattern p\n    match a -> !x -> b\n    where\n        b: x.v > 1\n",
        ["5:12: error: cannot reference the negated variable 'x'"],
    ),
    (
        "negated variable as skip target",
        "stream s\npattern p\n    match a -> !x -> b\n    skip to first x\n",
        ["4:19: error: skip target 'x' is negated: it never binds an event to skip to"],
    ),
    # ------------------------------------------------------------------ quantifiers
    (
        "greedy on a group",
        "stream s\npattern p\n    match (a -> b)+ greedy -> c\n    within 1m\n",
        ["3:21: error: 'greedy' is not allowed on a group (as in Flink)"],
    ),
    (
        "until on a group with a fixed count",
        "stream s\npattern p\n    match (a -> b){2} until(x > 1) -> c\n",
        ["3:23: error: 'until' applies to a loop (+, *, {n,}, {n,m}), not to '{2}'"],
    ),
    (
        "until of a group reads a later variable",
        "stream s\npattern p\n    match (a -> b)+ until(c.x > 1) -> c\n    within 1m\n",
        ["3:27: error: variable 'c' is matched after '(a -> b)'"],
    ),
    (
        "repeating group that may take nothing",
        "stream s\npattern p\n    match x -> (a? -> b?)+ -> c\n    within 1m\n",
        [
            "3:26: error: a repeating group must take an event in each repetition: every "
            "element of this group may take none"
        ],
    ),
    (
        "consecutive on an optional element",
        "stream s\npattern p\n    match a -> b? consecutive\n",
        ["3:19: error: 'consecutive' applies to a repetition (+, *, {n}, {n,}, {n,m}), not to '?'"],
    ),
    (
        "until on an exact count",
        "stream s\npattern p\n    match a -> b{3} until(x > 1)\n",
        ["3:21: error: 'until' applies to a loop (+, *, {n,}, {n,m}), not to '{3}'"],
    ),
    (
        "until on a modifier without a loop",
        "stream s\npattern p\n    match a -> b until(x > 1)\n",
        ["3:18: error: 'consecutive', 'any', 'greedy' and 'until' apply to a loop"],
    ),
    (
        "consecutive and any together",
        "stream s\npattern p\n    match a -> b+ consecutive any\n    within 1m\n",
        ["3:31: error: a loop cannot be both 'consecutive' and 'any'"],
    ),
    (
        "zero repeats",
        "stream s\npattern p\n    match a -> b{0}\n",
        ["3:18: error: a repeat count must be at least 1, not 0"],
    ),
    (
        "skip to an unknown variable",
        "stream s\npattern p\n    match a+ -> b\n    within 1m\n    skip to last c\n",
        ["5:18: error: skip target 'c' is not a variable of the match"],
    ),
    (
        "step within of zero",
        "stream s\npattern p\n    match a -> b within 0s\n",
        ["3:25: error: a step's 'within' must be longer than 0"],
    ),
    (
        "pattern within of zero",
        "stream s\npattern p\n    match a -> b\n    within 0ms\n",
        ["4:12: error: a pattern's 'within' must be longer than 0"],
    ),
    (
        "step within on the first element",
        "stream s\npattern p\n    match a within 5s -> b\n",
        [
            "3:20: error: the first element cannot have its own 'within': there is no earlier "
            "event to measure from"
        ],
    ),
    # ------------------------------------------------------------------ expressions
    (
        "condition reads a later variable",
        "stream s\npattern p\n    match a -> b\n    where\n        a: x > b.x\n",
        ["5:16: error: variable 'b' is matched after 'a'"],
    ),
    (
        "condition reads another branch of an alternation",
        "stream s\npattern p\n    match a -> (b | c)\n    where\n        c: b.x > 1\n",
        [
            "5:12: error: variable 'b' is in another branch of the alternation than 'c': "
            "they are never matched together"
        ],
    ),
    (
        "variable used as a value",
        "stream s\npattern p\n    match a -> b\n    where\n        b: x > a\n",
        ["5:16: error: variable 'a' is not a value: write a.field, or an aggregate like count(a)"],
    ),
    (
        "first() without a field",
        "stream s\npattern p\n    match a+ -> b\n    where\n        b: first(a) > 1\n"
        "    within 1m\n",
        ["5:12: error: first(a) is an event, not a value: write first(a).field"],
    ),
    (
        "prev() of a single event",
        "stream s\npattern p\n    match a -> b\n    where\n        b: prev(a).x > 1\n",
        ["5:12: error: 'prev' needs a variable that repeats; 'a' takes one event"],
    ),
    (
        "aggregate over two variables",
        "stream s\npattern p\n    match a+ -> b\n    where\n        b: sum(a.x + b.x) > 1\n"
        "    within 1m\n",
        ["5:16: error: 'sum' mixes variables 'a' and 'b': an aggregate ranges over one variable"],
    ),
    (
        "aggregate over a bare field",
        "stream s\npattern p\n    match a+ -> b\n    where\n        b: avg(x) > 1\n    within 1m\n",
        ["5:16: error: 'x' in avg(...) must say whose field it is"],
    ),
    (
        "string field compared with a number",
        PAYMENTS + "pattern p\n    match a\n    where\n        a: kind > 3\n",
        ["8:12: error: cannot compare 'kind' (a string) with 3 (an int)"],
    ),
    (
        "arithmetic on a string",
        PAYMENTS + "pattern p\n    match a\n    where\n        a: merchant * 2 > 1\n",
        ["8:12: error: cannot apply '*' to 'merchant' (a string)"],
    ),
    (
        "between with bounds of another type",
        PAYMENTS + 'pattern p\n    match a\n    where\n        a: amount between "a" and 5\n',
        [
            "8:27: error: 'between' bound \"a\" (a string) cannot be compared with "
            "'amount' (a float)"
        ],
    ),
    (
        "sum over a string field",
        PAYMENTS + "pattern p\n    match a+ -> b\n    where\n        b: sum(a.kind) > 1\n"
        "    within 1m\n",
        ["8:16: error: 'sum' needs numbers, not 'a.kind' (a string)"],
    ),
    (
        "unknown field of a schema",
        PAYMENTS + "pattern p\n    match a\n    where\n        a: amout > 1\n",
        ["8:12: error: unknown field 'amout' in condition of 'a' (did you mean 'amount'?)"],
    ),
    (
        "unknown field of a variable",
        PAYMENTS + "pattern p\n    match a -> b\n    where\n        b: a.amout > 1\n",
        ["8:12: error: unknown field 'amout' of 'a' in condition of 'b' (did you mean 'amount'?)"],
    ),
    (
        "literal compared with a literal of another type",
        'stream s\npattern p\n    match a\n    where\n        a: "a" < 3\n',
        ['5:12: error: cannot compare "a" (a string) with 3 (an int)'],
    ),
    (
        "invalid regular expression",
        'stream s\npattern p\n    match a\n    where\n        a: x matches "([a-z]"\n',
        ["5:22: error: invalid regular expression: missing ), unterminated subpattern"],
    ),
    (
        "condition that is not true or false",
        PAYMENTS + "pattern p\n    match a\n    where\n        a: amount + 1\n",
        ["8:12: error: the condition of 'a' must be true or false, not 'amount + 1' (a float)"],
    ),
    # ------------------------------------------------------------------ emit
    (
        "variables named like the fields of a match record",
        "stream s\npattern p\n    match start -> end\n",
        [
            "3:11: error: variable 'start' has the name of a field every match record carries "
            "('start': the time of the match's first event): without 'emit', its events would "
            "take that field's place",
            "3:20: error: variable 'end' has the name of a field every match record carries "
            "('end': the time of the match's last event): without 'emit', its events would "
            "take that field's place",
        ],
    ),
    (
        "emit names like the fields of a match record",
        "stream s\npattern p\n    match a -> b\n    emit a.ts as start, count(b) as key\n",
        [
            "4:18: error: output 'start' of 'emit' has the name of a field every record it "
            "makes carries ('start': the time of the match's first event)",
            "4:37: error: output 'key' of 'emit' has the name of a field every record it makes "
            "carries ('key': the partition key)",
        ],
    ),
    (
        "timeout output named like a field of a match record",
        "stream s\npattern p\n    match a -> b\n    within 1m\n    on timeout emit end\n",
        [
            "5:21: error: output 'end' of 'on timeout emit' has the name of a field every "
            "record it makes carries ('end': the time of the match's last event)"
        ],
    ),
    (
        "aggregate named like a field of a window record",
        "stream s\nview v = s | window tumbling 1h by k | aggregate count() as window_start, "
        "sum(x) as k\n",
        [
            "2:61: error: output 'window_start' of 'aggregate' has the name of a field every "
            "record it makes carries ('window_start': the start of the window)",
            "2:85: error: output 'k' of 'aggregate' has the name of a field every record it "
            "makes carries ('k': a field the windows are grouped by)",
        ],
    ),
    (
        "two outputs with one name",
        "stream s\npattern p\n    match a -> b\n    emit b.x as x, x\n",
        ["4:20: error: two outputs of 'emit' are named 'x' (the other at column 17 of line 4)"],
    ),
    (
        "output without a natural name",
        "stream s\npattern p\n    match a -> b\n    emit a.x + b.x\n",
        ["4:10: error: this emit item needs a name"],
    ),
    (
        "timeout output without within",
        "stream s\npattern p\n    match a -> b\n    on timeout emit a.x\n",
        ["4:5: error: 'on timeout emit' needs a pattern 'within': without one nothing times out"],
    ),
    # ------------------------------------------------------------------ views
    (
        "aggregate without a window",
        "stream s\nview v = s | aggregate count() as n\n",
        ["2:14: error: 'aggregate' must come right after a 'window'"],
    ),
    (
        "window without aggregate",
        "stream s\nview v = s | window tumbling 1h | where x > 1\n",
        ["2:14: error: a 'window' must be followed by 'aggregate'"],
    ),
    (
        "having without aggregate",
        "stream s\nview v = s | having x > 1\n",
        ["2:14: error: 'having' filters the output of 'aggregate' and must follow it"],
    ),
    (
        "not a window aggregate",
        "stream s\nview v = s | window tumbling 1h | aggregate prev(x) as p\n",
        ["2:45: error: 'prev' is not a window aggregate"],
    ),
    (
        "field that is neither aggregated nor a window key",
        "stream s\nview v = s | window tumbling 1h by k | aggregate k, x\n",
        ["2:53: error: 'x' is not a 'by' field of the window: use it inside an aggregate"],
    ),
    (
        "sliding step longer than the window",
        "stream s\nview v = s | window sliding 1m every 5m | aggregate count() as n\n",
        ["2:38: error: a sliding window's step (5m) must not be longer than its size (1m)"],
    ),
    (
        "aggregate in a view's where",
        "stream s\nview v = s | where count(x) > 1\n",
        ["2:20: error: aggregate 'count' is not allowed in view 'v'"],
    ),
    (
        "join sides with one alias",
        "stream s\nstream t\nview v = join s as a, t as a on a.k == a.k within 1m\n",
        ["3:28: error: both sides of the join are called 'a'"],
    ),
    (
        "join condition about one side",
        "stream s\nstream t\nview v = join s as a, t as b on a.k == 1 within 1m\n",
        ["3:33: error: the join condition does not mention 'b'"],
    ),
    (
        "unqualified name in a join view",
        "stream s\nstream t\nview v = join s as a, t as b on a.k == b.k within 1m | where x > 1\n",
        [
            "3:62: error: 'x' must be qualified in view 'v': a join view's fields belong to "
            "'a' or 'b'"
        ],
    ),
    (
        "window keys of a join view",
        "stream s\nstream t\nview v = join s as a, t as b on a.k == b.k within 1m\n"
        "    | window tumbling 1h by k | aggregate count() as n\n",
        ["4:29: error: 'k' is not a field in view 'v': a join view's records hold 'a' and 'b'"],
    ),
    (
        "window interrupted before its aggregate",
        "stream s\nview v = s | window tumbling 1h | where x > 1 | aggregate count() as n\n",
        ["2:14: error: a 'window' must be followed by 'aggregate'"],
    ),
    (
        "lookup in a stream without key",
        "stream s\nstream t\nview v = s | lookup t on k\n",
        ["3:21: error: stream 't' has no 'key' to look up by"],
    ),
    (
        "lookup in a view",
        "stream s\n    key k\nview w = s | where true\nview v = s | lookup w on k\n",
        ["4:21: error: 'w' is a view; 'lookup' reads a stream with a 'key'"],
    ),
    (
        "views reading each other",
        "view a = b | where true\nview b = a | where true\n",
        ["2:10: error: view 'a' reads from itself: a -> b -> a"],
    ),
    (
        "unknown model in score",
        'stream s\nmodel fraud = onnx "f.onnx"\n    inputs (x)\nview v = s | score frud as r\n',
        ["4:20: error: unknown model 'frud' (did you mean 'fraud'?)"],
    ),
    (
        "model input that is not a field of the scored view",
        'stream s\n    schema { amount: float }\nmodel m = onnx "m.onnx"\n'
        "    inputs (amount, risk)\n"
        "view v = s | score m as r\n",
        ["4:21: error: unknown field 'risk' in the inputs of model 'm'"],
    ),
    # ------------------------------------------------------------------ models
    (
        "variants without split by",
        'model m = onnx "a.onnx" weight 50, onnx "b.onnx" weight 50\n    inputs (x)\n',
        ["1:36: error: model 'm' has several variants but no 'split by'"],
    ),
    (
        "variant weight of zero",
        'model m = onnx "a.onnx" weight 0, onnx "b.onnx" weight 10 split by k\n    inputs (x)\n',
        ["1:11: error: a variant's weight must be greater than 0, not 0"],
    ),
    (
        "model without inputs",
        'model m = onnx "a.onnx"\n',
        ["1:7: error: model 'm' has no 'inputs'"],
    ),
    (
        "batch of zero",
        'model m = onnx "a.onnx"\n    inputs (x)\n    batch 0\n',
        ["3:11: error: a batch size must be at least 1, not 0"],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in CASES], ids=[name for name, _, _ in CASES]
)
def test_broken_file_reports_exactly_these_errors(text: str, expected: list[str]) -> None:
    assert errors(text) == expected


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
