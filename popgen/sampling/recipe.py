"""The sampling recipe: popgen's default strategy, in a module that loads no JAX.

The training half of docs/experiments.md's recipe is the defaults of
:class:`popgen.TrainConfig` and :class:`popgen.models.LSTMConfig`; the
sampling half is :data:`DEFAULT_STRATEGY`, read by ``popgen generate``,
``popgen evaluate`` and :class:`popgen.evaluation.compute.EvaluationConfig` (and
re-exported as ``popgen.sampling.DEFAULT_STRATEGY``). The command line
shows it in its help without importing JAX, hence this module of its own.

>>> from popgen.sampling.recipe import DEFAULT_STRATEGY
>>> DEFAULT_STRATEGY.split(",")[0]
'temperature=1.1'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from popgen.runs.run import Run
    from popgen.tokenizers.base import Tokenizer

__all__ = [
    "DEFAULT_STRATEGY",
    "FORM_STRATEGY",
    "SONG_STRATEGY",
    "recipe_for",
    "recipe_of",
    "run_recipe",
    "strategy_spec",
]

#: The sampling recipe of ``docs/experiments.md``, used by ``popgen generate`` and
#: ``popgen evaluate`` unless told otherwise: pop melodies' habit of coming back to
#: their own phrases, no note repeated more than six times in a row, and a slightly
#: warmed distribution (the phrase boost sharpens it). Tuned for the model that
#: the default ``TrainConfig`` and ``LSTMConfig`` make; ``""`` is plain sampling.
DEFAULT_STRATEGY = "temperature=1.1,repeat_melody(4, 4.0),max_same_pitch_run=6"

#: The recipe for runs that see chords (``pop``, ``lead``; docs/experiments.md, "Songs
#: over chords"): a slightly cooled distribution and a bonus of 1.5 nats for the tones
#: of the chord sounding at each note (``chord_tones``, a sampling-time patch).
SONG_STRATEGY = "temperature=0.9,chord_tones=1.5"

#: The recipe for runs of a form-aware encoding (``pop``, ``lead`` with ``sections``)
#: whose models hear the chord, the bar, the section and the lookbacks at every step
#: (``popgen train --step-features``): they follow the chords with no patch,
#: temperature and nucleus only (docs/experiments.md, "What the classifier sees": a
#: wider nucleus than 0.9 keeps the leaps and rests a cooler one cuts).
FORM_STRATEGY = "temperature=0.95,top_p=0.95"


def recipe_for(
    encoding: str, chords: bool = False, sections: bool = False, features: bool = False
) -> str:
    """The sampling recipe a run of ``encoding`` records.

    :data:`FORM_STRATEGY` for ``pop`` and ``lead`` with sections read by a
    model of step features, :data:`SONG_STRATEGY` for them with chords
    otherwise, else :data:`DEFAULT_STRATEGY`.

    >>> recipe_for("note") == DEFAULT_STRATEGY, recipe_for("pop", chords=True) == SONG_STRATEGY
    (True, True)
    >>> recipe_for("pop", chords=True, sections=True, features=True)
    'temperature=0.95,top_p=0.95'
    """
    if encoding not in ("pop", "lead"):
        return DEFAULT_STRATEGY
    if sections and features:
        return FORM_STRATEGY
    return SONG_STRATEGY if chords else DEFAULT_STRATEGY


def recipe_of(tokenizer: Tokenizer, *, features: bool = False) -> str:
    """The recipe for runs of ``tokenizer``'s encoding (:func:`recipe_for` its options).

    ``features``: whether the run's model reads the encoding's step features.

    >>> from popgen.tokenizers import get_tokenizer
    >>> recipe_of(get_tokenizer("note")) == DEFAULT_STRATEGY
    True
    >>> recipe_of(get_tokenizer("pop", sections=True), features=True) == FORM_STRATEGY
    True
    """
    config = getattr(tokenizer, "config", None)
    chords = bool(getattr(config, "chords", False))
    sections = bool(getattr(config, "sections", False))
    return recipe_for(tokenizer.name, chords, sections, features)


def run_recipe(run: Run) -> str:
    """The strategy spec a run recorded, else the recipe of its encoding (:func:`recipe_of`).

    >>> from types import SimpleNamespace
    >>> from popgen.tokenizers import get_tokenizer
    >>> run = SimpleNamespace(usage=SimpleNamespace(strategy=None), tokenizer=get_tokenizer("note"),
    ...                       model=SimpleNamespace(feature_dim=0))
    >>> run_recipe(run) == DEFAULT_STRATEGY
    True
    """
    recorded = run.usage.strategy
    if recorded is not None:
        return recorded
    return recipe_of(run.tokenizer, features=bool(getattr(run.model, "feature_dim", 0)))


def strategy_spec(
    *,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    strategy: str | None = None,
    recipe: str = DEFAULT_STRATEGY,
) -> str:
    """The one strategy spec of the sampling settings a person gives.

    ``popgen generate``'s flags, the studio's controls and the demo all build
    their strategy here: temperature, top-k and top-p first, then ``strategy``
    (a spec of its own); with none of them, ``recipe`` (the run's recipe).
    Parse the result with :func:`popgen.sampling.parse_strategy`.

    >>> strategy_spec(recipe="temperature=0.9,chord_tones=1.5")
    'temperature=0.9,chord_tones=1.5'
    >>> strategy_spec(temperature=1.2, top_p=0.95, recipe="x")
    'temperature=1.2,top_p=0.95'
    >>> strategy_spec(top_k=20, strategy="repetition_penalty=1.2", recipe="x")
    'top_k=20,repetition_penalty=1.2'
    """
    parts = []
    if temperature is not None:
        parts.append(f"temperature={temperature:g}")
    if top_k is not None:
        parts.append(f"top_k={top_k}")
    if top_p is not None:
        parts.append(f"top_p={top_p:g}")
    extra = strategy
    if extra is None:
        extra = "" if parts else recipe
    return ",".join(p for p in (*parts, extra.strip()) if p)
