"""The studio page: Gradio blocks over a :class:`~popgen.studio.Studio`, and its launch.

The layout only; what happens on a click is :meth:`Studio.generate`. Gradio
is imported here, inside :func:`build_app`, after the environment that keeps
it local is set: no telemetry or version check (``GRADIO_ANALYTICS_ENABLED``),
no Hugging Face calls (``HF_HUB_OFFLINE``), uploads and served files in the
studio's own folder (``GRADIO_TEMP_DIR``), system fonts only (no Google Fonts).
:func:`launch` binds to 127.0.0.1 unless told otherwise and never makes a
share link.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, cast

from popgen.studio.session import Candidate, Studio
from popgen.studio.settings import MAX_CANDIDATES, StudioError, settings_from_page

if TYPE_CHECKING:
    import gradio

__all__ = ["INSTALL_HINT", "build_app", "launch"]

#: What to run when Gradio is missing.
INSTALL_HINT = "popgen studio needs Gradio: pip install 'popgen[studio]'"

_INTRO = (
    "## popgen studio\n"
    "Pick a model, set the controls, **Generate**. Each candidate shows its piano roll, "
    "plays, and downloads as MIDI and WAV; keep one to download it as MusicXML too, "
    "or to continue it. "
    "Everything stays on this computer."
)
_CHORDS_HELP = (
    "one chord per bar: 'C G Am F'; bars split by |: 'C G | Am F'; '.' holds a chord "
    "for a beat: 'C . . G7'. Only for models that follow chords."
)
_CSS = ".popgen-status p { font-weight: 600; }"


def _import_gradio(studio: Studio) -> Any:
    """Gradio, imported after the settings that keep it local and inside the studio's folder."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    if "gradio" not in sys.modules:  # read once, when gradio is first imported
        os.environ["GRADIO_TEMP_DIR"] = str(studio.folder / "served")
    try:
        import gradio as gr
    except ImportError:
        raise StudioError(INSTALL_HINT) from None
    return gr


def _theme(gr: Any) -> Any:
    """The default theme with the system's fonts, so the page fetches no font from anywhere."""
    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    )


def build_app(studio: Studio, *, model: str | None = None) -> gradio.Blocks:
    """The page's blocks, wired to ``studio``.

    Args:
        studio: the models and the folder the page works in.
        model: the model chosen when the page opens; default: the first choice.

    Raises:
        StudioError: Gradio is not installed (the message says how to install it).

    ```python
    app = build_app(Studio(["runs/pop"]))
    app.launch(server_name="127.0.0.1")  # what launch() does, with the safe settings
    ```
    """
    gr = _import_gradio(studio)
    choices = studio.choices()
    first = model or (choices[0] if choices else None)

    with gr.Blocks(title="popgen studio", analytics_enabled=False) as app:
        gr.Markdown(_INTRO)
        candidates = gr.State([])
        kept = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                chosen = gr.Dropdown(
                    choices, value=first, label="model", allow_custom_value=True, elem_id="model",
                    info="a shipped model, or type a run directory or model file",
                )  # fmt: skip
                about = gr.Markdown(_describe(studio, first) if first else "", elem_id="about")
                chords = gr.Textbox(label="chords", info=_CHORDS_HELP, elem_id="chords")
                form = gr.Textbox(
                    label="form", elem_id="form",
                    info="sections of a letter and a number of bars: 'i4 A8 B8 A8 B8 o4' "
                    "(empty: 8-bar sections A B ...); the chords may then give one line per "
                    "section: 'A: C G Am F'",
                )  # fmt: skip
                with gr.Row():
                    bars = gr.Number(0, label="bars (0: the chords')", precision=0, elem_id="bars")
                    tokens = gr.Number(0, label="tokens (0: enough)", precision=0, elem_id="tokens")
                primer = gr.File(
                    label="primer (MIDI) to continue", file_types=[".mid", ".midi"],
                    type="filepath", elem_id="primer",
                )  # fmt: skip
                with gr.Accordion("sampling", open=True):
                    with gr.Row():
                        temperature = gr.Number(0, label="temperature (0: off)")
                        top_p = gr.Number(0, label="top-p (0: off)")
                        top_k = gr.Number(0, label="top-k (0: off)", precision=0)
                    strategy = gr.Textbox(
                        label="more strategies",
                        info="a chain such as 'repetition_penalty=1.2,min_p=0.05' or "
                        "'in_key=C,pitch_range(48, 84)'; empty: the model's recipe when the "
                        "fields above are empty; 'plain': none",
                        elem_id="strategy",
                    )
                    with gr.Row():
                        seed = gr.Number(0, label="seed", precision=0, elem_id="seed")
                        count = gr.Slider(1, MAX_CANDIDATES, value=2, step=1, label="candidates")
                generate = gr.Button("Generate", variant="primary", elem_id="generate")
                status = gr.Markdown("", elem_id="status", elem_classes=["popgen-status"])
            with gr.Column(scale=2):
                slots = [_slot(gr, i) for i in range(MAX_CANDIDATES)]
                with gr.Group():
                    keep = gr.Radio([], label="keep a candidate", elem_id="keep")
                    kept_files = gr.File(
                        label="kept: downloads", file_count="multiple", interactive=False
                    )
                    extend = gr.Button("Continue the kept song", elem_id="continue")

        fields = [chosen, chords, bars, form, tokens, temperature, top_k, top_p, strategy, seed,
                  count]  # fmt: skip
        shown = [status, candidates, keep, *[part for slot in slots for part in slot]]

        def on_generate(*values: Any) -> list[Any]:
            *page, upload = values
            return _outputs(gr, lambda: _generate(studio, page, upload=upload, kept=None))

        def on_continue(*values: Any) -> list[Any]:
            *page, held = values
            if held is None:
                return _outputs(gr, lambda: _fail("keep a candidate first"))
            return _outputs(gr, lambda: _generate(studio, page, upload=None, kept=held))

        def on_keep(choice: str | None, held: list[Candidate]) -> tuple[Any, Any, str]:
            if not choice or not held:
                return None, None, ""
            candidate = held[int(choice.split()[-1]) - 1]
            try:
                candidate = studio.with_musicxml(candidate)
                said = f"kept {candidate.label}"
            except StudioError as exc:
                said = f"kept {candidate.label}; ⚠ {exc}"
            return candidate, _files(candidate), said

        chosen.change(lambda ref: _describe(studio, ref), chosen, about)
        generate.click(on_generate, [*fields, primer], shown, concurrency_limit=4)
        extend.click(on_continue, [*fields, kept], shown, concurrency_limit=4)
        keep.input(on_keep, [keep, candidates], [kept, kept_files, status])  # a click, only
    return cast("gradio.Blocks", app)


def _slot(gr: Any, i: int) -> tuple[Any, ...]:
    """One candidate's place on the page: caption, piano roll, player, downloads."""
    with gr.Column(visible=False, elem_id=f"candidate-{i}") as box:
        caption = gr.Markdown(elem_id=f"caption-{i}")
        roll = gr.Image(
            type="filepath", label="piano roll", show_label=False, elem_id=f"roll-{i}",
            interactive=False, buttons=["download", "fullscreen"],
        )  # fmt: skip
        plain = gr.WaveformOptions(show_recording_waveform=False)  # an <audio> player
        audio = gr.Audio(
            type="filepath", label="listen", elem_id=f"audio-{i}", interactive=False,
            buttons=["download"], waveform_options=plain,
        )  # fmt: skip
        files = gr.File(
            label="download", file_count="multiple", elem_id=f"files-{i}", interactive=False
        )
    return box, caption, roll, audio, files


def _describe(studio: Studio, ref: str | None) -> str:
    try:
        return studio.describe(ref or "").summary()
    except StudioError as exc:
        return f"**{exc}**"


def _fail(message: str) -> tuple[str, list[Candidate]]:
    raise StudioError(message)


def _generate(
    studio: Studio, page: list[Any], *, upload: str | None, kept: Candidate | None
) -> tuple[str, list[Candidate]]:
    """Read the page's fields, generate, and say what came out."""
    ref, chords, bars, form, tokens, temperature, top_k, top_p, strategy, seed, count = page
    if kept is not None:
        chords, bars, form = "", None, ""  # a continuation follows the song, not a progression
    settings = settings_from_page(
        chords=chords, bars=bars, form=form, tokens=tokens, temperature=temperature,
        top_k=top_k, top_p=top_p, strategy=strategy, seed=seed, candidates=count,
    )  # fmt: skip
    start = time.perf_counter()
    primer = kept.song if kept is not None else (studio.read_primer(upload) if upload else None)
    made = studio.generate(ref, settings, primer=primer)
    what = f"continued {kept.label}: " if kept is not None else ""
    notes = sorted({c.note for c in made if c.note})
    took = time.perf_counter() - start
    said = f"{what}{len(made)} candidate(s) ready in {took:.1f} s."
    return said + "".join(f"  \n{n}" for n in notes), made


def _files(candidate: Candidate) -> list[str]:
    return [str(p) for p in (candidate.midi, candidate.musicxml, candidate.wav) if p is not None]


def _outputs(gr: Any, work: Any) -> list[Any]:
    """The page's outputs after ``work()``; on bad input, the message and nothing else changed."""
    try:
        message, made = work()
    except StudioError as exc:
        return [f"⚠ {exc}", *[gr.skip()] * (2 + 5 * MAX_CANDIDATES)]
    except Exception as exc:  # keep serving: a bug shows as a message, not a dead page
        return [f"⚠ unexpected error: {type(exc).__name__}: {exc}"] + [gr.skip()] * (
            2 + 5 * MAX_CANDIDATES
        )
    keep_choices = [f"candidate {i + 1}" for i in range(len(made))]
    out: list[Any] = [message, made, gr.Radio(choices=keep_choices, value=None)]
    for i in range(MAX_CANDIDATES):
        if i < len(made):
            c = made[i]
            wav = str(c.wav) if c.wav is not None else None
            out += [gr.Column(visible=True), f"**{i + 1}.** {c.label}", str(c.png), wav, _files(c)]
        else:
            out += [gr.Column(visible=False), "", None, None, None]
    return out


def launch(
    studio: Studio,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    model: str | None = None,
    block: bool = True,
) -> Any:
    """Serve the page on ``host:port`` (a free port when ``None``); no share link, ever.

    The process's temporary files (:mod:`tempfile`) go to the studio's folder
    from then on, so everything the page writes is removed with it.

    Args:
        studio: the models and the folder.
        host: the address to bind; ``127.0.0.1`` keeps the page on this computer.
        port: the port; ``None``: the first free one from 7860.
        model: the model chosen when the page opens.
        block: wait until interrupted; ``False`` returns the running app.

    Returns:
        The Gradio app (its ``local_url`` says where it is).

    ```python
    launch(Studio(), port=7860)  # then open http://127.0.0.1:7860
    ```
    """
    import tempfile

    scratch = studio.folder / "scratch"  # FluidSynth's and music21's temporary files too
    scratch.mkdir(exist_ok=True)
    tempfile.tempdir = str(scratch)
    app = build_app(studio, model=model)
    gr = sys.modules["gradio"]
    app.queue(default_concurrency_limit=4)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        show_error=False,
        max_file_size="4mb",
        allowed_paths=[str(studio.folder)],
        theme=_theme(gr),
        css=_CSS,
        footer_links=[],
        mcp_server=False,
        pwa=False,
        ssr_mode=False,
        enable_monitoring=False,
        quiet=True,
    )
    return app
