"""The matcher's event loop, generated for each pattern (the hottest code of the engine).

Most events start nothing and belong to a key with no partial match: for them the loop only
reads the key and tests the start conditions. Generating the loop lets both be inlined — the
key as `e.get('card_id')`, the conditions as the same fast Python source the expression
compiler made for them — instead of costing a function call each. Everything else is handed
to `Matcher._process`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gress_cep.dsl.expressions import BASE_NAMESPACE, inline_code

if TYPE_CHECKING:
    from gress_cep.nfa.matcher import Matcher

Record = dict[str, Any]
FeedFn = Callable[[list[tuple[int, Record]], int, list[Any], list[Any]], int]


def start_conditions(matcher: Matcher) -> list[Callable[[Record, Any], bool]] | None:
    """The take conditions reachable from the start state; None when an event can always
    start a match (a variable without condition, or a conditional PROCEED on the way)."""
    fns: list[Callable[[Record, Any], bool]] = []
    todo, seen = [matcher.start], set()
    while todo:
        st = todo.pop()
        if st.id in seen:
            continue
        seen.add(st.id)
        for target, fn in st.proceeds:
            if fn is not None:
                return None
            todo.append(target)
        for _, fn in st.takes:
            if fn is None:
                return None
            fns.append(fn)
    return fns


def build_feed(matcher: Matcher, key_of: Callable[[Record], Any]) -> FeedFn:
    from gress_cep.nfa.matcher import KeyState

    namespace: dict[str, Any] = dict(BASE_NAMESPACE)
    namespace.update(
        _keys=matcher.keys,
        _store=matcher.store,
        _process=matcher._process,
        _start=matcher._start_run,
        _key_of=key_of,
        KeyState=KeyState,
        repr=repr,
        TypeError=TypeError,
    )
    field = getattr(key_of, "gress_field", None)
    key_expr = f"e.get({field!r})" if field is not None else "_key_of(e)"
    conditions = start_conditions(matcher)
    if conditions is None:
        start_test = "True"
        fallback = "True"
    elif not conditions:
        start_test = fallback = "False"
    else:
        fast, slow = [], []
        for i, fn in enumerate(conditions):
            inline = inline_code(fn)
            name = f"_cond{i}"
            namespace[name] = fn
            slow.append(f"{name}(e, r)")
            if inline is None:
                fast.append(f"{name}(e, r)")
            else:
                namespace.update(inline.namespace)
                fast.append(f"({inline.fast})")
        start_test = " or ".join(fast)
        fallback = " or ".join(slow)
    source = f"""
def feed(ready, seq, matches, timeouts):
    keys = _keys
    store = _store
    process = _process
    r = _start
    for ts, e in ready:
        seq += 1
        key = {key_expr}
        try:
            ks = keys.get(key)
        except TypeError:  # an unhashable key value (a list, a dict): use its text
            key = repr(key)
            ks = keys.get(key)
        if ks is None and store.spilled:
            ks = store.load(key)  # state larger than memory: this key's is on disk
        if ks is None:
            # a key with no partial match needs only the start state, and most events
            # cannot start a match
            try:
                ok = {start_test}
            except Exception:
                ok = {fallback}
            if not ok:
                continue
            ks = keys[key] = KeyState(key)
        process(key, ks, e, ts, seq, matches, timeouts)
    return seq
"""
    namespace["__builtins__"] = {**namespace["__builtins__"], "Exception": Exception}
    exec(compile(source, f"<gress kernel {matcher.nfa.name}>", "exec"), namespace)
    feed: FeedFn = namespace["feed"]
    return feed
