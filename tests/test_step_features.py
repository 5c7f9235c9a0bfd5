"""Step features of the pop encoding: position, part, chords, lookbacks, melody, sections."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import step_automaton
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.chords import make_chords
from popgen.music.sections import parse_form
from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers import get_tokenizer
from popgen.tokenizers.features import (
    counting_features,
    expand,
    sequence_codes,
    sequence_features,
    song_codes,
)
from popgen.tokenizers.pop_features import (
    DEFAULT_FEATURES,
    FEATURE_GROUPS,
    PHRASE_BARS,
    SECTION_SLOTS,
    feature_layout,
)

CHORDS = {"C": (0, 4, 7), "F": (5, 9, 0), "G": (7, 11, 2), "Am": (9, 0, 4)}


def _song(bars: list[list[int | None]], chords: list[str], form: str = "") -> Song:
    """A melody of quarter notes (``None``: a rest) over one chord a bar, and a bass note a bar."""
    pitches, starts, tracks = [], [], []
    for b, beats in enumerate(bars):
        for k, pitch in enumerate(beats):
            if pitch is not None:
                pitches.append(pitch)
                starts.append(4.0 * b + k)
                tracks.append(0)
        pitches.append(36)
        starts.append(4.0 * b)
        tracks.append(1)
    notes = make_notes(pitches, starts, [1.0] * len(pitches), track=tracks)
    tracks_ = (Track("M", role="melody"), Track("P", role="accompaniment"))
    segments = make_chords(chords, [4.0 * b for b in range(len(bars))], [4.0] * len(bars))
    return Song(notes, tracks=tracks_, chords=segments, sections=parse_form(form))


melodies = st.lists(
    st.lists(st.one_of(st.none(), st.integers(60, 84)), min_size=4, max_size=4),
    min_size=1,
    max_size=6,
)


#: One tokenizer for every drawn song (fitted on one that holds all they may hold): its
#: automaton compiles once (step_automaton), and the examples then cost no compilation.
_COVER = [[60, 61, 62, 63], [None, 84, 72, 80], [64, None, 66, None], [None] * 4]
_TOK = get_tokenizer("pop").fit([_song(_COVER, sorted(CHORDS))])


@settings(deadline=None, max_examples=15)
@given(bars=melodies, data=st.data())
def test_features_match_the_song_they_encode(bars: list[list[int | None]], data) -> None:  # type: ignore[no-untyped-def]
    labels = data.draw(st.lists(st.sampled_from(sorted(CHORDS)), min_size=len(bars),
                                max_size=len(bars)))  # fmt: skip
    song = _song(bars, labels)
    tok = _TOK
    names = tok.song_to_names(song)
    out = step_automaton(tok, [tok.token_id(n) for n in names], expanded=True)
    layout = feature_layout(tok)
    assert out.shape == (len(names), tok.step_features().size)
    bar, part, spb = -1, None, tok.config.steps_per_beat
    for i, name in enumerate(names):
        if name == "BAR":
            bar += 1
        if name in ("MELODY", "ACCOMPANIMENT"):
            part = name
        row = out[i]
        assert row[layout["bar_in_section"]].argmax() == bar % PHRASE_BARS
        assert row[layout["section"]].argmax() == SECTION_SLOTS.index("none")
        if not name.startswith("POSITION_"):
            continue
        position = int(name.split("_")[1])
        assert row[layout["position"]].argmax() == position
        assert row[layout["part"]].argmax() == (1 if part == "MELODY" else 2)
        chord = set(np.flatnonzero(row[layout["chord"]]).tolist())
        assert chord == set(CHORDS[labels[bar]])
        beat = position // spb
        for back, slot in ((1, "lookback_1"), (2, "lookback_2")):
            earlier = bars[bar - back][beat] if bar - back >= 0 else None
            expected = earlier % 12 if earlier is not None else 12
            assert row[layout[slot]].argmax() == expected, (name, bar, back)


def _features(song: Song, **options: object) -> tuple[list[str], np.ndarray, dict[str, slice]]:
    tok = get_tokenizer("pop", sections=True, **options).fit([song])
    names = tok.song_to_names(song)
    ids = jnp.array([[tok.token_id(n) for n in names]])
    return names, np.asarray(sequence_features(tok.step_features(), ids))[0], feature_layout(tok)


def test_a_section_looks_back_at_the_same_bar_of_its_label_last_time() -> None:
    song = _song([[60, None, 62, None], [64, None, None, None], [67, 65, None, None],
                  [72, None, None, None]], ["C", "G", "F", "C"], form="A1 B1 A2")  # fmt: skip
    names, out, layout = _features(song)
    heads = [i for i, n in enumerate(names) if n == "MELODY"]  # each bar's melody opens
    at = [out[i + 1] for i in heads]  # after POSITION_0 of each bar (the first note's step)
    assert [int(r[layout["section"]].argmax()) for r in at] == [0, 1, 0, 0]  # A B A A
    assert [int(r[layout["bar_in_section"]].argmax()) for r in at] == [0, 0, 0, 1]
    # bar 3 (A, its first bar) hears bar 1 (A's first bar, C = 60); bar 4 (A's second bar)
    # had no second bar of A before it; the first A heard nothing
    look = [int(r[layout["lookback_section"]].argmax()) for r in at]
    assert look == [12, 12, 0, 12]


def test_the_melody_pitch_and_the_next_chord_are_heard() -> None:
    song = _song([[None, None, 79, None], [None, None, None, None]], ["C", "G"])
    names, out, layout = _features(song)
    accompaniment = names.index("ACCOMPANIMENT")
    row = out[accompaniment]  # the accompaniment hears the melody's last note, G5
    assert row[layout["melody_pitch_class"]].argmax() == 7
    assert row[layout["melody_octave"]].argmax() == 79 // 12 - 3
    position = names.index("POSITION_8")  # beat 3 of bar 1 (C): the next beat is still C
    assert set(np.flatnonzero(out[position][layout["next_chord"]]).tolist()) == {0, 4, 7}


def test_the_melody_note_still_sounding_is_heard_across_the_bar_line() -> None:
    # bar 1: C on beat 1 held two beats, then E on beat 4 held into bar 2 by two beats
    notes = make_notes([60, 64, 67, 36], [0.0, 3.0, 6.0, 0.0], [2.0, 3.0, 1.0, 1.0],
                       track=[0, 0, 0, 1])  # fmt: skip
    tracks = (Track("M", role="melody"), Track("P", role="accompaniment"))
    song = Song(notes, tracks=tracks, chords=make_chords(["C", "G"], [0.0, 4.0], [4.0, 4.0]))
    names, out, layout = _features(song, features=("part", "sounding"))
    sounding = [int(r[layout["sounding"]].argmax()) for r in out]
    first_duration = names.index("DURATION_2")
    assert sounding[first_duration] == 8  # C ends on beat 3
    accompaniment = names.index("ACCOMPANIMENT")
    past = layout["sounding"].stop - layout["sounding"].start - 1  # the last slot
    assert sounding[accompaniment] == past  # E, from beat 4, ends past this bar's steps
    second_melody = [i for i, n in enumerate(names) if n == "MELODY"][1]
    assert sounding[second_melody] == 8  # in bar 2, E still sounds until its beat 3
    assert names[second_melody + 1] == "POSITION_8"  # where the next note starts


def test_the_sounding_note_follows_the_meter() -> None:
    from popgen.music.song import TimeSignature

    # in 3/4: E from beat 3 held two beats sounds one beat (4 steps) into bar 2
    notes = make_notes([64, 67], [2.0, 4.0], [2.0, 1.0], track=[0, 0])
    song = Song(notes, tracks=(Track("M", role="melody"),),
                time_signatures=(TimeSignature(0.0, 3, 4),))  # fmt: skip
    names, out, layout = _features(song, features=("sounding",))
    assert "TIMESIG_3/4" in names
    second_melody = [i for i, n in enumerate(names) if n == "MELODY"][1]
    assert int(out[second_melody][layout["sounding"]].argmax()) == 4


def test_the_range_of_the_section_so_far_is_heard() -> None:
    song = _song([[72, 76, 67, None], [79, None, None, None], [74, None, None, None]],
                 ["C", "G", "C"], form="A2 B1")  # fmt: skip
    names, out, layout = _features(song, features=("range",))
    pitch_rows = [(n, out[i]) for i, n in enumerate(names) if n.startswith("PITCH_")]
    melody = [(n, r) for n, r in pitch_rows if int(n.split("_")[1]) > 40]
    down = [int(r[layout["range_down"]].argmax()) for _, r in melody]
    up = [int(r[layout["range_up"]].argmax()) for _, r in melody]
    # 72; 76 (4 above 72); 67 (the lowest, 9 below 76); 79 (12 above 67); then B opens at
    # the last pitch, 79, so 74 is 5 below the section's highest and at its lowest
    assert down == [0, 4, 0, 12, 0]
    assert up == [0, 0, 9, 0, 5]
    before = out[names.index("MELODY")]  # nothing played yet: the "no melody" slot
    assert before[layout["range_down"]].argmax() == before[layout["range_up"]].argmax() == 13


def test_the_encoding_picks_its_feature_groups() -> None:
    song = _song([[60, 62, 64, 65]], ["C"])
    _, out, layout = _features(song, features=("chord", "part"))
    assert list(layout) == ["part", "chord"] and out.shape[1] == 3 + 12
    with pytest.raises(ValueError, match="features must be a tuple"):
        get_tokenizer("pop", features=("tempo",))


def test_features_depend_only_on_tokens_so_far() -> None:
    song = _song([[60, 62, 64, 65], [67, None, 64, 60]], ["C", "G"])
    tok = get_tokenizer("pop").fit([song])
    ids = np.array([[tok.token_id(n) for n in tok.song_to_names(song)]])
    features = tok.step_features()
    full = np.asarray(sequence_features(features, jnp.asarray(ids)))
    cut = len(ids[0]) // 2
    changed = ids.copy()
    changed[0, cut:] = tok.token_id("BAR")
    other = np.asarray(sequence_features(features, jnp.asarray(changed)))
    np.testing.assert_array_equal(full[:, :cut], other[:, :cut])
    assert not np.array_equal(full[:, cut:], other[:, cut:])


@pytest.mark.parametrize("groups", [DEFAULT_FEATURES, FEATURE_GROUPS], ids=["default", "all"])
def test_step_by_step_equals_the_whole_sequence(groups: tuple[str, ...]) -> None:
    song = _song([[72, 74, None, 76], [72, 74, 79, 76], [60, None, None, 62]], ["C", "F", "G"])
    tok = get_tokenizer("lead", features=groups).fit([song])
    ids = jnp.array([[tok.token_id(n) for n in tok.song_to_names(song)]] * 2)
    features = tok.step_features()
    whole = np.asarray(sequence_codes(features, ids))
    state, steps = features.init(2), []
    for t in range(ids.shape[1]):  # as the sampler does, one token at a time
        state, out = features.update(state, ids[:, t])
        steps.append(np.asarray(out))
    np.testing.assert_array_equal(np.stack(steps, axis=1), whole)
    np.testing.assert_array_equal(  # the features are the codes' table rows
        np.asarray(expand(features, jnp.asarray(whole))), sequence_features(features, ids)
    )


def test_whole_song_codes_are_the_codes_of_each_song_alone() -> None:
    bars = [[72, 74, None, 76], [72, 74, 79, 76], [60, None, None, 62]]
    forms = ["A1", "A1 B1", "A1 B2"]
    songs = [_song(bars[: n + 1], ["C", "F", "G"][: n + 1], form=forms[n]) for n in range(3)]
    tok = get_tokenizer("lead", sections=True).fit(songs)
    features = tok.step_features()
    ids = [tok.encode(s) for s in songs]
    for song, codes in zip(ids, song_codes(features, ids), strict=True):
        alone = np.asarray(sequence_codes(features, jnp.asarray(song)[None]))[0]
        np.testing.assert_array_equal(codes, alone)


def test_a_toy_automaton_counts() -> None:
    out = sequence_features(counting_features(4), jnp.zeros((1, 6), jnp.int32))
    assert out.argmax(-1).tolist() == [[1, 2, 3, 3, 3, 3]]


def _bar_heads(form: str, pitches: list[int]) -> tuple[list[np.ndarray], dict[str, slice]]:
    """The features after POSITION_0 of each bar's melody, one note a bar."""
    song = _song([[p, None, None, None] for p in pitches], ["C"] * len(pitches), form=form)
    names, out, layout = _features(song)
    return [out[i + 1] for i, n in enumerate(names) if n == "MELODY"], layout


def test_sections_past_16_bars_do_not_overwrite_the_16th() -> None:
    pitches = [60 + b % 12 for b in range(37)]
    rows, layout = _bar_heads("A20 B1 A16", pitches)
    look = [int(r[layout["lookback_section"]].argmax()) for r in rows]
    # the second A (bars 21..36) hears the first A's bars 0..15, never bar 16..19
    assert look[21:37] == [p % 12 for p in pitches[:16]]


def test_a_label_back_at_another_length_hears_only_its_last_time() -> None:
    pitches = [60 + b for b in range(24)]
    rows, layout = _bar_heads("A8 B4 A4 A8", pitches)
    look = [int(r[layout["lookback_section"]].argmax()) for r in rows]
    assert look[12:16] == [p % 12 for p in pitches[0:4]]  # A4 hears the first A's bars 0..3
    assert look[16:20] == [p % 12 for p in pitches[12:16]]  # A8 hears A4 ...
    assert look[20:24] == [12] * 4  # ... which had no bars 4..7


def test_the_next_onset_of_the_bar_before_and_its_octave_guide_a_copy() -> None:
    song = _song([[72, None, 79, None], [72, None, 79, None]], ["C", "C"])
    names, out, layout = _features(song)
    second = names.index("MELODY", names.index("MELODY") + 1)  # bar 2's melody opens
    assert out[second][layout["next_onset_1"]].argmax() == 0  # bar 1 began at step 0
    first_note_done = names.index("DURATION_1", second)
    row = out[first_note_done]
    assert row[layout["next_onset_1"]].argmax() == 8  # then beat 3 (step 8)
    at_beat_three = out[names.index("POSITION_8", second)]
    assert at_beat_three[layout["lookback_1"]].argmax() == 79 % 12
    assert at_beat_three[layout["lookback_1_octave"]].argmax() == 79 // 12 - 3
    last = out[names.index("DURATION_1", names.index("POSITION_8", second))]
    assert last[layout["next_onset_1"]].argmax() == 16  # nothing after: "none"
