"""Property: on random small patterns and inputs, the engine agrees with the reference matcher.

Patterns are sequences of 2-4 variables over event kinds a-d (e is never asked for), with random
connectors, quantifiers, inner contiguity, `until`, and skip strategies; inputs are up to 8
events. Both sides must produce the same matches: as multisets under `skip no`, in the same
order otherwise. A failure prints the pattern file and the events it ran on.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from gress_cep.dsl import load

from .harness import canonical_match, case, check
from .reference_matcher import (
    Condition,
    Contiguity,
    Element,
    Skip,
    Spec,
    matches,
    spec_from_source,
)

KINDS = "abcd"
NOISE = "e"
CONTIGUITIES: list[Contiguity] = ["strict", "relaxed", "any"]

conditions = st.sets(st.sampled_from(KINDS), min_size=1, max_size=2).map(
    lambda kinds: Condition(frozenset(kinds))
)


@st.composite
def elements(draw: st.DrawFn, var: str) -> Element:
    condition = draw(conditions)
    shape = draw(st.sampled_from(["single", "?", "+", "*", "{n}", "{n,}", "{n,m}"]))
    if shape == "single":
        return Element(var, condition)
    if shape == "?":
        return Element(var, condition, optional=True, quantified=True)
    if shape == "{n}":
        n = draw(st.integers(1, 3))
        low, high = n, n
    elif shape == "{n,m}":
        low = draw(st.integers(1, 2))
        high = draw(st.integers(low + 1, 3))
    else:
        low = 1 if shape in ("+", "*") else draw(st.integers(1, 2))
        high = None
    optional = shape == "*" or (shape != "+" and draw(st.booleans()))
    looping = shape != "{n}"  # inner contiguity is only written on loops
    inner = draw(st.sampled_from(CONTIGUITIES)) if looping else "relaxed"
    until = draw(st.none() | conditions) if high is None else None
    return Element(var, condition, low, high, optional, inner, until, quantified=True)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    size = draw(st.integers(2, 4))
    chosen = tuple(draw(elements(f"v{i}")) for i in range(size))
    # a pattern that could match nothing at all is not what this test is about
    if all(e.optional for e in chosen):
        first = chosen[0]
        chosen = (Element(first.var, first.condition), *chosen[1:])
    connectors = tuple(draw(st.sampled_from(CONTIGUITIES)) for _ in range(size - 1))
    kind = draw(st.sampled_from(["no", "to_next", "past_last", "to_first", "to_last"]))
    if kind in ("to_first", "to_last"):
        return Spec(chosen, connectors, Skip(kind, draw(st.sampled_from([e.var for e in chosen]))))
    return Spec(chosen, connectors, Skip(kind))


event_streams = st.lists(st.sampled_from(KINDS + NOISE), max_size=8).map(
    lambda kinds: " ".join(f"{kind}{i}" for i, kind in enumerate(kinds))
)


@settings(max_examples=200, deadline=None)
@given(spec=specs())
def test_generated_patterns_are_valid_files_that_read_back_unchanged(spec: Spec) -> None:
    source = case("property", spec.pattern_text(), "a0", []).source()
    load(source)
    assert spec_from_source(source) == spec


@settings(max_examples=300, deadline=None)
@given(spec=specs(), events=event_streams)
def test_engine_agrees_with_the_reference_matcher(spec: Spec, events: str) -> None:
    probe = case("property", spec.pattern_text(), events, [])
    event_dicts = probe.event_dicts()
    expected = [canonical_match(m, event_dicts, "vars", "none") for m in matches(spec, event_dicts)]
    check(case("property", spec.pattern_text(), events, expected))
