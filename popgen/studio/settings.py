"""What the studio page asks for, checked before anything is loaded or generated.

:class:`Settings` holds the page's controls as plain values; building one
checks each against its range and says what was received. :func:`strategy_spec`
turns the sampling controls into one strategy spec (:mod:`popgen.sampling.spec`),
the way ``popgen generate`` turns its flags into a chain, and
:func:`check_strategy` refuses settings that would leave the model no pitch
to play.

>>> settings = Settings(chords="C G Am F", temperature=0.9, top_p=0.95, candidates=2)
>>> strategy_spec(settings, recipe="temperature=1.0")
'temperature=0.9,top_p=0.95'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from popgen.checks import whole_number
from popgen.music import limits
from popgen.music.sections import parse_form
from popgen.sampling.recipe import strategy_spec as _spec

if TYPE_CHECKING:
    from popgen.sampling import Strategy
    from popgen.tokenizers.base import Tokenizer

__all__ = [
    "MAX_BARS",
    "MAX_CANDIDATES",
    "MAX_TOKENS",
    "Settings",
    "StudioError",
    "check_strategy",
    "settings_from_page",
    "strategy_spec",
]

#: The most candidates one click writes (each is a row of the batch, and a row on the page).
MAX_CANDIDATES = limits.STUDIO_MAX_CANDIDATES
#: The most tokens one candidate may take: a page request must stay seconds, not minutes.
MAX_TOKENS = limits.STUDIO_MAX_TOKENS
#: The most bars a progression may ask for.
MAX_BARS = limits.STUDIO_MAX_BARS


class StudioError(ValueError):
    """Bad input on the studio page; the message is shown on the page as it is.

    >>> str(StudioError("the chord progression is empty"))
    'the chord progression is empty'
    """


@dataclass(frozen=True)
class Settings:
    """The controls of one click on *Generate*.

    Attributes:
        chords: a progression as ``popgen generate --chords`` takes it
            (:func:`popgen.music.progression.parse_progression`); ``""`` for none.
        bars: bars to write over the chords; ``None``: the progression's.
        form: the song's sections, as ``popgen generate --form`` takes them
            (``"i4 A8 B8 A8 B8 o4"``); ``""``: 8-bar sections A B A B ... The
            chords may then name a progression per section, a line each
            (``"A: C G Am F"``).
        tokens: tokens per candidate; ``None``: 400, or enough for every bar.
        temperature: divide the logits by this (> 0); ``None``: not applied.
        top_k: keep the k most likely tokens; ``None``: not applied.
        top_p: keep the nucleus of this probability, in (0, 1]; ``None``: not applied.
        strategy: a strategy spec applied after the above, e.g.
            ``"repetition_penalty=1.2"``; ``None``: the run's recipe when
            none of the above is set, else nothing more.
        seed: the sampling seed; the same settings and seed give the same songs.
        candidates: songs written by one click, 1..:data:`MAX_CANDIDATES`.

    >>> Settings(top_p=1.5)
    Traceback (most recent call last):
    popgen.studio.settings.StudioError: top-p must be in (0, 1], got 1.5
    """

    chords: str = ""
    bars: int | None = None
    form: str = ""
    tokens: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    strategy: str | None = None
    seed: int = 0
    candidates: int = 1

    def __post_init__(self) -> None:
        _whole(self.candidates, "candidates", 1, MAX_CANDIDATES)
        _whole(self.seed, "seed", 0, 2**31 - 1)
        if self.tokens is not None:
            _whole(self.tokens, "tokens", 1, MAX_TOKENS)
        if self.bars is not None:
            _whole(self.bars, "bars", 1, MAX_BARS)
            if not self.chords.strip():
                raise StudioError("bars are counted over chords: give a chord progression too")
        if self.form.strip():
            if not self.chords.strip():
                raise StudioError("a form needs chords to follow: give a chord progression too")
            try:
                parse_form(self.form)
            except ValueError as exc:
                raise StudioError(str(exc)) from None
        if self.top_k is not None:
            _whole(self.top_k, "top-k", 1, 1_000_000)
        if self.temperature is not None and not (
            math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise StudioError(f"temperature must be > 0, got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise StudioError(f"top-p must be in (0, 1], got {self.top_p}")


def _whole(value: object, name: str, low: int, high: int) -> None:
    """Refuse a value that is not a whole number in ``low..high``, naming it."""
    whole_number(value, name, minimum=low, maximum=high, error=StudioError)


def strategy_spec(settings: Settings, *, recipe: str) -> str:
    """One strategy spec for the sampling controls (:func:`popgen.sampling.recipe.strategy_spec`).

    Temperature, top-k and top-p come first, then ``settings.strategy``;
    with none of them set, the run's ``recipe``.

    >>> strategy_spec(Settings(), recipe="temperature=0.9,chord_tones=1.5")
    'temperature=0.9,chord_tones=1.5'
    >>> strategy_spec(Settings(top_k=20, strategy="repetition_penalty=1.2"), recipe="x")
    'top_k=20,repetition_penalty=1.2'
    """
    return _spec(
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
        strategy=settings.strategy,
        recipe=recipe,
    )


def check_strategy(spec: str, tokenizer: Tokenizer) -> Strategy:
    """The strategy of ``spec``, refused if it leaves no token, or no pitch, to draw.

    The check applies the strategy once to flat logits with an empty
    history: constraints that ban every pitch (``pitch_range(0, 5)`` for a
    model of piano notes) would otherwise give silent songs.

    Raises:
        StudioError: the spec does not parse, or leaves no pitch.

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("note")
    >>> callable(check_strategy("top_p=0.9", tok).apply)
    True
    >>> check_strategy("in_key=C,pitch_range(61, 61)", tok)  # C# is not in C major
    Traceback (most recent call last):
    popgen.studio.settings.StudioError: the strategy 'in_key=C,pitch_range(61, 61)' leaves no ...
    """
    import jax.numpy as jnp
    import numpy as np

    from popgen.errors import PopgenError
    from popgen.sampling import History, parse_strategy

    try:
        strategy = parse_strategy(spec, tokenizer)
        logits, _ = strategy.apply(
            jnp.zeros((1, tokenizer.vocab_size), jnp.float32),
            strategy.init(1),
            History.empty(1, 8),
        )
    except (PopgenError, ValueError, TypeError, KeyError) as exc:
        raise StudioError(f"the strategy {spec!r} cannot be used: {exc}") from None
    allowed = np.isfinite(np.asarray(logits[0]))
    pitched = tokenizer.token_pitches() >= 0
    if not allowed.any() or (pitched.any() and not (allowed & pitched).any()):
        raise StudioError(
            f"the strategy {spec!r} leaves no pitch the model can play (it masks every "
            "pitch token); widen the range or drop a constraint"
        )
    return strategy


def settings_from_page(
    *,
    chords: str | None,
    bars: float | None,
    tokens: float | None,
    form: str | None = None,
    temperature: float | None,
    top_k: float | None,
    top_p: float | None,
    strategy: str | None,
    seed: float | None,
    candidates: float | None,
) -> Settings:
    """:class:`Settings` from the page's fields: numbers arrive as floats, 0 or ``None`` for unset.

    Bars, tokens, temperature, top-k and top-p of 0 (or empty) are unset: the
    progression's bars, enough tokens, no such strategy. An empty strategy
    field means the run's recipe (when no other sampling field is set);
    ``"plain"`` means no strategy at all.

    Raises:
        StudioError: a field out of range, or a fraction where a whole number belongs.

    >>> settings_from_page(chords=" C G ", bars=4.0, tokens=0.0, temperature=0.0, top_k=0,
    ...                    top_p=None, strategy="", seed=3.0, candidates=2.0)
    Settings(chords='C G', bars=4, form='', tokens=None, temperature=None, top_k=None, \
top_p=None, strategy=None, seed=3, candidates=2)
    """
    text = (strategy or "").strip()
    return Settings(
        chords=(chords or "").strip(),
        bars=_count(bars, "bars"),
        form=(form or "").strip(),
        tokens=_count(tokens, "tokens"),
        temperature=float(temperature) if temperature else None,
        top_k=_count(top_k, "top-k"),
        top_p=float(top_p) if top_p else None,
        strategy="" if text == "plain" else (text or None),
        seed=_count(seed, "seed", zero=0) or 0,
        candidates=_count(candidates, "candidates") or 1,
    )


def _count(value: float | None, name: str, *, zero: int | None = None) -> int | None:
    """A whole number from a number field; ``None`` when empty, ``zero``'s value for 0."""
    if value is None:
        return None
    if not math.isfinite(value) or value != int(value):
        raise StudioError(f"{name} must be a whole number, got {value}")
    return zero if int(value) == 0 else int(value)
