"""Strategies by name: the registry, and the parser of ``--strategy`` specs.

A spec is a comma-separated chain of registered strategies, applied in order::

    temperature=0.9,top_p=0.95,repetition_penalty=1.2
    greedy
    pitch_range(48, 84),in_key=A minor,repetition_penalty(1.2, window=32)
    max_gap=16,temperature=0.9

``name=value`` passes one argument, ``name(a, b, key=value)`` several, and a
bare ``name`` none. Values are Python literals (``0.9``, ``20``, ``[11]``,
``'x'``); anything else is a string (``A minor``). Put constraints
(``in_key``, ``pitch_range``, ...) before truncations (``top_k``, ``top_p``,
...); see :mod:`popgen.sampling.constraints`.

**Vocabulary arguments.** A factory that needs the meaning of the tokens says
so by naming a parameter after an entry of :data:`VOCABULARY_ARGUMENTS`; the
parser fills it from the tokenizer (``pitches`` gets
``tokenizer.token_pitches()``, ``tokenizer`` the tokenizer itself). User strategies registered with
:func:`register_strategy` get the same service by the same convention.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from popgen.registry import Registry
from popgen.sampling.constraints import (
    in_key,
    max_gap,
    no_repeat_ngram,
    pitch_range,
    repeat_melody,
    repeat_motifs,
    repetition_penalty,
)
from popgen.sampling.harmony import chord_tones
from popgen.sampling.recipe import DEFAULT_STRATEGY
from popgen.sampling.strategies import (
    Strategy,
    chain,
    greedy,
    identity,
    max_same_pitch_run,
    min_p,
    temperature,
    top_k,
    top_p,
    typical,
)

if TYPE_CHECKING:
    from popgen.tokenizers.base import Tokenizer

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "VOCABULARY_ARGUMENTS",
    "get_strategy",
    "list_strategies",
    "parse_strategy",
    "register_strategy",
]


#: Strategy factories by name (plugins: entry-point group ``popgen.strategies``).
STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy", group="popgen.strategies")
for _factory in (
    chord_tones,
    greedy,
    identity,
    in_key,
    max_gap,
    max_same_pitch_run,
    min_p,
    no_repeat_ngram,
    pitch_range,
    repeat_melody,
    repeat_motifs,
    repetition_penalty,
    temperature,
    top_k,
    top_p,
    typical,
):
    STRATEGIES.add(_factory.__name__, _factory)


def _token_pitches(tokenizer: Tokenizer) -> Any:
    return tokenizer.token_pitches()


#: Factory parameters the parser fills from the tokenizer: name -> how to get the array.
VOCABULARY_ARGUMENTS: dict[str, Callable[[Tokenizer], Any]] = {
    "pitches": _token_pitches,
    "tokenizer": lambda tokenizer: tokenizer,
}


def register_strategy(name: str, *, replace: bool = False) -> Callable[[Any], Any]:
    """Decorator registering a strategy factory under ``name``.

    >>> import jax.numpy as jnp
    >>> from popgen.sampling import History, Strategy, temperature
    >>> @register_strategy("soft")
    ... def soft(amount: float = 2.0) -> Strategy:
    ...     return temperature(amount)
    >>> s = parse_strategy("soft=4,top_k=2")
    >>> s.apply(jnp.array([[4.0, 8.0, 0.0]]), s.init(1), History.empty(1, 1))[0].tolist()
    [[1.0, 2.0, -inf]]
    """
    return STRATEGIES.register(name, replace=replace)


def get_strategy(name: str, *args: Any, **kwargs: Any) -> Strategy:
    """Build the strategy registered as ``name``: ``get_strategy("top_k", 20)``.

    >>> import jax.numpy as jnp
    >>> from popgen.sampling import History
    >>> s = get_strategy("top_k", 2)
    >>> s.apply(jnp.array([[1.0, 3.0, 2.0]]), s.init(1), History.empty(1, 1))[0].tolist()
    [[-inf, 3.0, 2.0]]
    """
    return STRATEGIES.get(name)(*args, **kwargs)


def list_strategies() -> list[str]:
    """Names of every registered strategy factory, plugins included.

    >>> list_strategies()
    ['chord_tones', 'greedy', 'identity', 'in_key', 'max_gap', 'max_same_pitch_run', 'min_p',
     'no_repeat_ngram', 'pitch_range', 'repeat_melody', 'repeat_motifs', 'repetition_penalty',
     'temperature', 'top_k', 'top_p', 'typical']
    """
    return STRATEGIES.names()


def parse_strategy(spec: str, tokenizer: Tokenizer | None = None) -> Strategy:
    """Build the chain a spec such as ``"temperature=0.9,top_p=0.95"`` names.

    Args:
        spec: the spec (see the module docstring); empty means :func:`identity`.
        tokenizer: fills the vocabulary arguments (:data:`VOCABULARY_ARGUMENTS`)
            of strategies that need them.

    Returns:
        ``chain`` of the named strategies, in order.

    Raises:
        UnknownNameError: a name no strategy is registered under (the message
            lists the known ones).
        ValueError: a malformed item, wrong arguments or a bad value; the
            message quotes the item and what was expected.

    >>> s = parse_strategy("temperature=0.9,top_k(20),top_p=0.95")
    >>> len(s.init(1))
    3

    """
    if not spec.strip():
        return identity()
    return chain(*(_build(item, tokenizer) for item in _split(spec, spec)))


_ITEM = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(?:=(.*)|\((.*)\))?\s*", re.DOTALL)
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)(.*)", re.DOTALL)


def _split(text: str, spec: str) -> list[str]:
    """Split at commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            raise ValueError(f"strategy spec {spec!r}: unbalanced brackets")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise ValueError(f"strategy spec {spec!r}: unbalanced brackets")
    return [*parts, current]


def _value(text: str, item: str) -> Any:
    text = text.strip()
    if not text:
        raise ValueError(f"strategy {item!r}: empty value")
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text


def _build(item: str, tokenizer: Tokenizer | None) -> Strategy:
    """One strategy from one spec item."""
    item = item.strip()
    match = _ITEM.fullmatch(item)
    if not item or match is None:
        raise ValueError(
            f"strategy {item!r}: expected name, name=value or name(value, key=value), "
            "e.g. 'top_p=0.95'"
        )
    name, one, several = match.groups()
    factory = STRATEGIES.get(name)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if one is not None:
        args.append(_value(one, item))
    elif several is not None and several.strip():
        for arg in _split(several, item):
            keyword = _KEYWORD.fullmatch(arg)
            if keyword:
                kwargs[keyword.group(1)] = _value(keyword.group(2), item)
            else:
                args.append(_value(arg, item))
    try:
        signature: inspect.Signature | None = inspect.signature(factory)
    except (TypeError, ValueError):  # a callable inspect cannot read: call it as given
        signature = None
    if signature is not None:
        bound = _bind(signature, args, kwargs, name, item, partial=True)
        for param, getter in VOCABULARY_ARGUMENTS.items():
            if param in signature.parameters and param not in bound.arguments:
                if tokenizer is None:
                    raise ValueError(
                        f"strategy {name!r} needs the tokenizer's {param}; "
                        "pass the tokenizer to parse_strategy"
                    )
                kwargs[param] = getter(tokenizer)
        _bind(signature, args, kwargs, name, item, partial=False)
    try:
        strategy = factory(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"strategy {item!r}: {exc}") from None
    if not isinstance(strategy, Strategy):
        raise ValueError(f"strategy {name!r} returned {type(strategy).__name__}, not a Strategy")
    return strategy


def _bind(
    signature: inspect.Signature,
    args: list[Any],
    kwargs: dict[str, Any],
    name: str,
    item: str,
    *,
    partial: bool,
) -> inspect.BoundArguments:
    try:
        if partial:
            return signature.bind_partial(*args, **kwargs)
        return signature.bind(*args, **kwargs)
    except TypeError as exc:
        shown = [
            p.replace(annotation=inspect.Parameter.empty)
            for p in signature.parameters.values()
            if p.name not in VOCABULARY_ARGUMENTS
        ]
        usage = f"{name}{inspect.Signature(shown)}"
        raise ValueError(f"strategy {item!r}: {exc}; usage: {usage}") from None
