"""One file per model: parameters and their description in a safetensors file.

A model file is what ``popgen export RUN --out model.safetensors`` writes and
what the pretrained models are. It holds the parameters as safetensors tensors
(named by their place in the parameter tree, e.g. ``params/cell_0/kernel``,
stored as float32 or float16) and, in the safetensors header's metadata, the
same description a run directory's ``popgen.json`` holds (model, tokenizer and
vocabulary, training config, history, usage, popgen version) plus a ``card``
(name, description, data and licence). Safetensors is a plain header and raw
arrays: loading one executes nothing from the file.

Loading checks what :func:`popgen.runs.load.load_run` checks, in this order,
before any parameter is read: the file's format and version, the model and
tokenizer descriptions, the vocabulary size, and every tensor's name, shape and
dtype against the model's config. Parameters stored as float16 are widened to
float32 for computing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np

from popgen.errors import RunError
from popgen.runs.run import Run, describe_run, run_from_description
from popgen.versions import this_version

__all__ = [
    "MODEL_FILE_VERSION",
    "STORAGE_DTYPES",
    "export_run",
    "generates",
    "load_model_file",
    "read_model_card",
]

#: Version of the model file's header schema.
MODEL_FILE_VERSION = 1
#: The dtypes parameters can be stored as.
STORAGE_DTYPES = ("float32", "float16")
_FORMAT = "popgen.model"
_FLOAT16_MAX = float(np.finfo(np.float16).max)
_SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16"}


def _leaf_names(tree: Any) -> tuple[list[str], list[Any], Any]:
    """The leaves of a parameter tree with a ``/``-joined name each, and its structure."""
    paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    names = []
    for path, _ in paths_leaves:
        parts = []
        for key in path:
            for attr in ("key", "name", "idx"):
                if hasattr(key, attr):
                    parts.append(str(getattr(key, attr)))
                    break
            else:
                parts.append(str(key))
        names.append("/".join(parts))
    return names, [leaf for _, leaf in paths_leaves], treedef


def generates(run: Run) -> str:
    """What a run writes, in a few words, for its card: its parts, or the tracks it was trained on.

    >>> import jax
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> tok = get_tokenizer("pop")
    >>> generates(Run(LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=8), tok, None))
    'melody and accompaniment over chords'
    """
    config = getattr(run.tokenizer, "config", None)
    roles = getattr(config, "roles", None)
    if roles:
        over = " over chords" if getattr(config, "chords", False) else ""
        return " and ".join(str(role) for role in roles) + over
    tracks = run.usage.reading.tracks if run.usage.reading is not None else None
    if tracks:
        return " and ".join(str(track).lower() for track in tracks)
    return "songs"


def export_run(
    run: Run,
    out: str | os.PathLike[str],
    *,
    dtype: str = "float16",
    card: dict[str, str] | None = None,
) -> Path:
    """Write ``run`` as one safetensors model file; returns its path.

    Args:
        run: the trained run (its ``best`` parameters when loaded by
            :func:`popgen.load_run`).
        out: the file to write, usually ``*.safetensors``; written to a
            temporary name first and renamed, so a reader never sees half a file.
        dtype: ``"float16"`` (half the size; held-out NLL of the shipped models
            moves by well under 0.5 %) or ``"float32"`` (exact).
        card: free text shown by :func:`popgen.runs.pretrained.available`:
            ``name`` (default: the file's name), ``description``, ``generates``
            (default: :func:`generates`), ``data``, ``licence``.

    Raises:
        ValueError: an unknown dtype, or a parameter too large for float16.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> from popgen.runs.run import Run
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> run = Run(model, tok, model.init_params(key=jax.random.key(0)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = export_run(run, f"{tmp}/tiny.safetensors", card={"name": "tiny"})
    ...     again = load_model_file(path)
    ...     read_model_card(path)["name"], again.model == model, path.stat().st_size < 20_000
    ('tiny', True, True)
    """
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    names, leaves, _ = _leaf_names(run.params)
    tensors: dict[str, np.ndarray] = {}
    for name, leaf in zip(names, leaves, strict=True):
        array = np.asarray(leaf)
        if dtype == "float16" and np.issubdtype(array.dtype, np.floating):
            if array.size and float(np.max(np.abs(array))) > _FLOAT16_MAX:
                raise ValueError(f"parameter {name} exceeds float16's range; export as float32")
            array = array.astype(np.float16)
        tensors[name] = np.ascontiguousarray(array)
    meta = {"format": _FORMAT, "version": MODEL_FILE_VERSION, **describe_run(run)}
    meta["storage_dtype"] = dtype
    out = Path(out)
    given = {key: str(value) for key, value in (card or {}).items()}
    meta["card"] = {"name": out.name.split(".")[0], "generates": generates(run), **given}
    from safetensors.numpy import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": _FORMAT, "popgen": json.dumps(meta)})
    os.replace(tmp, out)
    return out


def _read_header(path: Path) -> tuple[dict[str, Any], dict[str, tuple[list[int], str]]]:
    """The popgen description and each tensor's (shape, dtype), without reading tensors."""
    from safetensors import safe_open

    if not path.is_file():
        raise RunError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            tensors = {}
            for key in f.keys():  # noqa: SIM118 (safe_open is no mapping)
                part = f.get_slice(key)
                tensors[key] = (list(part.get_shape()), str(part.get_dtype()))
    except Exception as exc:  # safetensors raises its own error type for damaged files
        raise RunError(f"{path}: not a readable safetensors file ({exc})") from None
    if metadata.get("format") != _FORMAT or "popgen" not in metadata:
        raise RunError(f"{path}: a safetensors file, but not a popgen model (no popgen header)")
    try:
        meta = json.loads(metadata["popgen"])
    except ValueError as exc:
        raise RunError(f"{path}: damaged popgen header ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise RunError(f"{path}: damaged popgen header (not a model description)")
    version = meta.get("version")
    if not isinstance(version, int) or version > MODEL_FILE_VERSION or version < 1:
        raise RunError(
            f"{path}: model file version {version!r}, written by popgen "
            f"{meta.get('popgen_version', 'unknown')}; this popgen "
            f"{this_version()} reads version {MODEL_FILE_VERSION}: upgrade popgen"
        )
    return meta, tensors


def read_model_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a model file says about itself, read from its header alone.

    Returns the ``card`` fields given at export (``name``, ``description``,
    ``data``, ``licence``) plus ``encoding``, ``parameters`` (a count),
    ``size`` (bytes on disk), ``storage_dtype``, ``popgen_version`` and
    ``valid_loss`` (the best validation loss in its history, or ``None``).

    Raises:
        RunError: the file is missing, damaged, or not a popgen model.

    >>> read_model_card("missing.safetensors")
    Traceback (most recent call last):
    popgen.errors.RunError: missing.safetensors: no such model file
    """
    path = Path(path)
    meta, tensors = _read_header(path)
    losses = [
        entry["valid_loss"]
        for entry in meta.get("history") or []
        if isinstance(entry, dict) and isinstance(entry.get("valid_loss"), int | float)
    ]
    card: dict[str, Any] = dict(meta.get("card") or {})
    tokenizer = meta.get("tokenizer") or {}
    card.update(
        encoding=str(tokenizer.get("encoding", "?")) if isinstance(tokenizer, dict) else "?",
        parameters=int(sum(int(np.prod(shape)) for shape, _ in tensors.values())),
        size=path.stat().st_size,
        storage_dtype=str(meta.get("storage_dtype", "?")),
        popgen_version=str(meta.get("popgen_version", "unknown")),
        valid_loss=min(losses) if losses else None,
    )
    return card


def load_model_file(path: str | os.PathLike[str]) -> Run:
    """Rebuild a run from a model file written by :func:`export_run`.

    The returned run's ``path`` is the file. Nothing is read into memory
    before the header has been checked against the model's config.

    Raises:
        RunError: the file is missing, truncated or damaged, not a popgen
            model, from a newer popgen, or holds tensors whose names, shapes
            or dtypes disagree with its model's config.

    >>> load_model_file("missing.safetensors")
    Traceback (most recent call last):
    popgen.errors.RunError: missing.safetensors: no such model file
    """
    path = Path(path)
    meta, tensors = _read_header(path)

    def load_params(abstract: Any) -> Any:
        names, leaves, treedef = _leaf_names(abstract)
        missing = sorted(set(names) - set(tensors))
        extra = sorted(set(tensors) - set(names))
        if missing or extra:
            raise RunError(
                f"{path}: tensors do not match the model's config (missing: "
                f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'})"
            )
        for name, leaf in zip(names, leaves, strict=True):
            shape, stored = tensors[name]
            if tuple(shape) != tuple(leaf.shape):
                raise RunError(
                    f"{path}: tensor {name} has shape {tuple(shape)}, "
                    f"the model's config needs {tuple(leaf.shape)}"
                )
            allowed = {str(np.dtype(leaf.dtype))} | (
                {"float16"} if leaf.dtype == np.float32 else set()
            )
            if _SAFETENSORS_DTYPES.get(stored, stored) not in allowed:
                raise RunError(
                    f"{path}: tensor {name} is stored as {stored}, expected {leaf.dtype}"
                )
        from safetensors import safe_open

        arrays = []
        try:
            with safe_open(str(path), framework="numpy") as f:
                for name, leaf in zip(names, leaves, strict=True):
                    # widened by numpy and put as they are: a device-side cast, or
                    # jnp.asarray, compiles a program per shape in every process
                    arrays.append(jax.device_put(np.asarray(f.get_tensor(name), leaf.dtype)))
        except Exception as exc:  # damaged data after a sound header
            raise RunError(f"{path}: cannot read tensors ({exc})") from None
        return jax.tree_util.tree_unflatten(treedef, arrays)

    run = run_from_description(meta, str(path), load_params)
    run.path = path.absolute()
    return run
