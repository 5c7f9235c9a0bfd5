"""What steering needs from an encoding: bars that open with a token, chords, and parts.

:class:`popgen.Controls` (bars, chords, a given melody) are followed by
forcing, in each bar, the tokens the song must take
(:func:`popgen.sampling.follow.schedule`). Only an encoding that writes its
songs bar by bar, with each bar's chords and parts at known places, can say
what those tokens are. :class:`SteerableEncoding` names what it must offer;
``pop`` and ``lead`` implement it, and so can a user's own encoding: nothing in
:mod:`popgen.sampling` asks for a concrete tokenizer.

>>> from popgen.tokenizers import get_tokenizer
>>> isinstance(get_tokenizer("pop"), SteerableEncoding)
True
>>> isinstance(get_tokenizer("note"), SteerableEncoding)
False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from popgen.music.song import Song

__all__ = ["SteerableEncoding"]


@runtime_checkable
class SteerableEncoding(Protocol):
    """An encoding that sampling can steer bar by bar (see the module's text).

    The tokenizer must also have a grammar (:meth:`popgen.Tokenizer.grammar`),
    so that the model's free tokens between the forced ones always decode.

    >>> from popgen.tokenizers import get_tokenizer
    >>> lead = get_tokenizer("lead")
    >>> isinstance(lead, SteerableEncoding), lead.part_roles
    (True, ('melody',))
    """

    @property
    def bar_token(self) -> str:
        """The token that opens every bar.

        >>> from popgen.tokenizers import get_tokenizer
        >>> get_tokenizer("pop").bar_token
        'BAR'
        """
        ...

    @property
    def steers_chords(self) -> bool:
        """Whether each bar names its chords, so a progression can be followed.

        >>> from popgen.tokenizers import get_tokenizer
        >>> get_tokenizer("pop", chords=False).steers_chords
        False
        """
        ...

    @property
    def part_roles(self) -> tuple[str, ...]:
        """The roles of the parts each bar holds, in their order.

        >>> from popgen.tokenizers import get_tokenizer
        >>> get_tokenizer("pop").part_roles
        ('melody', 'accompaniment')
        """
        ...

    def part_token(self, role: str) -> str:
        """The token that opens the part of ``role`` in a bar.

        >>> from popgen.tokenizers import get_tokenizer
        >>> get_tokenizer("pop").part_token("melody")
        'MELODY'
        """
        ...

    def bar_prefixes(self, skeleton: Song, bars: int, given: int = 0) -> list[list[str]]:
        """Per bar, the token names generation must take.

        Args:
            skeleton: the song whose bars, meters, chords (and, with
                ``given``, parts) the controls fix.
            bars: how many bars to write.
            given: how many of :attr:`part_roles`, from the first, the
                skeleton gives in full; the model writes the rest of each bar.

        Returns:
            Each bar's forced names: its head (bar token, meter, chords), the
            given parts, and the token that opens the first part left to the model.

        >>> from popgen.music.chords import make_chords
        >>> from popgen.music.song import Song, make_notes
        >>> from popgen.tokenizers import get_tokenizer
        >>> skeleton = Song(make_notes([], [], []), chords=make_chords(["Am"], [0], [4]))
        >>> get_tokenizer("lead").bar_prefixes(skeleton, bars=1)
        [['BAR', 'CHORD_A:min', 'MELODY']]
        """
        ...
