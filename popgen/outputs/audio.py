"""Sound of songs with no system dependency: a small piano-like synthesizer in numpy.

:func:`to_audio` gives a song's samples: from FluidSynth and a General MIDI
soundfont when both are installed (see :func:`popgen.outputs.audio.find_fluidsynth`),
otherwise from :func:`synthesize`, so every user hears something, offline.
:func:`popgen.outputs.audio.write_wav` and :meth:`popgen.music.song.Song.to_audio` take
the same path.

The built-in synthesizer plays every note as a struck string: a 5 ms attack,
then two exponential decays (the fundamental rings on, the upper harmonics
fade about five times faster, louder notes are brighter, low notes ring
longer), and a 100 ms release when the note ends. Each note is its own voice;
times follow the song's tempo map; drum tracks play noise bursts and low
thumps. Tracks are mixed and the result scaled to a peak of 0.9.

It is vectorised: the envelopes of all notes are computed at a control rate
(one point every 64 samples), and each sounding pitch then renders in blocks
of 1024 samples as two small matrix products (envelope interpolation and
oscillator), so the cost is the number of sounding pitches times the audio
length, with no Python loop over notes (the engine is ``popgen/_synth.py``).
A key struck again releases its previous note, as on a piano, so however
notes overlap a pitch sounds at most as long as the song.

>>> from popgen.music.song import Song, make_notes
>>> samples = synthesize(Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2])), sample_rate=8000)
>>> samples.dtype, samples.shape, round(float(abs(samples).max()), 3)
(dtype('float32'), (16800,), 0.9)
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import tempfile
import warnings
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.checks import whole_number
from popgen.music.chords import chords_in
from popgen.music.limits import MAX_AUDIO_SECONDS, bound_song, cut_song
from popgen.music.song import Song
from popgen.music.time import beats_to_seconds, seconds_to_beats
from popgen.outputs._synth import RELEASE, render_notes

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "MAX_SECONDS",
    "SOUNDFONT_PATHS",
    "SYNTHS",
    "bounded",
    "choose_synth",
    "find_fluidsynth",
    "read_wav",
    "synthesize",
    "to_audio",
    "wav_bytes",
    "write_wav",
]

DEFAULT_SAMPLE_RATE = 22050
"""Samples per second of :func:`synthesize` and :func:`to_audio` unless told otherwise."""
MAX_SECONDS = MAX_AUDIO_SECONDS
"""The longest audio rendered, in seconds: one hour (``popgen.music.limits.MAX_AUDIO_SECONDS``)."""
SYNTHS = ("auto", "builtin", "fluidsynth")
"""What ``synth`` may be: ``"auto"`` (FluidSynth when installed), ``"builtin"``, ``"fluidsynth"``.
"""

_PEAK = 0.9  # the loudest sample after normalising


def synthesize(song: Song, *, sample_rate: int = DEFAULT_SAMPLE_RATE) -> NDArray[np.float32]:
    """Render a song with the built-in synthesizer.

    The song is bounded first (:func:`popgen.music.limits.bound_song`, then cut at
    :data:`MAX_SECONDS`; each warns when it changes anything). An onset sounds
    within 64 samples of its time in seconds (``Song.seconds`` of its beat).

    Args:
        song: the song to play; times follow its tempo map.
        sample_rate: samples per second, 1000 or more.

    Returns:
        ``float32[n]``: mono samples in [-0.9, 0.9], the loudest at ±0.9 (all
        zeros for a silent song), ``n = ceil((song.seconds() + 0.1) *
        sample_rate)`` (the last note's release); ``n = 0`` for a song with no notes.

    Raises:
        ValueError: ``sample_rate`` below 1000 (the message repeats it).

    >>> from popgen.music.song import Song, make_notes
    >>> quiet_loud = Song(make_notes([60, 60], [0, 1], [0.5, 0.5], velocity=[30, 110]))
    >>> audio = synthesize(quiet_loud, sample_rate=8000)  # 120 bpm: 0.5 s a beat
    >>> float(abs(audio[:4000]).max()) < float(abs(audio[4000:]).max())
    True
    """
    whole_number(sample_rate, "sample_rate", minimum=1000)  # in Hz
    song = bounded(song)
    notes = song.notes
    if not len(notes):
        return np.zeros(0, np.float32)
    n = math.ceil((song.seconds() + RELEASE) * sample_rate)
    drum = np.array([t.is_drum for t in song.tracks], dtype=bool)[notes["track"]]
    keys = notes["pitch"].astype(np.int64) + 128 * drum  # one voice table per pitch, drums apart
    onset = _seconds(notes["start"], song) * sample_rate
    length = (_seconds(notes["start"] + notes["duration"], song) * sample_rate) - onset
    out = render_notes(onset, length, notes["velocity"], keys, n, sample_rate)
    peak = float(np.abs(out).max())
    if peak > 0:
        out *= _PEAK / peak
    result: NDArray[np.float32] = np.clip(out, -_PEAK, _PEAK)  # rounding only
    return result


def to_audio(
    song: Song,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    synth: str = "auto",
    soundfont: str | os.PathLike[str] | None = None,
) -> NDArray[np.float32]:
    """The song's audio: from FluidSynth when installed (``synth="auto"``), else built in.

    Args:
        song: the song to play.
        sample_rate: samples per second.
        synth: one of :data:`SYNTHS`; see :func:`choose_synth`.
        soundfont: a ``.sf2`` file for FluidSynth (it then must be found).

    Returns:
        ``float32[n]``: mono samples in [-1, 1] (FluidSynth's stereo is
        averaged; the built-in synthesizer's, see :func:`synthesize`).

    With ``synth="auto"``, a FluidSynth that is installed but fails (a
    broken soundfont, say) gives way to the built-in synthesizer, with a
    warning saying why: a notebook still plays something.

    Raises:
        FileNotFoundError: ``synth="fluidsynth"`` (or a ``soundfont`` given)
            and FluidSynth or the soundfont is missing.
        OSError: ``synth="fluidsynth"`` (or a ``soundfont`` given) and FluidSynth failed.
        ValueError: an unknown ``synth``.

    >>> from popgen.music.song import Song, make_notes
    >>> to_audio(Song(make_notes([60], [0], [1])), sample_rate=8000, synth="builtin").shape
    (4800,)
    """
    if choose_synth(synth, soundfont) == "builtin":
        return synthesize(song, sample_rate=sample_rate)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "song.wav"
        try:
            write_wav(
                song, path, soundfont=soundfont, sample_rate=sample_rate, synth="fluidsynth"
            )
            return read_wav(path)[0]
        except (OSError, ValueError) as error:
            if synth != "auto" or soundfont is not None:
                raise
            why = str(error).removeprefix(f"{path}: ")
            where = song.source or song.title or "a song"
            warnings.warn(f"{where}: {why}; playing it with popgen's own synthesizer", stacklevel=2)
    return synthesize(song, sample_rate=sample_rate)


def choose_synth(synth: str = "auto", soundfont: str | os.PathLike[str] | None = None) -> str:
    """Which synthesizer ``synth`` means here: ``"fluidsynth"`` or ``"builtin"``.

    ``"auto"`` is FluidSynth when :func:`popgen.outputs.audio.find_fluidsynth` finds
    the program and a soundfont, else the built-in synthesizer; a ``soundfont``
    given by name asks for FluidSynth.

    Raises:
        FileNotFoundError: FluidSynth asked for and missing (the message says how to install it).
        ValueError: an unknown ``synth``.

    >>> choose_synth("builtin")
    'builtin'
    """
    if synth not in SYNTHS:
        raise ValueError(f"unknown synth {synth!r}; expected one of {', '.join(SYNTHS)}")
    if synth == "builtin":
        return "builtin"
    if synth == "fluidsynth" or soundfont is not None:
        find_fluidsynth(soundfont)
        return "fluidsynth"
    try:
        find_fluidsynth()
    except FileNotFoundError:
        return "builtin"
    return "fluidsynth"


def wav_bytes(samples: NDArray[Any], sample_rate: int) -> bytes:
    """A 16-bit PCM mono WAV file holding ``samples`` (``float[n]`` in [-1, 1]; beyond is clipped).

    >>> data = wav_bytes(np.zeros(100, np.float32), 8000)
    >>> data[:4], data[8:12], len(data)
    (b'RIFF', b'WAVE', 244)
    """
    pcm = np.rint(np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def read_wav(path: str | os.PathLike[str]) -> tuple[NDArray[np.float32], int]:
    """A PCM WAV file's samples as ``(float32[n] mono in [-1, 1], sample_rate)``; channels averaged.

    Raises:
        ValueError: not a PCM WAV file of 8, 16, 24 or 32 bits (the message names the file).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "a.wav").write_bytes(wav_bytes(np.full(4, 0.5), 8000))
    ...     samples, rate = read_wav(Path(tmp, "a.wav"))
    >>> samples.round(4).tolist(), rate
    ([0.5, 0.5, 0.5, 0.5], 8000)
    """
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            data = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(f"{path}: not a PCM WAV file ({error})") from None
    if width == 1:
        values = np.frombuffer(data, np.uint8).astype(np.float32) / 128.0 - 1.0
    elif width == 3:
        raw = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)) << 8 >> 8  # sign-extended
        values = ints.astype(np.float32) / 2.0**23
    elif width in (2, 4):
        values = np.frombuffer(data, f"<i{width}").astype(np.float32) / 2.0 ** (8 * width - 1)
    else:
        raise ValueError(f"{path}: WAV samples of {8 * width} bits; expected 8, 16, 24 or 32")
    mono: NDArray[np.float32] = values.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return mono, rate


def bounded(song: Song) -> Song:
    """``song`` within the default limits (:func:`~popgen.music.limits.bound_song`) and an hour.

    The hour is :data:`MAX_SECONDS`.

    Each step warns, naming the song, when it changes anything. Tempo and
    meter changes, chords and bar lines after the last note ends are dropped
    too, silently: they sound like nothing, but a MIDI player such as
    FluidSynth would play silence until the last of them.

    >>> from popgen.music.song import Song, make_notes
    >>> from popgen.music.time import TempoChange
    >>> import warnings
    >>> slow = Song(make_notes([60, 62], [0, 300], [1, 1]), tempos=[TempoChange(0, 4)])
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     bounded(slow).seconds() <= MAX_SECONDS
    True
    """
    song = bound_song(song)
    seconds = song.seconds()
    if seconds > MAX_SECONDS:
        beat = float(seconds_to_beats(np.array([MAX_SECONDS]), song.tempos)[0])
        song, left_out = cut_song(song, max_beats=beat)
        where = song.source or song.title or "a song"
        warnings.warn(
            f"{where}: {seconds:.0f} s of audio cut at {MAX_SECONDS:g} s "
            f"(popgen.outputs.audio.MAX_SECONDS): {left_out} notes left out",
            stacklevel=3,
        )
    return _trimmed(song)


def _trimmed(song: Song) -> Song:
    """``song`` without the tempo and meter changes, chords and bar lines after its end."""
    end = song.end
    late = [c for c in song.tempos[1:] + song.time_signatures[1:] if c[0] > end]
    chord_ends = song.chords["start"] + song.chords["duration"]
    if not late and not (chord_ends > end).any() and not (song.bars > end).any():
        return song
    return song.replace(
        tempos=song.tempos[:1] + tuple(c for c in song.tempos[1:] if c.beat <= end),
        time_signatures=song.time_signatures[:1]
        + tuple(s for s in song.time_signatures[1:] if s.beat <= end),
        chords=chords_in(song.chords, 0.0, end),
        bars=song.bars[song.bars <= end],
    )


# ------------------------------------------------------------------ helpers
def _seconds(beats: NDArray[np.float64], song: Song) -> NDArray[np.float64]:
    """``beats`` in seconds under the song's tempo map (vectorised :func:`beats_to_seconds`)."""
    changes = [c for c in song.tempos if c.beat > 0]
    at = np.array([0.0] + [c.beat for c in changes])
    bpm = np.array([song.tempos[0].bpm if song.tempos else 120.0] + [c.bpm for c in changes])
    if song.tempos and song.tempos[0].beat > 0:  # before the first change: 120 bpm
        bpm[0] = 120.0
    start = np.array([beats_to_seconds(b, song.tempos) for b in at])
    index = np.searchsorted(at, beats, side="right") - 1
    out: NDArray[np.float64] = start[index] + (beats - at[index]) * 60.0 / bpm[index]
    return out


def write_wav(
    song: Song,
    path: str | os.PathLike[str],
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
    synth: str = "auto",
) -> None:
    """Render a song to a WAV file: FluidSynth when installed, else popgen's own synthesizer.

    With FluidSynth and a General MIDI soundfont (``synth="auto"`` finds
    them, see :func:`popgen.outputs.audio.choose_synth`) each track sounds with its
    General MIDI program, drum tracks on channel 10, in a 16-bit stereo file.
    Without them, :func:`popgen.outputs.audio.synthesize` plays the song with a
    piano-like tone and drums, in a 16-bit mono file: every user hears
    something, with nothing to install. The song is bounded first
    (:func:`popgen.music.limits.bound_song` with the default limits, which warns
    when it changes anything, then cut at :data:`popgen.outputs.audio.MAX_SECONDS`),
    so a silence of a billion beats renders as 256 beats, not as years of audio.

    Args:
        song: the song to render.
        path: the WAV file to write.
        soundfont: a ``.sf2`` file for FluidSynth (then FluidSynth must be
            found); by default ``$POPGEN_SOUNDFONT`` or the first of
            :data:`SOUNDFONT_PATHS` that exists.
        sample_rate: samples per second.
        synth: ``"auto"``, ``"fluidsynth"`` or ``"builtin"`` (see :data:`SYNTHS`).

    Raises:
        FileNotFoundError: FluidSynth asked for (``synth="fluidsynth"`` or a
            ``soundfont``) and the program or the soundfont is missing; the
            message says how to install them.
        OSError: FluidSynth failed (its last message is included).

    >>> import tempfile, wave
    >>> from popgen.music.song import Song, make_notes
    >>> song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_wav(song, f"{tmp}/arpeggio.wav", sample_rate=8000, synth="builtin")
    ...     with wave.open(f"{tmp}/arpeggio.wav") as wav:
    ...         wav.getnchannels(), wav.getframerate(), wav.getnframes()
    (1, 8000, 16800)

    """
    from popgen.outputs import audio

    target = Path(path)
    if audio.choose_synth(synth, soundfont) == "builtin":
        samples = audio.synthesize(song, sample_rate=sample_rate)
        target.write_bytes(audio.wav_bytes(samples, sample_rate))
        return
    program, font = find_fluidsynth(soundfont)
    song = audio.bounded(song)
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "song.mid"
        song.write_midi(midi)
        wav = Path(tmp) / "song.wav"
        command = [program, "-ni", "-F", str(wav), "-r", str(sample_rate), str(font), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav.is_file():
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
            raise OSError(f"{target}: FluidSynth failed ({last[0]})")
        shutil.move(wav, target)


def find_fluidsynth(soundfont: str | os.PathLike[str] | None = None) -> tuple[str, Path]:
    """The ``fluidsynth`` program and the soundfont :func:`write_wav` would use.

    Call it to fail early, before generating anything.

    Args:
        soundfont: a ``.sf2`` file; by default ``$POPGEN_SOUNDFONT`` or the first
            of :data:`SOUNDFONT_PATHS` that exists.

    Raises:
        FileNotFoundError: either is missing; the message says how to install them.

    >>> find_fluidsynth()  # doctest: +SKIP
    ('/usr/bin/fluidsynth', PosixPath('/usr/share/sounds/sf2/FluidR3_GM.sf2'))

    """
    program = shutil.which("fluidsynth")
    if program is None:
        raise FileNotFoundError(f"writing WAV needs the 'fluidsynth' program; {_INSTALL}")
    if soundfont is not None:
        candidates = [Path(soundfont)]
    else:
        env = os.environ.get("POPGEN_SOUNDFONT")
        candidates = [Path(p) for p in ([env] if env else []) + list(SOUNDFONT_PATHS)]
    for candidate in candidates:
        if candidate.is_file():
            return program, candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no General MIDI soundfont found (tried {tried}); {_INSTALL}, "
        "or set $POPGEN_SOUNDFONT to a .sf2 file"
    )


#: Where :func:`write_wav` looks for a General MIDI soundfont, after ``$POPGEN_SOUNDFONT``.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)


_INSTALL = (
    "install FluidSynth and a General MIDI soundfont, e.g. 'apt install fluidsynth "
    "fluid-soundfont-gm' (Debian/Ubuntu) or 'brew install fluid-synth' plus a .sf2 file"
)
