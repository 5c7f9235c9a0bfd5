from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from popgen.music.chords import make_chords
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange
from popgen.outputs import audio
from popgen.outputs import audio as render
from popgen.outputs.audio import choose_synth, read_wav, synthesize, to_audio, wav_bytes

RATE = 8000
HOP = 64  # the envelope's resolution in samples: onsets land within it


def first_sound(samples: np.ndarray, start: int = 0, level: float = 0.02) -> int:
    """The first sample at or after ``start`` louder than ``level`` of the peak."""
    loud = np.flatnonzero(np.abs(samples[start:]) > level * np.abs(samples).max())
    return start + int(loud[0])


def no_fluidsynth(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(soundfont: object = None) -> tuple[str, Path]:
        raise FileNotFoundError("writing WAV needs the 'fluidsynth' program")

    monkeypatch.setattr(render, "find_fluidsynth", missing)


def test_onsets_follow_a_tempo_change() -> None:
    # 60 bpm for two beats (2 s), then 240 bpm: beat 3 is at 2.25 s, beat 5 at 2.75 s
    song = Song(
        make_notes([60, 67, 72], [0, 3, 5], [0.25, 0.25, 0.25]),
        tempos=[TempoChange(0, 60), TempoChange(2, 240)],
    )
    samples = synthesize(song, sample_rate=RATE)
    for seconds in (0.0, 2.25, 2.75):
        expected = round(seconds * RATE)
        assert abs(first_sound(samples, max(expected - 400, 0)) - expected) <= HOP, seconds
    # 0.25 beats at 240 bpm and a 0.1 s release: the song ends 0.1625 s after beat 5
    assert len(samples) == int(np.ceil((2.75 + 0.0625 + 0.1) * RATE))


def test_silence_between_notes() -> None:
    song = Song(make_notes([60, 62], [0, 4], [1, 1]))  # 120 bpm: 0-0.5 s, 2-2.5 s
    samples = synthesize(song, sample_rate=RATE)
    released = round((0.5 + 0.1) * RATE) + HOP  # the note's end, its release, one hop
    assert np.abs(samples[released : 2 * RATE - HOP]).max() == 0.0
    assert np.abs(samples[: round(0.5 * RATE)]).max() > 0.1
    assert np.abs(samples[2 * RATE + HOP : round(2.5 * RATE)]).max() > 0.1


def test_louder_velocity_is_louder() -> None:
    velocities = [20, 60, 100, 127]
    song = Song(make_notes([64] * 4, [0, 2, 4, 6], [1, 1, 1, 1], velocity=velocities))
    samples = synthesize(song, sample_rate=RATE)
    heard = [samples[i * RATE : i * RATE + RATE // 2] for i in range(4)]  # 120 bpm: a note a second
    rms = [float(np.sqrt(np.mean(part**2))) for part in heard]
    assert rms == sorted(rms) and rms[0] < rms[-1] / 4


def test_tracks_are_mixed_and_normalised_without_clipping() -> None:
    chord = make_notes(
        [48, 52, 55, 60, 64, 67, 36, 38, 42], [0] * 9, [2] * 9, 127, [0] * 6 + [1] * 3
    )
    song = Song(chord, tracks=(Track("piano"), Track("drums", is_drum=True)))
    samples = synthesize(song, sample_rate=RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert np.isclose(np.abs(samples).max(), 0.9) and np.all(np.isfinite(samples))
    piano = synthesize(song.select_tracks([0]), sample_rate=RATE)
    drums = synthesize(song.select_tracks([1]), sample_rate=RATE)
    assert not np.allclose(samples, piano) and not np.allclose(samples, drums)
    assert np.abs(np.fft.rfft(drums)[len(drums) // 4 :]).sum() > 0  # noise reaches high up


def test_pitch_sets_the_frequency() -> None:
    samples = synthesize(Song(make_notes([69], [0], [2])), sample_rate=RATE)  # A4, 1 s
    spectrum = np.abs(np.fft.rfft(samples[:RATE]))
    assert abs(np.argmax(spectrum) - 440) <= 2  # 1 Hz bins


def test_deterministic() -> None:
    song = Song(
        make_notes([36, 42, 60, 64], [0, 0.5, 0, 1], [0.5, 0.5, 2, 1], track=[1, 1, 0, 0]),
        tracks=(Track("keys"), Track("kit", is_drum=True)),
    )
    assert np.array_equal(synthesize(song, sample_rate=RATE), synthesize(song, sample_rate=RATE))


def test_empty_song_and_bad_rate() -> None:
    empty = Song(make_notes([], [], []))
    assert synthesize(empty).shape == (0,)
    assert wav_bytes(synthesize(empty), RATE)[:4] == b"RIFF"
    with pytest.raises(ValueError, match="sample_rate must be .* got 10"):
        synthesize(empty, sample_rate=10)


def test_a_hostile_song_is_bounded() -> None:
    # a billion beats of silence at 4 bpm: bounded to 256 beats, then to an hour of audio
    song = Song(make_notes([60, 62], [0, 1e9], [1, 1]), tempos=[TempoChange(0, 4)])
    with pytest.warns(UserWarning) as caught:
        samples = synthesize(song, sample_rate=1000)
    said = " ".join(str(w.message) for w in caught)
    assert "silences longer than 256 beats" in said  # 257 beats of 15 s: over the hour
    cut = "3855 s of audio cut at 3600 s (popgen.outputs.audio.MAX_SECONDS): 1 notes left out"
    assert cut in said
    assert len(samples) <= (3600 + 1) * 1000


def test_auto_uses_the_builtin_synth_without_fluidsynth(monkeypatch: pytest.MonkeyPatch) -> None:
    no_fluidsynth(monkeypatch)
    assert choose_synth("auto") == "builtin"
    song = Song(make_notes([60, 64], [0, 1], [1, 1]))
    assert np.array_equal(to_audio(song, sample_rate=RATE), synthesize(song, sample_rate=RATE))
    assert np.array_equal(song.to_audio(sample_rate=RATE), synthesize(song, sample_rate=RATE))
    with pytest.raises(FileNotFoundError, match="fluidsynth"):
        to_audio(song, synth="fluidsynth")
    with pytest.raises(FileNotFoundError, match="fluidsynth"):
        choose_synth("auto", soundfont="GM.sf2")  # a soundfont asks for FluidSynth
    with pytest.raises(ValueError, match="unknown synth 'timidity'; expected one of auto"):
        choose_synth("timidity")


def test_auto_uses_fluidsynth_when_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[object] = []

    def found(soundfont: object = None) -> tuple[str, Path]:
        calls.append(soundfont)
        return "fluidsynth", tmp_path / "GM.sf2"

    monkeypatch.setattr(render, "find_fluidsynth", found)
    assert choose_synth() == "fluidsynth" and choose_synth("builtin") == "builtin"
    assert calls == [None]


def test_write_wav_without_fluidsynth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_fluidsynth(monkeypatch)
    song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]), tempos=[TempoChange(0, 90)])
    render.write_wav(song, tmp_path / "a.wav", sample_rate=RATE)
    song.write_wav(tmp_path / "b.wav", sample_rate=RATE)
    with wave.open(str(tmp_path / "a.wav")) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert len(frames) == len(synthesize(song, sample_rate=RATE))
    assert abs(np.abs(frames).max() - 0.9 * 32767) <= 1
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    samples, rate = read_wav(tmp_path / "a.wav")
    assert rate == RATE and np.allclose(samples, synthesize(song, sample_rate=RATE), atol=1e-4)


def test_read_wav_stereo_and_errors(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "s.wav"), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.array([16384, 0, -32768, 0], "<i2").tobytes())
    samples, rate = read_wav(tmp_path / "s.wav")
    assert samples.tolist() == [0.25, -0.5] and rate == RATE
    (tmp_path / "bad.wav").write_bytes(b"MThd not a wave")
    with pytest.raises(ValueError, match="bad.wav: not a PCM WAV file"):
        read_wav(tmp_path / "bad.wav")


@pytest.mark.skipif(
    audio.choose_synth() != "fluidsynth", reason="FluidSynth and a GM soundfont not installed"
)
def test_fluidsynth_renders_when_installed(tmp_path: Path) -> None:
    song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]))
    samples = to_audio(song, sample_rate=22050, synth="fluidsynth")
    assert samples.dtype == np.float32 and np.abs(samples).max() > 0.01
    assert len(samples) >= 2.0 * 22050  # 4 beats at 120 bpm, and FluidSynth's tail
    render.write_wav(song, tmp_path / "f.wav", sample_rate=22050)
    with wave.open(str(tmp_path / "f.wav")) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 22050


def test_changes_after_the_last_note_are_not_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    # a tempo change and a chord long after the last note: FluidSynth would play silence to them
    song = Song(
        make_notes([60], [0], [1]),
        tempos=[TempoChange(0, 120), TempoChange(1000, 60)],
        chords=make_chords(["C", "G"], [0, 4], [4, 996]),
    )
    written: list[Song] = []
    monkeypatch.setattr(render, "find_fluidsynth", lambda soundfont=None: ("fs", Path("GM.sf2")))

    def fake_midi(self: Song, path: object) -> None:
        written.append(self)
        raise OSError("no synthesis in tests")

    monkeypatch.setattr(Song, "write_midi", fake_midi)
    with pytest.raises(OSError, match="no synthesis"):
        render.write_wav(song, "never.wav")
    assert written[0].tempos == (TempoChange(0, 120),)
    assert written[0].chords["start"].tolist() == [0.0]  # the C up to the note's end
    assert written[0].chords["duration"].tolist() == [1.0]
    plain = Song(make_notes([60], [0], [1]))
    assert audio.bounded(plain) is plain  # nothing to drop: the same song


def test_a_key_struck_again_releases_its_previous_note() -> None:
    # a long low note, struck again at beat 1 for a quarter beat: then silence, as on a piano
    song = Song(make_notes([48, 48], [0, 1], [16, 0.25]))  # 120 bpm: the second ends at 0.625 s
    samples = synthesize(song, sample_rate=RATE)
    quiet_from = round((0.625 + 0.1) * RATE) + HOP
    assert len(samples) == int(np.ceil((8 + 0.1) * RATE))  # the song still lasts 16 beats
    assert np.abs(samples[quiet_from:]).max() == 0.0
    # thousands of whole-song notes on one key cost no more than the song's length
    # (the last strike, at 25 s, rings down to -60 dB in 22 s)
    many = Song(make_notes([36] * 5000, np.arange(5000) * 0.01, [200.0] * 5000))
    assert np.abs(synthesize(many, sample_rate=RATE)[round(48 * RATE) :]).max() == 0.0


def test_auto_falls_back_when_fluidsynth_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fails = tmp_path / "fluidsynth"
    fails.write_text("#!/bin/sh\necho 'fluidsynth: error: not a SoundFont' >&2\nexit 1\n")
    fails.chmod(0o755)
    monkeypatch.setattr(render, "find_fluidsynth", lambda soundfont=None: (str(fails), tmp_path))
    song = Song(make_notes([60], [0], [1]), title="broken font")
    said = r"broken font: FluidSynth failed \(fluidsynth: error: not a SoundFont\); playing it with"
    with pytest.warns(UserWarning, match=said):
        samples = to_audio(song, sample_rate=RATE)
    assert np.array_equal(samples, synthesize(song, sample_rate=RATE))
    with pytest.raises(OSError, match="FluidSynth failed"):
        to_audio(song, sample_rate=RATE, synth="fluidsynth")
