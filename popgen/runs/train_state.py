"""TrainState: where a training run stands, saved in ``popgen.json`` to resume and to evaluate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["TrainState"]


@dataclass(frozen=True)
class TrainState:
    """Where training stands; the loop makes each new state with ``dataclasses.replace``.

    >>> state = TrainState(step=120, best_valid_loss=2.5, best_epoch=3)
    >>> TrainState.from_dict(state.to_dict()) == state
    True
    >>> state.to_dict()["songs"]  # the JSON layout of popgen 0.1's runs
    {'train': [], 'valid': []}
    """

    step: int = 0  # optimizer steps taken
    best_valid_loss: float | None = None  # lowest validation loss so far (None: no validation)
    best_epoch: int | None = None  # the epoch (from 1) that reached it
    epochs_without_improvement: int = 0  # epochs since then, for patience
    stopped_early: bool = False  # training ran out of patience before its last step
    train_songs: tuple[str, ...] = ()  # the songs trained on (popgen.corpus.split.song_key)
    valid_songs: tuple[str, ...] = ()  # the songs held out for validation
    # processes that trained it (popgen.training.distributed); a resume needs as many
    processes: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``"songs": {"train": [...], "valid": [...]}`` as before).

        >>> TrainState(step=3, train_songs=("a.mid",)).to_dict()["songs"]
        {'train': ['a.mid'], 'valid': []}
        """
        data = dataclasses.asdict(self)
        data["songs"] = {
            "train": list(data.pop("train_songs")),
            "valid": list(data.pop("valid_songs")),
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainState:
        """Read :meth:`to_dict`'s form; keys this version does not know are ignored.

        >>> TrainState.from_dict({"step": 7, "written_by_a_newer_popgen": 1})
        TrainState(step=7, best_valid_loss=None, best_epoch=None, epochs_without_improvement=0,
                   stopped_early=False, train_songs=(), valid_songs=(), processes=1)
        """
        songs = data.get("songs") or {}
        known = {f.name for f in dataclasses.fields(cls)} - {"train_songs", "valid_songs"}
        values = {k: v for k, v in data.items() if k in known}
        return cls(
            **values,
            train_songs=tuple(songs.get("train", ())),
            valid_songs=tuple(songs.get("valid", ())),
        )
