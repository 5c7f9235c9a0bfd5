"""Sampling: strategies, the batched sampler, beam search, and controls.

Strategies shape next-token logits; controls (bars, chords, a given melody)
are what a song must follow.

Names are imported on first use, so that the command line can show the
recipe (:mod:`popgen.sampling.recipe`) without loading JAX.

>>> from popgen.sampling import parse_strategy
>>> len(parse_strategy("temperature=0.9,top_p=0.95").init(1))
2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.music.melody import melody_line
    from popgen.music.progression import parse_progression, read_progression
    from popgen.sampling.beam import BeamResult, beam_search
    from popgen.sampling.constraints import (
        SCALES,
        in_key,
        max_gap,
        no_repeat_ngram,
        pitch_range,
        repeat_melody,
        repeat_motifs,
        repetition_penalty,
    )
    from popgen.sampling.controls import Controls
    from popgen.sampling.follow import ControlState, Schedule, follow_controls, schedule
    from popgen.sampling.harmony import ChordToneState, chord_tones
    from popgen.sampling.primers import primer_from_corpus
    from popgen.sampling.recipe import (
        DEFAULT_STRATEGY,
        FORM_STRATEGY,
        SONG_STRATEGY,
        recipe_for,
        recipe_of,
        run_recipe,
    )
    from popgen.sampling.sampler import Sampler, StepFn, generate_ids, generate_scored
    from popgen.sampling.spec import (
        STRATEGIES,
        VOCABULARY_ARGUMENTS,
        get_strategy,
        list_strategies,
        parse_strategy,
        register_strategy,
    )
    from popgen.sampling.strategies import (
        History,
        Strategy,
        ban_tokens,
        chain,
        follow_grammar,
        greedy,
        identity,
        max_same_pitch_run,
        min_p,
        temperature,
        top_k,
        top_p,
        typical,
    )

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "BeamResult": "popgen.sampling.beam",
    "ChordToneState": "popgen.sampling.harmony",
    "ControlState": "popgen.sampling.follow",
    "Controls": "popgen.sampling.controls",
    "DEFAULT_STRATEGY": "popgen.sampling.recipe",
    "History": "popgen.sampling.strategies",
    "SCALES": "popgen.sampling.constraints",
    "FORM_STRATEGY": "popgen.sampling.recipe",
    "SONG_STRATEGY": "popgen.sampling.recipe",
    "STRATEGIES": "popgen.sampling.spec",
    "Sampler": "popgen.sampling.sampler",
    "Schedule": "popgen.sampling.follow",
    "StepFn": "popgen.sampling.sampler",
    "Strategy": "popgen.sampling.strategies",
    "VOCABULARY_ARGUMENTS": "popgen.sampling.spec",
    "ban_tokens": "popgen.sampling.strategies",
    "beam_search": "popgen.sampling.beam",
    "chain": "popgen.sampling.strategies",
    "chord_tones": "popgen.sampling.harmony",
    "follow_controls": "popgen.sampling.follow",
    "follow_grammar": "popgen.sampling.strategies",
    "generate_ids": "popgen.sampling.sampler",
    "generate_scored": "popgen.sampling.sampler",
    "get_strategy": "popgen.sampling.spec",
    "greedy": "popgen.sampling.strategies",
    "identity": "popgen.sampling.strategies",
    "in_key": "popgen.sampling.constraints",
    "list_strategies": "popgen.sampling.spec",
    "max_gap": "popgen.sampling.constraints",
    "max_same_pitch_run": "popgen.sampling.strategies",
    "melody_line": "popgen.music.melody",
    "min_p": "popgen.sampling.strategies",
    "no_repeat_ngram": "popgen.sampling.constraints",
    "parse_progression": "popgen.music.progression",
    "parse_strategy": "popgen.sampling.spec",
    "pitch_range": "popgen.sampling.constraints",
    "primer_from_corpus": "popgen.sampling.primers",
    "read_progression": "popgen.music.progression",
    "recipe_for": "popgen.sampling.recipe",
    "recipe_of": "popgen.sampling.recipe",
    "register_strategy": "popgen.sampling.spec",
    "repeat_melody": "popgen.sampling.constraints",
    "repeat_motifs": "popgen.sampling.constraints",
    "repetition_penalty": "popgen.sampling.constraints",
    "run_recipe": "popgen.sampling.recipe",
    "schedule": "popgen.sampling.follow",
    "temperature": "popgen.sampling.strategies",
    "top_k": "popgen.sampling.strategies",
    "top_p": "popgen.sampling.strategies",
    "typical": "popgen.sampling.strategies",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BeamResult",
    "ChordToneState",
    "ControlState",
    "Controls",
    "DEFAULT_STRATEGY",
    "FORM_STRATEGY",
    "History",
    "SCALES",
    "SONG_STRATEGY",
    "STRATEGIES",
    "Sampler",
    "Schedule",
    "StepFn",
    "Strategy",
    "VOCABULARY_ARGUMENTS",
    "ban_tokens",
    "beam_search",
    "chain",
    "chord_tones",
    "follow_controls",
    "follow_grammar",
    "generate_ids",
    "generate_scored",
    "get_strategy",
    "greedy",
    "identity",
    "in_key",
    "list_strategies",
    "max_gap",
    "max_same_pitch_run",
    "melody_line",
    "min_p",
    "no_repeat_ngram",
    "parse_progression",
    "parse_strategy",
    "pitch_range",
    "primer_from_corpus",
    "read_progression",
    "recipe_for",
    "recipe_of",
    "register_strategy",
    "repeat_melody",
    "repeat_motifs",
    "repetition_penalty",
    "run_recipe",
    "schedule",
    "temperature",
    "top_k",
    "top_p",
    "typical",
]
