"""The studio's logic, without a browser: models, generation, and the files of each candidate.

A :class:`Studio` owns one temporary folder and writes nothing outside it.
Each click on *Generate* writes its candidates into a fresh subfolder of it
(``<folder>/<id>/candidate-0.mid``, ``.wav``, ``.png``; ``.musicxml`` once the
candidate is kept), so two people generating at once never share a file.
Runs and samplers are loaded once and kept (a sampler per model and
strategy: its compiled program is reused); one lock per sampler lets
concurrent requests take turns on it.

Bad input (a folder that is not a run, a chord string that does not parse, a
file that is not MIDI, settings that mask every pitch) raises
:class:`~popgen.studio.settings.StudioError` with a message for the page.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     studio = Studio(folder=tmp)
...     "pop909-songs" in studio.choices(), studio.describe("pop909-songs").takes_chords
(True, True)
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.music import limits
from popgen.sampling.recipe import run_recipe
from popgen.studio.settings import Settings, StudioError, check_strategy, strategy_spec

if TYPE_CHECKING:
    from popgen.music.song import Song
    from popgen.runs.run import Run
    from popgen.sampling import Sampler
    from popgen.sampling.controls import Controls

__all__ = ["Candidate", "ModelInfo", "Studio"]

#: Tokens per candidate when neither the settings nor chords say (``popgen generate``'s default).
_DEFAULT_TOKENS = 400
#: Samplers kept at once; each holds a compiled program.
_KEEP_SAMPLERS = 8
#: Samples per second of the audio: enough for a preview, half the bytes of CD rate.
_SAMPLE_RATE = 22050
#: The biggest primer file read, in bytes.
_MAX_PRIMER_BYTES = limits.STUDIO_MAX_PRIMER_BYTES


@dataclass(frozen=True)
class ModelInfo:
    """What the page says about a model.

    Attributes:
        name: the model's name or folder, as chosen.
        encoding: its tokenizer's name.
        takes_chords: whether it follows a chord progression (``pop``, ``lead``).
        meter: its songs' meter, e.g. ``(4, 4)``.
        recipe: its recommended strategy spec.

    >>> ModelInfo("m", "pop", True, (4, 4), "temperature=0.9").summary()
    'm: pop encoding, 4/4, follows chords; recipe temperature=0.9'
    """

    name: str
    encoding: str
    takes_chords: bool
    meter: tuple[int, int]
    recipe: str

    def summary(self) -> str:
        """One line for the page.

        >>> ModelInfo("m", "note", False, (3, 4), "").summary()
        'm: note encoding, 3/4, no chords; recipe plain sampling'
        """
        chords = "follows chords" if self.takes_chords else "no chords"
        recipe = self.recipe or "plain sampling"
        return f"{self.name}: {self.encoding} encoding, {self.meter[0]}/{self.meter[1]}, " + (
            f"{chords}; recipe {recipe}"
        )


@dataclass(frozen=True)
class Candidate:
    """One generated song and its files in the studio's folder.

    Attributes:
        song: the song.
        midi: its MIDI file.
        musicxml: its MusicXML file, ``None`` until :meth:`Studio.with_musicxml` writes it.
        wav: its audio, ``None`` when no synthesizer could render it.
        png: its piano roll.
        note: what went wrong with the optional files, ``""`` when nothing did.

    >>> Candidate.__dataclass_fields__["wav"].type
    'Path | None'
    """

    song: Song
    midi: Path
    musicxml: Path | None
    wav: Path | None
    png: Path
    note: str = ""

    @property
    def label(self) -> str:
        """A caption: title, notes and length.

        ```python
        candidate.label  # 'popgen sample 0: 68 notes, 16.0 beats'
        ```
        """
        return f"{self.song.title}: {self.song.num_notes} notes, {self.song.end:.1f} beats"


class Studio:
    """The models a studio page offers, and generation into its own temporary folder.

    Args:
        models: run directories, model files or pretrained names to offer
            beside the shipped models.
        folder: where every file goes; by default a new temporary folder
            (``popgen-studio-*``), removed by :meth:`close`.

    ```python
    studio = Studio(["runs/pop"])
    candidates = studio.generate("pop909-songs", Settings(chords="C G Am F", candidates=2))
    candidates[0].midi  # .../popgen-studio-xxxx/3f2a.../candidate-0.mid
    ```
    """

    def __init__(
        self,
        models: Sequence[str | os.PathLike[str]] = (),
        *,
        folder: str | os.PathLike[str] | None = None,
    ) -> None:
        self._owned = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="popgen-studio-") if folder is None else folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.models = [os.fspath(m) for m in models]
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._samplers: dict[tuple[str, str], tuple[Sampler, threading.Lock]] = {}

    def choices(self) -> list[str]:
        """The models to pick from: those given first, then the shipped ones.

        ```python
        Studio(["runs/pop"]).choices()  # ['runs/pop', 'pop909-melody', 'pop909-songs']
        ```
        """
        from popgen.runs.pretrained import available

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a broken plugin is left out; the CLI says why
            shipped = [m.name for m in available()]
        return list(dict.fromkeys([*self.models, *shipped]))

    def run(self, ref: str) -> Run:
        """The run ``ref`` names (a choice or a typed folder), loaded once.

        Raises:
            StudioError: ``ref`` is empty, or no run, model file or pretrained name.

        ```python
        studio.run("pop909-songs").tokenizer.name  # 'pop'
        ```
        """
        from popgen.errors import PopgenError
        from popgen.runs.load import load_run

        ref = (ref or "").strip()
        if not ref:
            raise StudioError("choose a model first")
        path = Path(os.path.expanduser(ref))
        key = str(path.resolve()) if path.exists() else ref  # one entry however it is spelled
        with self._lock:
            if key not in self._runs:
                try:
                    run = load_run(path if path.exists() else ref)
                except (PopgenError, ValueError, OSError) as exc:
                    raise StudioError(f"{ref}: not a model popgen can load ({exc})") from None
                if len(self._runs) >= _KEEP_SAMPLERS:  # the least recently used goes
                    self._runs.pop(next(iter(self._runs)))
                self._runs[key] = run
            self._runs[key] = self._runs.pop(key)  # now the most recently used
            return self._runs[key]

    def describe(self, ref: str) -> ModelInfo:
        """What the page says about ``ref``; loads it.

        Raises:
            StudioError: as :meth:`run`.

        ```python
        studio.describe("pop909-songs").takes_chords  # True
        ```
        """
        from popgen.sampling.controls import Controls
        from popgen.sampling.follow import schedule

        run = self.run(ref)
        meter = run.usage.meter
        try:
            schedule(run.tokenizer, Controls.over_chords("C", meter=meter))
            takes_chords = True
        except ValueError:
            takes_chords = False
        return ModelInfo(ref.strip(), run.tokenizer.name, takes_chords, meter, run_recipe(run))

    def read_primer(self, path: str | os.PathLike[str]) -> Song:
        """The MIDI file ``path`` as a primer; refused with a message when it is not MIDI.

        Raises:
            StudioError: the file is missing, too big, not MIDI, or has no notes.

        ```python
        primer = studio.read_primer("upload/tune.mid")
        ```
        """
        from popgen.errors import PopgenError
        from popgen.formats.midi_reading import read_midi

        file = Path(path)
        try:
            size = file.stat().st_size
        except OSError:
            raise StudioError(f"{file.name}: the uploaded file is gone; upload it again") from None
        if size > _MAX_PRIMER_BYTES:
            raise StudioError(
                f"{file.name}: {size} bytes is too big for a primer "
                f"(at most {_MAX_PRIMER_BYTES} bytes)"
            )
        try:
            song = read_midi(file)
        except (PopgenError, ValueError, OSError, EOFError) as exc:
            text = str(exc).replace(str(file), file.name)
            raise StudioError(f"the primer is not a MIDI file popgen can read: {text}") from None
        return song.replace(source=file.name)

    def generate(
        self,
        ref: str,
        settings: Settings,
        *,
        primer: Song | None = None,
    ) -> list[Candidate]:
        """Generate ``settings.candidates`` songs and write each one's files.

        Args:
            ref: the model (a choice or a typed folder).
            settings: the page's controls.
            primer: a song the candidates continue (an upload, or a kept
                candidate); not with chords.

        Raises:
            StudioError: bad input; the message says which and how to fix it.

        ```python
        kept = studio.generate("pop909-songs", Settings(chords="C G Am F"))[0]
        longer = studio.generate("pop909-songs", Settings(tokens=200), primer=kept.song)
        ```
        """
        from popgen.errors import PopgenError

        run = self.run(ref)
        controls = self._controls(run, settings) if settings.chords.strip() else None
        if controls is not None and primer is not None:
            raise StudioError(
                "chords cannot go with a primer (yet): clear the chords to continue a song, "
                "or remove the primer to follow chords"
            )
        sampler, lock = self._sampler(
            ref.strip(), run, strategy_spec(settings, recipe=run_recipe(run))
        )
        tokens = settings.tokens
        if tokens is None and controls is None:
            tokens = _DEFAULT_TOKENS
        try:
            with lock, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if controls is not None:
                    songs = sampler.generate(
                        tokens, batch_size=settings.candidates, seed=settings.seed,
                        controls=controls,
                    )  # fmt: skip
                elif primer is not None:
                    songs = self._continue(sampler, primer, tokens or _DEFAULT_TOKENS, settings)
                else:
                    songs = sampler.generate(
                        tokens, batch_size=settings.candidates, seed=settings.seed
                    )
                    songs = [song.without_leading_silence() for song in songs]
        except (PopgenError, ValueError) as exc:
            raise StudioError(str(exc)) from None
        notes = "; ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
        target = self.folder / uuid.uuid4().hex[:16]
        target.mkdir()
        return [self._write(song, target / f"candidate-{i}", notes) for i, song in enumerate(songs)]

    def close(self) -> None:
        """Remove the studio's folder, if the studio made it.

        ```python
        studio.close()
        ```
        """
        import shutil

        if tempfile.tempdir and Path(tempfile.tempdir).is_relative_to(self.folder):
            tempfile.tempdir = None  # launch() pointed it here: back to the system's
        if self._owned:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _controls(self, run: Run, settings: Settings) -> Controls:
        from popgen.music.form import parse_progressions
        from popgen.sampling.controls import Controls
        from popgen.sampling.follow import schedule

        meter = run.usage.meter
        try:
            chords = parse_progressions(settings.chords) if settings.form else settings.chords
            controls = Controls.for_song(
                chords, bars=settings.bars, form=settings.form or None, meter=meter
            )
            schedule(run.tokenizer, controls)
        except ValueError as exc:
            raise StudioError(f"chords {settings.chords.strip()!r}: {exc}") from None
        return controls

    def _sampler(self, ref: str, run: Run, spec: str) -> tuple[Sampler, threading.Lock]:
        from popgen.sampling import Sampler

        with self._lock:
            key = (ref, spec)
            if key not in self._samplers:
                strategy = check_strategy(spec, run.tokenizer)
                if len(self._samplers) >= _KEEP_SAMPLERS:
                    self._samplers.pop(next(iter(self._samplers)))
                self._samplers[key] = (Sampler.from_run(run, strategy), threading.Lock())
            return self._samplers[key]

    @staticmethod
    def _continue(sampler: Sampler, primer: Song, tokens: int, settings: Settings) -> list[Song]:
        """Continue ``primer``: its tokens as the prompt, its tempo, meter and key kept.

        The prompt goes in as token ids, so the decoded songs keep every track
        the encoding writes (a Song primer would keep only its first one).
        """
        ids = sampler.prompt_ids(primer)
        songs = sampler.generate(
            tokens, batch_size=settings.candidates, seed=settings.seed, primer=ids
        )
        meta = {
            "tempos": primer.tempos,
            "time_signatures": primer.time_signatures,
            "key": primer.key,
        }
        return [song.replace(**meta) for song in songs]

    @staticmethod
    def _write(song: Song, stem: Path, note: str) -> Candidate:
        """Write MIDI, piano roll and WAV of ``song``; the audio may fail (the note says why)."""
        from popgen.outputs.audio import to_audio, wav_bytes

        notes = [note] if note else []
        midi, png = stem.with_suffix(".mid"), stem.with_suffix(".png")
        song.write_midi(midi)
        song.write_png(png)
        wav: Path | None = stem.with_suffix(".wav")
        try:  # FluidSynth when installed, else popgen's own synthesizer
            samples = to_audio(song, sample_rate=_SAMPLE_RATE)
            wav.write_bytes(wav_bytes(samples, _SAMPLE_RATE))  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            wav = None
            notes.append(f"no audio ({exc})")
        return Candidate(song, midi, None, wav, png, "; ".join(notes))

    def with_musicxml(self, candidate: Candidate) -> Candidate:
        """``candidate`` with its MusicXML file, written beside its MIDI file the first time.

        MusicXML is written on demand (when a candidate is kept): music21
        takes longer over it than the sampler over the song.

        Raises:
            StudioError: the candidate's files are not in this studio's folder,
                or music21 cannot write the song (the message says why).

        ```python
        kept = studio.with_musicxml(candidates[0])
        kept.musicxml  # .../candidate-0.musicxml
        ```
        """
        from popgen.formats.score_writing import write_musicxml

        if not candidate.midi.resolve().is_relative_to(self.folder.resolve()):
            raise StudioError(f"{candidate.midi.name}: not a file of this studio")
        path = candidate.midi.with_suffix(".musicxml")
        if not path.is_file():
            try:
                write_musicxml(candidate.song, path)
            except Exception as exc:  # music21 fails in many ways on odd songs; MIDI still works
                path.unlink(missing_ok=True)
                raise StudioError(
                    f"{candidate.midi.name}: no MusicXML ({type(exc).__name__}: {exc})"
                ) from None
        return dataclasses.replace(candidate, musicxml=path)
