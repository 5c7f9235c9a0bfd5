"""Controls: progressions parsed, bars and chords forced, a given melody kept note for note."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen import LSTMModel
from popgen.music.chords import chord_labels, make_chords
from popgen.music.melody import melody_line
from popgen.music.progression import parse_progression, read_progression
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TimeSignature
from popgen.sampling import Sampler, chain, in_key, parse_strategy, temperature, top_p
from popgen.sampling.controls import Controls
from popgen.sampling.follow import schedule
from popgen.tokenizers import get_tokenizer


def _sampler(encoding: str = "pop", strategy: Any = None, **options: Any) -> Sampler:
    tok = get_tokenizer(encoding, **options)
    model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    return Sampler(model, model.init_params(key=jax.random.key(0)), tok, strategy)


def test_progressions() -> None:
    chords = parse_progression("C G | Am . F .", bars=4)
    assert chord_labels(chords, style="symbol") == ["C", "G", "Am", "F", "C", "G", "Am", "F"]
    assert chords["start"].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    waltz = parse_progression("C G7", meter=(3, 4))
    assert waltz["duration"].tolist() == [3.0, 3.0]
    assert len(parse_progression("C C G")) == 2  # a repeated chord is one segment
    with pytest.raises(ValueError, match="bar 2: unknown chord 'Hm'"):
        parse_progression("C Hm")
    with pytest.raises(ValueError, match="do not fill 16 bars"):
        parse_progression("C G Am", bars=16)
    with pytest.raises(ValueError, match="3 chords for its 4 beats"):
        parse_progression("C G Am | F")
    with pytest.raises(ValueError, match="empty"):
        parse_progression(" | ")
    with pytest.raises(ValueError, match="more than the 2 bars"):
        Controls.over_chords("C G Am F", bars=2)


def test_progression_file_errors_name_the_file(tmp_path: Any) -> None:
    path = tmp_path / "chords.txt"
    path.write_text("C G\nAm Xyz\n")
    with pytest.raises(ValueError, match=r"chords.txt: bar 2"):
        read_progression(path)
    with pytest.raises(ValueError, match="cannot read"):
        read_progression(tmp_path / "missing.txt")


def test_melody_line_errors() -> None:
    two = Song(make_notes([60, 64], [0, 0], [1, 1], track=[0, 1]), tracks=(Track("a"), Track("b")))
    with pytest.raises(ValueError, match="none is the melody"):
        melody_line(two)
    with pytest.raises(ValueError, match="overlap"):
        melody_line(Song(make_notes([60, 64], [0, 0.5], [1, 1]), source="x.mid"))
    stray = Song(make_notes(range(60, 81), [*range(20), 19.5], [1] * 20 + [1]))  # 1 of 21
    with pytest.warns(UserWarning, match="a few notes that overlap"):
        assert melody_line(stray).num_notes == 21
    with pytest.raises(ValueError, match="no notes"):
        melody_line(Song(make_notes([], [], []), source="x.mid"))


def test_schedule_refuses_what_the_run_cannot_do() -> None:
    with pytest.raises(ValueError, match="trained without chords"):
        schedule(get_tokenizer("pop", chords=False), Controls.over_chords("C G"))
    melody = Song(make_notes([60], [0], [1]))
    with pytest.raises(ValueError, match="nothing to write beside"):
        schedule(get_tokenizer("lead"), Controls.for_melody(melody))
    odd = Controls(bars=1, meter=(7, 4), chords=parse_progression("C", meter=(7, 4)),
                   melody=Song(make_notes([60], [6.5], [0.5])))  # fmt: skip
    with pytest.raises(ValueError, match=r"lacks 2 token.*TIMESIG_7/4"):
        schedule(get_tokenizer("pop"), odd)


@settings(deadline=None, max_examples=3)
@given(st.integers(1, 6), st.sampled_from(["C G Am F", "C . G . | Am F", "Dm7 G7 Cmaj7"]),
       st.integers(0, 3))  # fmt: skip
def test_generation_follows_bars_and_chords(bars: int, text: str, seed: int) -> None:
    progression = parse_progression(text)
    groups = len(text.split("|")) if "|" in text else len(text.split())
    bars = bars * groups
    controls = Controls.over_chords(text, bars=bars, max_bar_tokens=24)
    sampler = _sampler(strategy=chain(temperature(1.2), top_p(0.95)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every bar is written
        songs = sampler.generate(controls=controls, batch_size=2, seed=seed)
    tok = sampler.tokenizer
    for song in songs:
        assert chord_labels(song.chords)[: len(progression)] == chord_labels(progression)
        assert song.time_signatures == (TimeSignature(0.0, 4, 4),)
        assert song.end <= bars * 4 + tok.config.max_duration


def test_every_bar_is_written_and_decoded_chords_match() -> None:
    sampler = _sampler()
    controls = Controls.over_chords("C G Am F", bars=8, max_bar_tokens=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every bar is written
        (song,) = sampler.generate(controls=controls, seed=1)
    assert chord_labels(song.chords, style="symbol") == ["C", "G", "Am", "F"] * 2
    assert song.chords["start"][-1] + song.chords["duration"][-1] == 32.0


def test_arranging_keeps_the_melody_note_for_note() -> None:
    rng = np.random.default_rng(0)
    starts = np.cumsum(rng.choice([0.5, 1.0, 1.5], size=24)) - 0.5
    tune = Song(
        make_notes(rng.integers(60, 80, 24), starts + 0.013, np.full(24, 0.4), 70),
        tracks=(Track("Vocal"),),
        time_signatures=(TimeSignature(0, 4, 4),),
        source="tune.mid",
    )
    controls = Controls.for_melody(tune, max_bar_tokens=20)
    assert controls.bars == int(np.ceil(tune.end / 4))
    sampler = _sampler(strategy=parse_strategy("temperature=1.0", get_tokenizer("pop")))
    for song in sampler.generate(controls=controls, batch_size=2, seed=3):
        melody = song.notes[song.notes["track"] == 0]
        assert melody.tolist() == tune.notes.tolist()
        assert [t.role for t in song.tracks] == ["melody", "accompaniment"]
        assert len(song.chords) and song.chords["start"][0] == 0


def test_controls_compose_with_constraints_that_would_ban_forced_tokens() -> None:
    tok = get_tokenizer("pop")
    tune = Song(make_notes([61, 63, 66], [0, 1, 2], [1, 1, 2]))  # out of C major
    sampler = _sampler(strategy=in_key("C major", tok.token_pitches()))
    (song,) = sampler.generate(controls=Controls.for_melody(tune, max_bar_tokens=12), seed=0)
    assert song.notes[song.notes["track"] == 0]["pitch"].tolist() == [61, 63, 66]
    accompaniment = song.notes[song.notes["track"] == 1]["pitch"] % 12
    assert set(accompaniment.tolist()) <= {0, 2, 4, 5, 7, 9, 11}


def test_controls_need_no_primer_and_warn_when_tokens_run_out() -> None:
    sampler = _sampler()
    controls = Controls.over_chords("C G Am F")
    with pytest.warns(UserWarning, match="bars asked were written"):
        sampler.generate(num_tokens=6, controls=controls)
    chords = make_chords(["C"], [0], [4])
    assert Controls(bars=1, chords=chords).skeleton().chords.tolist() == chords.tolist()


def _on_chord_tones(song: Song) -> float:
    """Share of melody notes whose pitch class is in the chord sounding at their onset."""
    from popgen.music.chords import chord_tone_mask

    melody = song.notes[song.notes["track"] == 0]
    at = np.searchsorted(song.chords["start"], melody["start"], side="right") - 1
    return float(chord_tone_mask(song.chords)[at, melody["pitch"] % 12].mean())


def test_chord_tones_favours_the_chord_under_each_note() -> None:
    from popgen.sampling import chord_tones

    tok = get_tokenizer("pop")
    controls = Controls.over_chords("C . G . | Am F", bars=4, max_bar_tokens=12)
    plain = _sampler().generate(controls=controls, batch_size=2, seed=0)
    steered = _sampler(strategy=chord_tones(8.0, tok)).generate(
        controls=controls, batch_size=2, seed=0
    )
    assert min(map(_on_chord_tones, steered)) == 1.0 > max(map(_on_chord_tones, plain))
    with pytest.raises(ValueError, match="chord tokens"):
        chord_tones(1.0, get_tokenizer("note"))
    assert parse_strategy("chord_tones=2.0", tok).init(1) is not None


def test_one_batch_follows_several_controls() -> None:
    sampler = _sampler()
    plans = [
        Controls.over_chords("C G", max_bar_tokens=10),
        Controls.over_chords("Am F C G Dm E", max_bar_tokens=10),
        Controls.over_chords("F", max_bar_tokens=10),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every bar of every song is written
        songs = sampler.generate(controls=plans, best_of=2, seed=1)
    for song, plan in zip(songs, plans, strict=True):
        assert chord_labels(song.chords) == chord_labels(plan.chords)
    with pytest.raises(ValueError, match="3 controls for a batch of 2"):
        sampler.generate(controls=plans, batch_size=2)


def test_a_melody_with_an_upbeat_keeps_its_bar_lines() -> None:
    sigs = (TimeSignature(0, 1, 4), TimeSignature(1, 4, 4))
    tune = Song(make_notes([67, 72, 71, 72, 74], [0, 1, 2, 3, 5], [1, 1, 1, 2, 4]),
                time_signatures=sigs)  # fmt: skip
    controls = Controls.for_melody(tune, max_bar_tokens=10)
    assert (controls.pickup, controls.bars, controls.end) == (1.0, 3, 9.0)
    tok = get_tokenizer("pop").fit([tune])  # the run's songs had upbeats: TIMESIG_1/4 is known
    model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    sampler = Sampler(model, model.init_params(key=jax.random.key(0)), tok)
    (song,) = sampler.generate(controls=controls, seed=0)
    assert song.bar_lines()[:4].tolist() == [0.0, 1.0, 5.0, 9.0]
    assert song.notes[song.notes["track"] == 0].tolist() == tune.notes.tolist()
    with pytest.raises(ValueError, match="pickup must be shorter than a bar"):
        Controls(bars=2, pickup=4.0)


def test_a_primer_of_several_tracks_continues_in_a_multi_part_encoding() -> None:
    sampler = _sampler("pop")
    primer = Song(
        make_notes([72, 48], [0, 0], [1, 1], track=[0, 1]),
        tracks=(Track("MELODY", role="melody"), Track("PIANO", role="accompaniment")),
    )
    [song] = sampler.generate(primer=primer, num_tokens=40, seed=0, include_primer=True)
    assert len(song.tracks) >= 2  # the encoding's parts, not the primer's first track alone
    assert set(song.notes["track"].tolist()) <= set(range(len(song.tracks)))
