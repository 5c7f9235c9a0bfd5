"""popgen.evaluation.excerpts and goals: like-with-like excerpts, one-line melodies, goals."""

import math

import numpy as np
import pytest

from popgen.evaluation.excerpts import excerpt, one_line, part, steering_songs
from popgen.evaluation.goals import GOALS, goal_row, steering_table
from popgen.evaluation.steering import SteeringReport
from popgen.music.sections import parse_form
from popgen.music.song import Song, Track, make_notes

TRACKS = (Track("Vocal", role="melody"), Track("Piano", role="accompaniment"))


def _song(bars: int, *, lead: int = 1, odd: int | None = None, chordal: bool = False) -> Song:
    """``bars`` bars of 4/4 (bar ``odd`` of 2/4), melody from bar ``lead``, piano throughout."""
    lengths = [2.0 if b == odd else 4.0 for b in range(bars)]
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    rows = []
    for b in range(bars):
        rows += [(48, edges[b], lengths[b], 1), (52, edges[b], lengths[b], 1)]
        if b >= lead:
            rows += [(60 + b % 5, edges[b] + beat, 1.0, 0) for beat in range(int(lengths[b]))]
            if chordal:
                rows.append((55, edges[b], 2.5, 0))  # a second voice under each bar's first note
    pitch, start, duration, track = zip(*rows, strict=True)
    notes = make_notes(pitch, start, duration, track=track)
    return Song(notes, tracks=TRACKS, bars=edges[1:-1])


def test_excerpt_starts_at_the_melody_and_skips_odd_bars() -> None:
    plain = excerpt(_song(12, lead=2), 8)
    assert plain is not None and plain.end == 32.0
    assert part(plain, "melody").notes["start"][0] == 0.0  # the intro bars left out
    # a 2/4 bar at bar 4: the excerpt starts at the next bar that opens with melody
    odd = excerpt(_song(16, lead=1, odd=4), 8)
    assert odd is not None and np.allclose(np.diff(odd.bar_lines()), 4.0)
    assert part(odd, "melody").notes["pitch"][0] == 60 + 5 % 5
    assert excerpt(_song(10, lead=1, odd=4), 8) is None  # no 8 bars of 4/4 in a row
    assert excerpt(_song(4, lead=5), 2) is None  # no melody


def test_a_chordal_melody_is_reduced_to_its_top_line() -> None:
    song = excerpt(_song(12, chordal=True), 8)
    assert song is not None
    tune = part(song, "melody").notes
    assert 55 not in tune["pitch"].tolist() and len(tune) == 32
    assert part(song, "accompaniment").num_notes == 16  # the piano is kept


def test_one_line_keeps_the_highest_of_close_onsets_and_cuts_overlaps() -> None:
    tune = Song(make_notes([64, 60, 62, 59], [0, 0.01, 1, 1], [3, 1, 1, 1]))
    line = one_line(tune).notes
    assert line["pitch"].tolist() == [64, 62] and line["duration"].tolist() == [1.0, 1.0]
    legato = Song(make_notes([60, 62], [0, 1], [1.2, 1]))
    assert one_line(legato).notes.tolist() == legato.notes.tolist()  # a legato overlap stays


def test_steering_songs_keep_form_excerpts_with_a_repeated_section() -> None:
    song = _song(17, lead=1).replace(sections=parse_form("i1 A8 A8"))
    other = _song(17, lead=1).replace(sections=parse_form("i1 A8 B8"))
    songs = steering_songs([song, other], [song], bars=8, form_bars=16)
    assert len(songs.reference) == 2 and len(songs.held_out) == 1
    assert len(songs.training) == 1  # the held-out song is left out
    assert len(songs.form_held_out) == 1 and len(songs.form_reference) == 1
    assert [(s.label, s.num_bars) for s in songs.form_held_out[0].sections] == [("A", 8)] * 2
    with pytest.raises(ValueError, match="no held-out song has 40 whole 4/4 bars"):
        steering_songs([song], [song], bars=40)


def test_goal_rows_are_judged_by_their_kind() -> None:
    goal = {g.name: g for g in GOALS}
    near = goal_row(goal["bar_repetition"], [0.1, 0.3], [0.2, 0.2], [0.24, 0.26])
    assert near["met"] is True and near["generated"] == pytest.approx(0.25)
    far = goal_row(goal["bar_repetition"], [0.1, 0.3], [0.2, 0.2], [0.0, 0.0])
    assert far["met"] is False
    assert goal_row(goal["chord_tone_share"], [], [0.7], [0.66])["met"] is True
    assert goal_row(goal["two_sample"], [], [0.5], [0.8])["met"] is False
    form = goal_row(goal["section_repetition"], [0.2, 0.5, 0.9], [0.7], [0.1])
    assert form["met"] is False and form["range"][0] == pytest.approx(0.23)
    empty = goal_row(goal["harmonisation"], [0.5], [0.5], [math.nan])
    assert empty["met"] is None and empty["songs"] == 0


def test_steering_table_puts_runs_side_by_side() -> None:
    rows = {g.name: goal_row(g, [1, 2, 3], [2], [2 if i else 9]) for i, g in enumerate(GOALS)}
    figures = {
        "songs": 1,
        "bars": 16,
        "form_songs": 1,
        "form_bars": 32,
        "reference_songs": 3,
        "strategy": "temperature=1.0",
        "seconds": 1.0,
        "goals": rows,
        "chord_tone_share": {"generated": [0, 0.5, 1], "inside": 1.0},
        "melody_notes_per_bar": {"generated": [0, 4, 8], "inside": 1.0},
        "harmonisation": {"arranged": [0, 0.6, 1], "inside": 1.0},
        "arranged_melody_unchanged": True,
        "group_inside_all": 0.5,
        "group_inside_each": {"pitch_range": 0.5},
        "two_sample": None,
        "two_sample_encoded": {"accuracy": 0.66, "low": 0.59, "high": 0.72},
        "two_sample_on_grid": {"accuracy": 0.8, "low": 0.74, "high": 0.85},
        "separating": [["velocity_spread", 0.12], ["notes_per_bar", 0.8]],
        "separating_on_grid": [["mean_interval", 0.3]],
    }
    report = SteeringReport(figures)
    extra = dict(report.extra_rows())
    assert extra["classifier: held-out through the encoding"] == "0.66 (0.59-0.72)"
    assert extra["classifier: generated against held-out on the grid"] == "0.80 (0.74-0.85)"
    assert extra["telling metrics (AUC, 0.5 = alike)"] == "velocity_spread 0.12, notes_per_bar 0.80"
    assert extra["telling metrics on the grid (AUC, 0.5 = alike)"] == "mean_interval 0.30"
    table = steering_table({"one": report, "two": report})
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("measure"))
    assert header.split()[-2:] == ["one", "two"]
    pitch = next(line for line in lines if line.startswith("melody pitch range"))
    assert "9.00 (0%) NO" in pitch and "2.00 [1.10-2.90]" in pitch
    assert len(lines) == 1 + 2 + 2 + len(GOALS) + len(report.extra_rows())  # notes, runs, head


def _tune(seed: int, *, leap: int = 2, offset: float = 0.0) -> Song:
    """Eight bars of a random tune in steps of up to ``leap``, its onsets ``offset`` late."""
    rng = np.random.default_rng(seed)
    steps = np.repeat([0.5, 1.0], 32)[rng.permutation(64)][:24]
    starts = np.concatenate([[0.0], np.cumsum(steps)[:-1]]) + offset
    pitch = 64 + np.cumsum(rng.integers(-leap, leap + 1, len(steps)))
    pitch = np.clip(pitch, 40, 90)
    velocity = rng.integers(40, 110, len(steps))
    melody = make_notes(pitch, starts, steps * 0.9, velocity=velocity, track=0)
    return Song(melody, tracks=(Track("Melody", role="melody"),), bars=np.arange(1, 8) * 4.0)


def test_the_classifier_on_the_grid_compares_like_with_like() -> None:
    """Real melodies through the encoding against as played (the floor), and written ones."""
    import jax

    import popgen
    from popgen.evaluation.steering import _on_the_grid
    from popgen.metrics import metric_table
    from popgen.metrics.music import choose_track

    played = [_tune(seed, offset=0.1) for seed in range(20)]  # a tenth of a beat off the grid
    tok = popgen.get_tokenizer("pop").fit(played)
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=8, num_layers=1)
    run = popgen.Run(model, tok, model.init_params(key=jax.random.key(0)))

    def tables(written: list[Song]) -> dict[str, object]:
        sets = {"held_out": played, "generated": written}
        return {k: metric_table([choose_track(s, "melody") for s in v]) for k, v in sets.items()}

    alike = [tok.decode(tok.encode(s)) for s in played]  # what a perfect model would write
    floor, on_grid, telling = _on_the_grid(run, played, tables(alike), seed=0)
    assert floor["accuracy"] >= 0.9  # the grid alone gives these melodies away
    assert on_grid["accuracy"] <= 0.6  # written on the grid as they are: nothing to tell
    assert all(auc == 0.5 for _, auc in telling)
    leaping = [tok.decode(tok.encode(_tune(seed, leap=9))) for seed in range(20, 40)]
    _, apart, telling = _on_the_grid(run, played, tables(leaping), seed=0)
    assert apart["accuracy"] >= 0.9
    assert telling[0][0] in ("mean_interval", "leap_share", "pitch_range", "max_interval")
