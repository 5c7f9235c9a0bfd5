"""How a run is meant to be used: how its songs were read, its meter, its sampling recipe.

A run records a :class:`RunUsage` in ``popgen.json`` when it is trained, so
that nothing has to be repeated by hand afterwards: ``popgen evaluate`` reads
reference songs as the training songs were read (tracks, key, grid,
annotations), and ``popgen generate`` and :meth:`popgen.Sampler.from_run`
sample with the recorded recipe and write songs in the training songs' meter.
Each of them takes explicit settings that win over the recorded ones.

>>> from popgen.corpus.options import CorpusOptions
>>> usage = RunUsage(reading=CorpusOptions(tracks=["MELODY"], transpose_to="C"))
>>> RunUsage.from_dict(usage.to_dict()) == usage
True
>>> usage.meter, usage.strategy
((4, 4), None)
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from popgen.corpus.options import CorpusOptions
from popgen.music.song import Track

if TYPE_CHECKING:
    from popgen.music.song import Song

__all__ = ["RunUsage", "usage_for", "usage_from_counts"]


@dataclass(frozen=True)
class RunUsage:
    """What a run recorded about its songs and how to sample it.

    >>> RunUsage(meter=(3, 4)).meter
    (3, 4)
    """

    reading: CorpusOptions | None = None  # how the training songs were read; None: unknown
    meter: tuple[int, int] = (4, 4)  # the training songs' most common bar, as a time signature
    # the recommended sampling strategy spec; None: the recipe of the run's encoding
    # (popgen.sampling.recipe.recipe_of), which training records
    strategy: str | None = None
    track: Track | None = None  # the one track of single-track training songs (name, role)

    def __post_init__(self) -> None:
        num, den = self.meter
        if num < 1 or den < 1:
            raise ValueError(f"meter must be a time signature such as (4, 4), got {self.meter}")
        object.__setattr__(self, "meter", (int(num), int(den)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the reading options as a dict of their fields).

        >>> RunUsage(strategy="top_p=0.9").to_dict()["strategy"]
        'top_p=0.9'
        """
        reading = dataclasses.asdict(self.reading) if self.reading is not None else None
        track = dataclasses.asdict(self.track) if self.track is not None else None
        return {
            "reading": reading,
            "meter": list(self.meter),
            "strategy": self.strategy,
            "track": track,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunUsage:
        """Inverse of :meth:`to_dict`.

        ``None`` or ``{}`` (a run from before popgen 0.2) gives the defaults;
        reading options this version does not know are left out.

        >>> RunUsage.from_dict(None) == RunUsage()
        True
        """
        if not data:
            return cls()
        reading = data.get("reading")
        options = None
        if isinstance(reading, dict):
            known = {f.name for f in dataclasses.fields(CorpusOptions)}
            options = CorpusOptions(**{k: v for k, v in reading.items() if k in known})
        meter = data.get("meter") or (4, 4)
        track = data.get("track")
        return cls(
            reading=options,
            meter=(int(meter[0]), int(meter[1])),
            strategy=None if data.get("strategy") is None else str(data["strategy"]),
            track=Track(**track) if isinstance(track, dict) else None,
        )


def usage_for(songs: Sequence[Song], reading: CorpusOptions | None) -> RunUsage:
    """The usage a run trained on ``songs`` read with ``reading`` records.

    The strategy is left to training, which records the recipe of the run's
    encoding (:func:`popgen.sampling.recipe.recipe_of`).

    The meter is the songs' most common bar; the track, when every song has
    one track, the most common of those (so generated songs are named alike).

    >>> from popgen.music.song import Song, make_notes
    >>> from popgen.music.time import TimeSignature
    >>> waltz = Song(make_notes([60], [0], [6]), time_signatures=[TimeSignature(0, 3, 4)],
    ...              tracks=(Track("MELODY", role="melody"),))
    >>> usage = usage_for([waltz], None)
    >>> usage.meter, usage.track
    ((3, 4), Track(name='MELODY', program=0, is_drum=False, role='melody'))
    """
    from popgen.music.bars import meter_counts

    tracks = Counter(s.tracks[0] for s in songs) if songs else None
    if not all(len(s.tracks) == 1 for s in songs):
        tracks = None
    meters = meter_counts([s.bar_lines() for s in songs])
    return usage_from_counts(meters, tracks, reading)


def usage_from_counts(
    meters: Counter[tuple[int, int]],
    tracks: Counter[Track] | None,
    reading: CorpusOptions | None,
) -> RunUsage:
    """:func:`usage_for` from counts gathered piecewise (a token store counts them per part).

    Args:
        meters: bars of each length over the songs (:func:`popgen.music.bars.meter_counts`).
        tracks: the one track of each song, counted; ``None`` when some song
            has several tracks.
        reading: how the songs were read.

    >>> usage_from_counts(Counter({(3, 4): 5, (4, 4): 2}), None, None).meter
    (3, 4)
    """
    track = tracks.most_common(1)[0][0] if tracks else None
    if reading is not None:  # either reader gives the same songs: none is required later
        reading = reading.replace(reader="auto")
    return RunUsage(
        reading=reading,
        meter=meters.most_common(1)[0][0] if meters else (4, 4),
        track=track,
    )
