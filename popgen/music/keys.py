"""Keys: key names parsed and spelled, and music21's key analysis computed with numpy.

:func:`parse_key` reads ``"F# minor"`` or ``"Gb:maj"`` as a tonic pitch class and a mode.
The key finder gives music21's keys, a thousand times faster:

music21's default key finder (``analysis.discrete.AardenEssen``, what
``stream.analyze("key")`` runs) correlates how long each pitch class sounds
with a profile for each of the 24 keys. :func:`profile_key` computes the same
correlations as one matrix product; :func:`popgen.formats.score_reading.analyze_key` asks
music21 only when the best two are too close to call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PITCH_CLASSES",
    "key_signature",
    "key_tonic",
    "music21_duration",
    "parse_key",
    "profile_key",
    "spelled_names",
]

#: Pitch-class names with sharps, index = pitch class.
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


#: music21's default key profiles (``analysis.discrete.AardenEssen``), tonic first.
_MAJOR_PROFILE = np.array(
    [
        17.7661,
        0.145624,
        14.9265,
        0.160186,
        19.8049,
        11.3587,
        0.291248,
        22.062,
        0.145624,
        8.15494,
        0.232998,
        4.95122,
    ]
)
_MINOR_PROFILE = np.array(
    [
        18.2648,
        0.737619,
        14.0499,
        16.8599,
        0.702494,
        14.4362,
        0.702494,
        18.6161,
        4.56621,
        1.93186,
        7.37619,
        1.75623,
    ]
)
#: Row ``i``: the profile of the key whose tonic is pitch class ``i``, minus its mean.
_CENTRED = np.stack(
    [
        np.stack([np.roll(p, i) for i in range(12)]) - p.mean()
        for p in (_MAJOR_PROFILE, _MINOR_PROFILE)
    ]
).reshape(24, 12)
#: Closer than this, two keys' correlations could swap under float rounding.
_KEY_MARGIN = 1e-9


def profile_key(weights: NDArray[np.float64]) -> str | None:
    """The key music21 finds for these pitch-class durations, or ``None`` when too close to call.

    music21 first rounds each duration as a note's ``quarterLength`` does
    (:func:`music21_duration`), then takes the key whose profile correlates
    best with the durations. ``None`` when the best two correlations are
    within 1e-9 (a tie, or a gap float rounding could close), where only
    music21 itself can say.

    Args:
        weights: float64[12], how long each pitch class sounds, C first.

    Returns:
        ``"<tonic> major"`` or ``"<tonic> minor"``, sharps; or ``None``.

    >>> profile_key(np.array([2.0, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1]))
    'C major'
    >>> print(profile_key(np.ones(12)))
    None
    """
    values = np.array([music21_duration(float(w)) for w in weights])
    centred = values - values.sum() / 12
    spread = float(np.sum(centred * centred))
    if spread == 0:
        return None
    scores = (_CENTRED @ centred) / np.sqrt(np.sum(_CENTRED * _CENTRED, axis=1) * spread)
    best, second = np.argsort(scores)[::-1][:2]
    if scores[best] - scores[second] <= _KEY_MARGIN:
        return None
    mode = "major" if best < 12 else "minor"
    return f"{PITCH_CLASSES[best % 12]} {mode}"


def music21_duration(value: float) -> float:
    """``value`` as music21's ``common.opFrac`` stores a duration, as a float.

    A float whose exact ratio has a denominator above 65535 becomes the nearest
    fraction with a denominator up to 65535 (music21's own continued-fraction
    search, ties included), here with integers only.

    >>> music21_duration(0.5), music21_duration(1 / 3) == 1 / 3, music21_duration(0.1)
    (0.5, True, 0.1)
    """
    n, d = value.as_integer_ratio()
    if d <= _DENOM_LIMIT:
        return value
    n0, d0 = n, d
    p0, q0, p1, q1 = 0, 1, 1, 0
    while True:
        a = n // d
        q2 = q0 + a * q1
        if q2 > _DENOM_LIMIT:
            break
        p0, q0, p1, q1 = p1, q1, p0 + a * p1, q2
        n, d = d, n - a * d
    k = (_DENOM_LIMIT - q0) // q1
    n1, d1 = p0 + k * p1, q0 + k * q1
    far1 = abs(n1 * d0 - n0 * d1) * (d0 * q1)
    far2 = abs(p1 * d0 - n0 * q1) * (d0 * d1)
    return p1 / q1 if far1 >= far2 else n1 / d1


_DENOM_LIMIT = 65535




_FLATS = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10, "Cb": 11, "Fb": 4, "E#": 5, "B#": 0}


def parse_key(key: str) -> tuple[int, str]:
    """Split a key name into (tonic pitch class, mode).

    Accepts ``"C"``, ``"C major"``, ``"a minor"``, ``"Am"``, ``"Gb:maj"``,
    ``"f#"`` (lower case means minor, as in music21).

    >>> parse_key("Bb minor")
    (10, 'minor')
    >>> parse_key("e")
    (4, 'minor')
    """
    text = key.strip().replace(":", " ")
    parts = text.split()
    if not parts:
        raise ValueError(f"empty key name {key!r}; expected e.g. 'C major' or 'A minor'")
    tonic = parts[0]
    mode = parts[1].lower() if len(parts) > 1 else ""
    if not mode and len(tonic) > 1 and tonic.endswith("m") and tonic[:-1].lower() != "":
        tonic, mode = tonic[:-1], "minor"
    if not mode:
        mode = "minor" if tonic[0].islower() else "major"
    mode = {"maj": "major", "min": "minor"}.get(mode, mode)
    if mode not in ("major", "minor"):
        raise ValueError(f"unknown mode in key {key!r}; expected 'major' or 'minor'")
    name = tonic[0].upper() + tonic[1:].replace("-", "b")
    if name in _FLATS:
        return _FLATS[name], mode
    if name in PITCH_CLASSES:
        return PITCH_CLASSES.index(name), mode
    raise ValueError(f"unknown tonic in key {key!r}; expected a note name such as 'C', 'F#', 'Bb'")


def key_tonic(key: str) -> str:
    """Normalise a key name to ``"<Tonic> <mode>"`` with sharps, e.g. ``"A# minor"``.

    >>> key_tonic("Bbm"), key_tonic("f#"), key_tonic("C")
    ('A# minor', 'F# minor', 'C major')
    """
    pc, mode = parse_key(key)
    return f"{PITCH_CLASSES[pc]} {mode}"


#: Pitch-class names with flats, index = pitch class.
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: The names of a key without sharps or flats: the usual spelling of each black key.
_PLAIN_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def key_signature(key: str) -> int:
    """The sharps (> 0) or flats (< 0) of a key's signature.

    A key of six sharps or six flats (F# major, D# minor) is written with sharps.

    >>> key_signature("F# minor"), key_signature("Bb major"), key_signature("A minor")
    (3, -2, 0)
    """
    tonic, mode = parse_key(key)
    major = (tonic + 3) % 12 if mode == "minor" else tonic
    fifths = major * 7 % 12
    return fifths - 12 if fifths > 6 else fifths


def spelled_names(key: str | None) -> tuple[str, ...]:
    """The name of each pitch class as a piece in ``key`` spells it.

    Keys with sharps spell black keys with sharps, keys with flats with flats;
    C major, A minor and no key at all (``None``) use the usual names.

    >>> spelled_names("F# minor")[8], spelled_names("C minor")[8], spelled_names(None)[8]
    ('G#', 'Ab', 'Ab')
    """
    if key is None:
        return _PLAIN_NAMES
    sharps = key_signature(key)
    if sharps > 0:
        return PITCH_CLASSES
    return _FLAT_NAMES if sharps < 0 else _PLAIN_NAMES
