"""The module paths of popgen 0.1, still importable: each old name is the module it became.

popgen 0.2 moved its flat modules into one subpackage per stage of the data
flow (``popgen.midi_scan`` is now :mod:`popgen.formats.midi_scan`; a module
split in two, such as ``popgen.midi``, is answered by its package,
:mod:`popgen.formats`, which holds both halves' names). A user's ``import popgen.midi`` or
``from popgen.checkpoint import load_run`` keeps working: :class:`MovedModules`,
installed by ``import popgen``, answers an old name with the new module itself
(the same object, so patching one patches the other). Nothing inside popgen
imports an old name.

>>> import importlib
>>> importlib.import_module("popgen.recipe") is importlib.import_module("popgen.sampling.recipe")
True
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "MovedModules", "install"]

#: Old module path -> the module that holds its contents now.
MOVED: dict[str, str] = {
    "popgen._synth": "popgen.outputs._synth",
    "popgen.annotations": "popgen.formats.annotations",
    "popgen.audio": "popgen.outputs.audio",
    "popgen.bars": "popgen.music.bars",
    "popgen.cache": "popgen.corpus.cache",
    "popgen.checkpoint": "popgen.runs",
    "popgen.chord_inference": "popgen.music.chord_inference",
    "popgen.chords": "popgen.music.chords",
    "popgen.controls": "popgen.sampling",
    "popgen.corpus_options": "popgen.corpus.options",
    "popgen.display": "popgen.outputs.notebook",
    "popgen.distributed": "popgen.training.distributed",
    "popgen.evaluate": "popgen.evaluation",
    "popgen.history": "popgen.training.history",
    "popgen.key_profiles": "popgen.music",
    "popgen.limits": "popgen.music.limits",
    "popgen.midi": "popgen.formats",
    "popgen.midi_salvage": "popgen.formats.midi_salvage",
    "popgen.midi_scan": "popgen.formats.midi_scan",
    "popgen.midi_symusic": "popgen.formats.midi_symusic",
    "popgen.model_file": "popgen.runs.model_file",
    "popgen.pretrained": "popgen.runs.pretrained",
    "popgen.reading": "popgen.corpus.reading",
    "popgen.recipe": "popgen.sampling.recipe",
    "popgen.render": "popgen.outputs",
    "popgen.roles": "popgen.music.roles",
    "popgen.run_keys": "popgen.runs.keys",
    "popgen.run_lock": "popgen.locks",
    "popgen.scores": "popgen.formats",
    "popgen.steering": "popgen.evaluation.steering",
    "popgen.store": "popgen.data.store",
    "popgen.store_build": "popgen.data.store_build",
    "popgen.sweep_report": "popgen.sweep.report",
    "popgen.training_config": "popgen.runs.train_config",
    "popgen.training_data": "popgen.training.data",
    "popgen.training_state": "popgen.runs.train_state",
    "popgen.training_step": "popgen.training.step",
    "popgen.usage": "popgen.data.usage",
}


class MovedModules:
    """A finder and loader (``sys.meta_path``) that serves each old path with its new module.

    It implements the finder and loader protocols without ``importlib.abc``,
    whose import would cost ``import popgen`` a third of its time.

    >>> spec = MovedModules().find_spec("popgen.recipe", None)
    >>> spec.name, MovedModules().find_spec("popgen.sampling.recipe", None)
    ('popgen.recipe', None)
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec for ``fullname`` when it is an old path, else ``None`` (not ours).

        >>> MovedModules().find_spec("popgen.bars", None).name
        'popgen.bars'
        """
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)  # type: ignore[arg-type]

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """The new module itself, imported now.

        >>> finder = MovedModules()
        >>> finder.create_module(finder.find_spec("popgen.bars", None)).__name__
        'popgen.music.bars'
        """
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the new module is already imported.

        >>> MovedModules().exec_module(importlib.import_module("popgen.music.bars"))
        """


def install() -> None:
    """Add :class:`MovedModules` to ``sys.meta_path`` once (``import popgen`` does).

    >>> install()
    >>> sum(isinstance(finder, MovedModules) for finder in sys.meta_path)
    1
    """
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
