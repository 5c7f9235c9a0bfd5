"""The sampling recipe: popgen's default strategy, in a module that loads no JAX.

The training half of docs/experiments.md's recipe is the defaults of
:class:`popgen.TrainConfig` and :class:`popgen.models.LSTMConfig`; the
sampling half is :data:`DEFAULT_STRATEGY`, read by ``popgen generate``,
``popgen evaluate`` and :class:`popgen.evaluate.EvaluationConfig` (and
re-exported as ``popgen.sampling.DEFAULT_STRATEGY``). The command line
shows it in its help without importing JAX, hence this module of its own.

>>> from popgen.recipe import DEFAULT_STRATEGY
>>> DEFAULT_STRATEGY.split(",")[0]
'temperature=1.1'
"""

from __future__ import annotations

__all__ = ["DEFAULT_STRATEGY", "SONG_STRATEGY", "recipe_for"]

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


def recipe_for(encoding: str, chords: bool = False) -> str:
    """The sampling recipe a run of ``encoding`` records: :data:`SONG_STRATEGY` with chords.

    >>> recipe_for("note") == DEFAULT_STRATEGY, recipe_for("pop", chords=True) == SONG_STRATEGY
    (True, True)
    """
    return SONG_STRATEGY if chords and encoding in ("pop", "lead") else DEFAULT_STRATEGY
