"""A form's chords: a progression per section, looped over its bars; the default form."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.chords import chord_labels
from popgen.music.form import default_form, form_chords, parse_progressions, read_progressions
from popgen.music.sections import Section, format_form, parse_form
from popgen.music.song import Song, make_notes
from popgen.sampling.controls import Controls


@settings(deadline=None, max_examples=40)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    loop=st.integers(1, 5),
)
def test_every_bar_of_every_section_gets_its_loop_from_the_section_start(
    lengths: list[int], loop: int
) -> None:
    names = ["C", "Dm", "Em", "F", "G"][:loop]
    form = parse_form(" ".join(f"{'AB'[i % 2]}{n}" for i, n in enumerate(lengths)))
    chords = form_chords(form, " ".join(names))
    assert chords["start"].tolist() == [float(4 * b) for b in range(sum(lengths))]
    assert set(chords["duration"].tolist()) == {4.0}
    expected = [names[b % loop] for s in form for b in range(s.num_bars)]
    assert chord_labels(chords, style="symbol") == expected


def test_per_section_progressions_and_a_default() -> None:
    table = parse_progressions("# the song\nA: C G Am F\nB: F G\n   Em Am\n*: C\n")
    assert table == {"A": "C G Am F", "B": "F G | Em Am", "*": "C"}
    chords = form_chords(parse_form("i1 B2 A2"), table)
    assert chord_labels(chords, style="symbol") == ["C", "F", "G", "Em", "Am", "C", "G"]
    assert chords["start"].tolist() == [0.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A: C\nA: G", "section 'A' has two progressions"),
        ("C G\nA: F", "before any section label"),
        ("# nothing\n", "the chord progression is empty"),
    ],
)
def test_bad_progression_texts(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_progressions(text)


def test_a_bad_file_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "form.txt"
    path.write_text("A: C\nA: G\n")
    with pytest.raises(ValueError, match=f"{path}: section 'A' has two"):
        read_progressions(path)
    with pytest.raises(ValueError, match="cannot read the chord file"):
        read_progressions(tmp_path / "missing.txt")


def test_a_section_without_chords_and_bad_chords_name_the_section() -> None:
    with pytest.raises(ValueError, match=r"section o \(bars 3-4\) has no chords.*given: A"):
        form_chords(parse_form("A2 o2"), {"A": "C"})
    with pytest.raises(ValueError, match=r"section B \(bars 3-3\): bar 1: unknown chord 'Hm'"):
        form_chords(parse_form("A2 B1"), {"A": "C", "B": "Hm"})


@pytest.mark.parametrize(
    ("bars", "form"), [(1, "A1"), (8, "A8"), (9, "A8 B1"), (16, "A8 B8"), (36, "A8 B8 A8 B8 A4")]
)
def test_default_form(bars: int, form: str) -> None:
    assert format_form(default_form(bars)) == form


def test_controls_over_a_form_carry_it_to_the_song() -> None:
    controls = Controls.over_form("A2 B2", {"A": "C G", "B": "F"})
    assert controls.bars == 4 and controls.form == (Section("A", 0, 2), Section("B", 2, 2))
    written = Song(make_notes([60], [0], [16]))  # a song as the model writes it
    assert controls.apply(written).sections == controls.form
    stopped = Controls(bars=4, form=parse_form("A2 B2")).apply(Song(make_notes([60], [0], [4])))
    assert stopped.sections == controls.form  # a song that stopped after one bar: every bar
    assert len(stopped.bar_lines()) == 5
    with pytest.raises(ValueError, match="the form has no sections"):
        Controls.over_form("", "C")
    with pytest.raises(ValueError):
        Controls(bars=2, form=parse_form("A4"))  # a form longer than the song


def test_a_form_opens_its_sections_in_the_bars_the_model_is_given() -> None:
    import jax

    from popgen import LSTMModel
    from popgen.sampling import Sampler
    from popgen.tokenizers import get_tokenizer

    controls = Controls.over_form("i1 A2 B1", {"A": "C G", "B": "F", "*": "Am"})
    skeleton = controls.skeleton()
    assert skeleton.sections == controls.form and len(skeleton.bar_lines()) == 5
    tok = get_tokenizer("pop", sections=True)
    heads = [prefix[:3] for prefix in tok.bar_prefixes(skeleton, controls.bars)]
    assert heads == [
        ["BAR", "SECTION_i", "CHORD_A:min"],
        ["BAR", "SECTION_A", "CHORD_C:maj"],
        ["BAR", "CHORD_G:maj", "MELODY"],
        ["BAR", "SECTION_B", "CHORD_F:maj"],
    ]
    # an encoding without sections is given the same bars without them
    plain = get_tokenizer("pop").bar_prefixes(skeleton, controls.bars)
    assert not any(n.startswith("SECTION_") for prefix in plain for n in prefix)
    model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1,
                      feature_dim=tok.step_features().size)  # fmt: skip
    sampler = Sampler(model, model.init_params(key=jax.random.key(0)), tok)
    (song,) = sampler.generate(controls=controls, seed=0)
    assert song.sections == controls.form
    assert chord_labels(song.chords, style="symbol")[:3] == ["Am", "C", "G"]


def test_chords_without_a_form_get_the_default_form_in_a_form_aware_encoding() -> None:
    from popgen.tokenizers import get_tokenizer

    controls = Controls.over_chords("C G", bars=10)
    heads = get_tokenizer("pop", sections=True).bar_prefixes(controls.skeleton(), 10)
    starts = [(i, p[1]) for i, p in enumerate(heads) if p[1].startswith("SECTION_")]
    assert starts == [(0, "SECTION_A"), (8, "SECTION_B")]  # default_form(10): A8 B2
