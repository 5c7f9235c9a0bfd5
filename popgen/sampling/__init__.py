"""Sampling: strategies that shape next-token logits, and the batched sampler."""

from popgen.sampling.sampler import Sampler, StepFn, generate_ids
from popgen.sampling.strategies import (
    STRATEGIES,
    History,
    Strategy,
    chain,
    follow_grammar,
    get_strategy,
    greedy,
    identity,
    list_strategies,
    max_same_pitch_run,
    register_strategy,
    temperature,
    top_k,
    top_p,
)

__all__ = [
    "STRATEGIES",
    "History",
    "Sampler",
    "StepFn",
    "Strategy",
    "chain",
    "follow_grammar",
    "generate_ids",
    "get_strategy",
    "greedy",
    "identity",
    "list_strategies",
    "max_same_pitch_run",
    "register_strategy",
    "temperature",
    "top_k",
    "top_p",
]
