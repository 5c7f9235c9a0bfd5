"""The engine of :func:`popgen.outputs.audio.synthesize`: notes to a mono mix, vectorised.

Each key (a pitch, or a drum sound) is one voice table: the envelopes of its
notes are summed at a control rate (a point every 64 samples), and the key
then renders in blocks of 1024 samples as two small matrix products,
envelope interpolation ``[blocks, 17] @ [17, 1024]`` and oscillator
``[blocks, r] @ [r, 1024]`` (``r`` sines and cosines of its harmonics, with
per-block phases; noise rows for drums), for a slow-decaying part (the
fundamental) and a fast one (the upper harmonics). The cost is the number of
blocks in which each key sounds, with no Python loop over notes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["RELEASE", "render_notes"]

RELEASE = 0.1
"""Seconds from a note's end (or its key struck again) to silence."""

_HOP = 64  # samples between two envelope points
_BLOCK = 1024  # samples rendered by one row of the matrix products
_POINTS = _BLOCK // _HOP  # envelope points per block (plus one shared with the next)
_ROWS = 1024  # blocks rendered at once: bounds the temporary arrays to a few MB
_ATTACK = 0.005  # seconds from silence to the note's full level
_FLOOR = 1e-3  # an envelope this far down (-60 dB) is silence: the voice stops
# harmonic amplitudes: the ringing part (slow decay) and the bright part (fast decay)
_WARM = (1.0, 0.32, 0.1)
_BRIGHT = (0.0, 0.42, 0.3, 0.2, 0.13, 0.08, 0.05, 0.03)
_INHARMONIC = 2e-4  # a piano string's stiffness: harmonic h sounds at h * sqrt(1 + B h^2)
# General MIDI drum pitch -> (decay seconds, noise level, tone Hz, tone level, bright noise)
_DRUMS: dict[int, tuple[float, float, float, float, bool]] = {
    **{p: (0.3, 0.05, 55.0, 1.0, False) for p in (35, 36)},  # bass drums
    **{p: (0.15, 0.8, 185.0, 0.35, False) for p in (37, 38, 39, 40)},  # snares, clap
    **{p: (0.3, 0.1, 70.0 + 9.0 * (p - 41), 0.9, False) for p in (41, 43, 45, 47, 48, 50)},
    **{p: (0.05, 0.6, 0.0, 0.0, True) for p in (42, 44)},  # closed and pedal hi-hat
    46: (0.3, 0.5, 0.0, 0.0, True),  # open hi-hat
    **{p: (0.9, 0.45, 0.0, 0.0, True) for p in (49, 52, 55, 57)},  # crashes
    **{p: (0.5, 0.35, 0.0, 0.0, True) for p in (51, 53, 59)},  # rides
}
_OTHER_DRUM = (0.1, 0.5, 0.0, 0.0, True)


def render_notes(
    onset: NDArray[np.float64],
    length: NDArray[np.float64],
    velocity: NDArray[Any],
    keys: NDArray[np.int64],
    n: int,
    sample_rate: int,
) -> NDArray[np.float32]:
    """The mix of the notes given as columns, ``float32[n]``: ``onset`` and ``length`` in samples.

    ``velocity`` is 1..127; a key is a MIDI pitch (0..127), or 128 plus a
    General MIDI drum pitch. The mix is not normalised; samples past ``n``
    are left out.

    >>> mix = render_notes(np.array([0.0]), np.array([800.0]), np.array([100]),
    ...                    np.array([69]), 1600, 8000)
    >>> mix.shape, bool(np.abs(mix[:800]).max() > 0)
    ((1600,), True)
    """
    blocks = np.zeros((-(-n // _BLOCK) + 1, _BLOCK), np.float32)
    level = (velocity.astype(np.float64) / 127.0) ** 1.6
    for key, (decays, gains) in _voices(keys, level).items():
        mine = keys == key
        envelopes = _envelopes(onset[mine], length[mine], gains, decays, sample_rate)
        _render_key(blocks, int(key), *envelopes, sample_rate)
    out: NDArray[np.float32] = blocks.reshape(-1)[:n]
    return out


def _voices(
    keys: NDArray[np.int64], level: NDArray[np.float64]
) -> dict[int, tuple[tuple[float, float], NDArray[np.float64]]]:
    """Per key: (slow and fast decay in seconds, ``[2, notes]`` gains of the two parts)."""
    out = {}
    for key in np.unique(keys).tolist():
        mine = level[keys == key]
        if key < 128:  # a struck string: low notes ring longer; loud notes are brighter
            slow = float(np.clip(2.0 * 2.0 ** (-(key - 48) / 18.0), 0.25, 4.0))
            gains = np.stack([mine, mine * (0.25 + 0.75 * mine**0.5)])
            out[key] = ((slow, slow / 5.0), gains)
        else:
            decay = _DRUMS.get(key - 128, _OTHER_DRUM)[0]
            out[key] = ((decay, decay), np.stack([mine, np.zeros_like(mine)]))
    return out


def _envelopes(
    onset: NDArray[np.float64],
    length: NDArray[np.float64],
    gains: NDArray[np.float64],
    decays: tuple[float, float],
    sample_rate: int,
) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
    """One key's envelope points: the blocks that sound, and ``[blocks, 17]`` points of each part.

    Point ``j`` of block ``b`` is the summed envelope of the key's notes at
    sample ``b * 1024 + j * 64``. A note is released when it ends or when its
    key is struck again, as a piano's is; its voice stops when the release
    ends or its slow decay reaches -60 dB, whichever is first. So a key
    sounds for at most the song's length plus a release per note: the cost
    of a song is bounded by its length and its pitches, however its notes overlap.
    """
    order = np.argsort(onset, kind="stable")
    onset, length, gains = onset[order], length[order], gains[:, order]
    length = np.minimum(length, np.append(np.diff(onset), np.inf))  # struck again: released
    hop_s = _HOP / sample_rate
    ring = -math.log(_FLOOR) * decays[0] * sample_rate
    stop = np.minimum(onset + length + RELEASE * sample_rate, onset + ring)
    first = np.ceil(onset / _HOP).astype(np.int64)
    count = np.maximum(np.floor(stop / _HOP).astype(np.int64) - first + 1, 0)
    owner = np.repeat(np.arange(len(onset)), count)
    point = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + first[owner]
    tau = point * hop_s - onset[owner] / sample_rate  # seconds since the onset
    after = tau - length[owner] / sample_rate  # seconds since the note's end
    shape = np.minimum(tau / _ATTACK, 1.0) * np.clip(1.0 - after / RELEASE, 0.0, 1.0)
    # blocks sounding: each point's own block, and the block before for its first point
    block, slot = np.divmod(point, _POINTS)
    shared = slot == 0
    rows = np.unique(np.concatenate([block, block[shared] - 1]))
    rows = rows[rows >= 0]
    row = np.searchsorted(rows, block) * (_POINTS + 1) + slot
    earlier = shared & (block > 0)
    row_before = np.searchsorted(rows, block[earlier] - 1) * (_POINTS + 1) + _POINTS
    size = len(rows) * (_POINTS + 1)
    parts = []
    for part in range(2):
        value = gains[part][owner] * shape * np.exp(-tau / decays[part])
        table = np.bincount(row, value, size) + np.bincount(row_before, value[earlier], size)
        parts.append(table.reshape(len(rows), _POINTS + 1).astype(np.float32))
    return rows, parts[0], parts[1]


def _render_key(
    blocks: NDArray[np.float32],
    key: int,
    rows: NDArray[np.int64],
    slow: NDArray[np.float32],
    fast: NDArray[np.float32],
    sample_rate: int,
) -> None:
    """Add one key's sound to ``blocks`` (``float32[blocks, 1024]``), ``_ROWS`` blocks at a time."""
    ramp = np.arange(_BLOCK) / _HOP
    interp = np.maximum(1.0 - np.abs(ramp[None, :] - np.arange(_POINTS + 1)[:, None]), 0.0)
    interp32 = interp.astype(np.float32)  # [17, 1024]: linear interpolation between points
    parts = _oscillators(key, sample_rate)
    rows = rows[rows < len(blocks)]
    for lo in range(0, len(rows), _ROWS):
        chunk = rows[lo : lo + _ROWS]
        sound = np.zeros((len(chunk), _BLOCK), np.float32)
        for envelope, (basis, coefficients) in zip((slow, fast), parts, strict=True):
            if basis.shape[0]:
                env = _product(envelope[lo : lo + len(chunk)], interp32)
                sound += env * _product(coefficients(chunk), basis)
        blocks[chunk] += sound


def _product(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """``a @ b`` as a stack of 8-row products: each small enough for OpenBLAS to keep to one thread.

    OpenBLAS spreads a larger product over every core and waits for all of
    them; on a machine busy with other work that wait costs more than the product.
    """
    pad = -len(a) % 8
    stacked = np.concatenate([a, np.zeros((pad, a.shape[1]), a.dtype)]) if pad else a
    out: NDArray[np.float32] = (stacked.reshape(-1, 8, a.shape[1]) @ b).reshape(-1, b.shape[1])
    return out[: len(a)]


def _oscillators(key: int, sample_rate: int) -> list[tuple[NDArray[np.float32], Any]]:
    """For the slow and the fast part: ``(basis[r, 1024], blocks -> coefficients[blocks, r])``."""
    n = np.arange(_BLOCK)
    nyquist = 0.45 * sample_rate
    if key < 128:
        f0 = 440.0 * 2.0 ** ((key - 69) / 12.0)
        return [_partials(f0, amps, n, nyquist, sample_rate) for amps in (_WARM, _BRIGHT)]
    _, noise, tone, tone_level, bright = _DRUMS.get(key - 128, _OTHER_DRUM)
    rng = np.random.default_rng(key)  # the same noise every time: renders are deterministic
    rows = rng.standard_normal((8, _BLOCK + 1))
    rows = np.diff(rows, axis=1) / 2.0 if bright else rows[:, :-1] / 2.0
    # each block mixes the 8 noise rows its own way, so that the noise does not repeat
    mix = (rng.standard_normal((4096, 8)) * (noise / math.sqrt(8))).astype(np.float32)
    basis, phases = _partials(tone, (tone_level,), n, nyquist, sample_rate)

    def coefficients(blocks: NDArray[np.int64]) -> NDArray[np.float32]:
        return np.concatenate([mix[blocks % len(mix)], phases(blocks)], axis=1)

    full = np.concatenate([rows.astype(np.float32), basis])
    return [(full, coefficients), (np.zeros((0, _BLOCK), np.float32), None)]


def _partials(
    f0: float, amps: tuple[float, ...], n: NDArray[Any], nyquist: float, sample_rate: int
) -> tuple[NDArray[np.float32], Any]:
    """Harmonics of ``f0`` below ``nyquist``: ``sin(w (b * 1024 + n))`` as basis, block phases."""
    h = np.arange(1, len(amps) + 1, dtype=np.float64)
    freq = f0 * h * np.sqrt(1.0 + _INHARMONIC * h * h)
    keep = (freq < nyquist) & (np.asarray(amps) > 0)
    w = 2.0 * math.pi * freq[keep] / sample_rate  # radians per sample
    a = np.asarray(amps)[keep]
    basis = np.concatenate([np.cos(np.outer(w, n)), np.sin(np.outer(w, n))]).astype(np.float32)

    def phases(blocks: NDArray[np.int64]) -> NDArray[np.float32]:
        # a sin(w (s + n)) = a sin(w s) cos(w n) + a cos(w s) sin(w n), s the block's first sample
        angle = np.mod(np.outer(blocks.astype(np.float64) * _BLOCK, w), 2.0 * math.pi)
        return np.concatenate([a * np.sin(angle), a * np.cos(angle)], axis=1).astype(np.float32)

    return basis, phases
