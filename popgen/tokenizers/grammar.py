"""Token grammars: which token may follow a prefix, as a finite automaton.

An encoding describes its grammar over token *families* (the part of a name
before the first ``_``: ``PITCH`` for ``PITCH_60``; a name without ``_``, such
as ``AND`` or ``EOS``, is its own family). :func:`build_grammar` turns those
rules into a dense ``int32[states, vocab]`` transition table that a sampling
strategy can index inside jit, so generated sequences always decode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Grammar", "GrammarRules", "build_grammar", "family"]

#: ``{state: {family: next_state}}``; a family missing from a state is forbidden there.
GrammarRules = Mapping[str, Mapping[str, str]]


class Grammar(NamedTuple):
    """A token automaton over one vocabulary.

    Attributes:
        table: ``int32[states, vocab]``: the state after reading a token in a
            state, or -1 where the token may not come.
        start: the state at the start of a song (after ``BOS``).
        states: state names, indexed like the table's rows.

    >>> g = build_grammar(["PAD", "BOS", "EOS", "UNK", "A_1", "B_1"], "s",
    ...                   {"s": {"A": "t"}, "t": {"B": "s", "EOS": "s"}})
    >>> g.states, g.table[g.start].tolist()  # from "s" only A_1 may come, leading to "t"
    (('s', 't'), [-1, 0, -1, -1, 1, -1])

    """

    table: NDArray[np.int32]
    start: int
    states: tuple[str, ...]

    def accepts(self, tokens: Sequence[int]) -> bool:
        """Whether the automaton reads ``tokens`` (ids after ``BOS``) without a forbidden one.

        >>> g = build_grammar(["PAD", "BOS", "EOS", "UNK", "A_1", "B_1"], "s",
        ...                   {"s": {"A": "t"}, "t": {"B": "s", "EOS": "s"}})
        >>> g.accepts([4, 5, 4]), g.accepts([4, 4])  # A B A; A A
        (True, False)
        """
        state = self.start
        for t in tokens:
            state = int(self.table[state, int(t)])
            if state < 0:
                return False
        return True


def family(name: str) -> str:
    """The family of a token name: ``"PITCH_60" -> "PITCH"``, ``"AND" -> "AND"``.

    >>> family("PITCH_60"), family("NOTE-ON_60"), family("AND")
    ('PITCH', 'NOTE-ON', 'AND')
    """
    return name.split("_", 1)[0]


def build_grammar(
    vocab: Sequence[str], start: str, rules: GrammarRules, *, bos: int = 1
) -> Grammar:
    """Build the transition table of ``rules`` over ``vocab``.

    Reading ``BOS`` (id ``bos``) returns to ``start`` from any state; special
    tokens other than those the rules name (``PAD``, ``UNK``) are forbidden.

    >>> g = build_grammar(["PAD", "BOS", "EOS", "UNK", "A_1", "B_1"], "s",
    ...                   {"s": {"A": "t"}, "t": {"B": "s", "EOS": "s"}})
    >>> g.accepts([4, 5, 4, 2]), g.accepts([5])
    (True, False)
    """
    targets = {nxt for moves in rules.values() for nxt in moves.values()}
    unknown = targets - set(rules)
    if start not in rules or unknown:
        raise ValueError(f"grammar rules name undefined states: {sorted(unknown | {start})}")
    states = tuple(rules)
    index = {s: i for i, s in enumerate(states)}
    families = [family(n) for n in vocab]
    table = np.full((len(states), len(vocab)), -1, dtype=np.int32)
    for s, moves in rules.items():
        for v, fam in enumerate(families):
            if fam in moves:
                table[index[s], v] = index[moves[fam]]
    table[:, bos] = index[start]
    return Grammar(table, index[start], states)
