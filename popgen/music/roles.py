"""Track roles: which track is the melody, the second voice, the accompaniment, the drums.

A role is one of :data:`popgen.music.song.ROLES` (or ``""`` when unknown). The
corpus sets each track's role when it reads a song: from a mapping the user
gives (track name -> role), else guessed by :func:`guess_role` from the track's
drum flag, name (POP909's ``MELODY``, ``BRIDGE`` and ``PIANO`` are melody,
second voice and accompaniment) and, for a name that says nothing, its
General MIDI program (:data:`ROLE_PROGRAMS`).

>>> from popgen.music.song import Song, Track, make_notes
>>> song = Song(make_notes([72, 67, 48], [0, 0, 0], [1, 1, 1], track=[0, 1, 2]),
...             tracks=(Track("MELODY"), Track("BRIDGE"), Track("PIANO")))
>>> [t.role for t in with_roles(song).tracks]
['melody', 'second', 'accompaniment']
"""

from __future__ import annotations

from collections.abc import Mapping

from popgen.music.song import ROLES, Song, Track

__all__ = ["ROLE_PROGRAMS", "ROLE_WORDS", "guess_role", "with_roles"]

#: Words in a track's name that give its role, tried in this order.
ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("drums", ("drum", "perc", "kit")),
    ("melody", ("melody", "lead", "vocal", "voice", "vox", "sing", "tune", "solo")),
    ("second", ("bridge", "second", "2nd", "counter", "harmony")),
    (
        "accompaniment",
        (
            "piano",
            "acc",
            "chord",
            "guitar",
            "pad",
            "string",
            "keys",
            "bass",
            "organ",
            "comp",
            "arp",
            "rhythm",
            "left",
        ),
    ),
)


#: General MIDI programs that give a role when a track's name does not: organs,
#: guitars, basses, string ensembles and pads accompany; lead synths (80-87) lead.
ROLE_PROGRAMS: dict[str, range | tuple[range, ...]] = {
    "accompaniment": (range(16, 24), range(24, 40), range(48, 52), range(88, 96)),
    "melody": range(80, 88),
}


def guess_role(track: Track) -> str:
    """The role a track's drum flag, name or program suggests, ``""`` when none says.

    Pianos (programs 0-7) say nothing: they play either part.

    >>> guess_role(Track("Lead Vocal")), guess_role(Track("Kick", is_drum=True))
    ('melody', 'drums')
    >>> guess_role(Track(program=33)), guess_role(Track())
    ('accompaniment', '')
    """
    if track.is_drum:
        return "drums"
    name = track.name.lower()
    for role, words in ROLE_WORDS:
        if any(word in name for word in words):
            return role
    for role, programs in ROLE_PROGRAMS.items():
        ranges = programs if isinstance(programs, tuple) else (programs,)
        if any(track.program in r for r in ranges):
            return role
    return ""


def with_roles(song: Song, roles: Mapping[str, str] | None = None) -> Song:
    """``song`` with a role on every track.

    A track's role comes from ``roles`` (track name, any case -> role), else
    the role the track already has, else :func:`guess_role`.

    Raises:
        ValueError: a role in ``roles`` that is not one of :data:`popgen.music.song.ROLES`.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60], [0], [1]), tracks=(Track("Flute"),))
    >>> with_roles(song, {"flute": "melody"}).tracks[0].role
    'melody'
    """
    given = {name.lower(): role for name, role in (roles or {}).items()}
    for role in given.values():
        if role not in ROLES:
            raise ValueError(f"unknown track role {role!r}; expected one of {', '.join(ROLES)}")
    tracks = tuple(
        Track(t.name, t.program, t.is_drum, given.get(t.name.lower(), t.role or guess_role(t)))
        for t in song.tracks
    )
    return song if tracks == song.tracks else song.replace(tracks=tracks)
