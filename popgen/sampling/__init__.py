"""Sampling: strategies that shape next-token logits, the batched sampler, beam search.

>>> from popgen.sampling import parse_strategy
>>> len(parse_strategy("temperature=0.9,top_p=0.95").init(1))
2
"""

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
from popgen.sampling.harmony import chord_tones
from popgen.sampling.primers import primer_from_corpus
from popgen.sampling.sampler import Sampler, StepFn, generate_ids, generate_scored
from popgen.sampling.spec import (
    DEFAULT_STRATEGY,
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

__all__ = [
    "DEFAULT_STRATEGY",
    "SCALES",
    "STRATEGIES",
    "VOCABULARY_ARGUMENTS",
    "BeamResult",
    "History",
    "Sampler",
    "StepFn",
    "Strategy",
    "ban_tokens",
    "beam_search",
    "chain",
    "chord_tones",
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
    "min_p",
    "no_repeat_ngram",
    "repeat_melody",
    "repeat_motifs",
    "parse_strategy",
    "pitch_range",
    "primer_from_corpus",
    "register_strategy",
    "repetition_penalty",
    "temperature",
    "top_k",
    "top_p",
    "typical",
]
