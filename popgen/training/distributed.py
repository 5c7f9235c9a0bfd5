"""Several processes, one training run: start JAX's multi-process runtime from the environment.

``popgen train`` runs in one process unless the environment names others:

- ``POPGEN_COORDINATOR`` (``host:port`` that process 0 listens on),
  ``POPGEN_NUM_PROCESSES`` and ``POPGEN_PROCESS_ID`` (from 0) start
  :func:`jax.distributed.initialize` with those values;
- ``POPGEN_DISTRIBUTED=auto`` lets JAX find them itself: SLURM (``srun``),
  Open MPI, Kubernetes or Cloud TPU;
- ``POPGEN_HEARTBEAT_SECONDS`` (default 100): how long the processes wait for
  a silent one before they all stop.

Once started, every process sees every device (``jax.devices()``) and owns
its own (``jax.local_devices()``). :func:`popgen.train` then builds its mesh
over all of them, hands each process's rows of a global batch to its devices
(:func:`put_batch`) and brings replicated parameters back to the host
(:func:`to_host`) so that process 0 alone writes the checkpoints. On CPU the
processes talk through gloo, so two processes on one machine are a real test
of the multi-host path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Sharding

from popgen.errors import PopgenError, TrainingError

__all__ = [
    "Cluster",
    "cluster_from_env",
    "initialize",
    "is_main_process",
    "local_rows",
    "peer_failure",
    "process_count",
    "process_index",
    "put_batch",
    "replicate",
    "to_host",
]

_COORDINATOR = "POPGEN_COORDINATOR"
_NUM_PROCESSES = "POPGEN_NUM_PROCESSES"
_PROCESS_ID = "POPGEN_PROCESS_ID"
_MODE = "POPGEN_DISTRIBUTED"
_HEARTBEAT = "POPGEN_HEARTBEAT_SECONDS"
#: What the runtime's errors say when a peer is gone (gloo, the coordination service).
_PEER_SIGNS = re.compile(
    r"gloo|unavailable|deadline.?exceeded|heartbeat|connection (reset|closed|refused)|"
    r"closed by peer|broken pipe|coordination|barrier|peer",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cluster:
    """How to start :func:`jax.distributed.initialize`; ``None`` fields are JAX's to detect.

    >>> Cluster("10.0.0.1:4321", 4, 2).process_id
    2
    """

    coordinator: str | None  # "host:port" of process 0
    num_processes: int | None
    process_id: int | None
    heartbeat_s: int = 100  # a process silent this long stops the others


def _int_var(environ: Mapping[str, str], name: str, lowest: int) -> int:
    """The integer value of environment variable ``name``, at least ``lowest``."""
    text = environ[name]
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected an integer") from None
    if value < lowest:
        raise ValueError(f"{name}={value}: expected an integer >= {lowest}")
    return value


def cluster_from_env(environ: Mapping[str, str] | None = None) -> Cluster | None:
    """The cluster the environment describes, or ``None`` for one process.

    Args:
        environ: the variables to read; ``os.environ`` when omitted.

    Raises:
        ValueError: the variables are incomplete or not numbers; the message
            names the variable and the value found.

    >>> cluster_from_env({})  # nothing set: one process, as always
    >>> env = {"POPGEN_COORDINATOR": "node1:4321", "POPGEN_NUM_PROCESSES": "2",
    ...        "POPGEN_PROCESS_ID": "1", "POPGEN_HEARTBEAT_SECONDS": "5"}
    >>> cluster_from_env(env)
    Cluster(coordinator='node1:4321', num_processes=2, process_id=1, heartbeat_s=5)
    >>> cluster_from_env({"POPGEN_DISTRIBUTED": "auto"})  # SLURM, Open MPI, ... detected by JAX
    Cluster(coordinator=None, num_processes=None, process_id=None, heartbeat_s=100)
    """
    environ = os.environ if environ is None else environ
    heartbeat = _int_var(environ, _HEARTBEAT, 1) if environ.get(_HEARTBEAT) else 100
    explicit = [name for name in (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID) if environ.get(name)]
    mode = environ.get(_MODE, "")
    if mode not in ("", "auto"):
        raise ValueError(f"{_MODE}={mode!r}: expected 'auto' (or leave it unset)")
    if not explicit:
        return Cluster(None, None, None, heartbeat) if mode == "auto" else None
    if len(explicit) < 3:
        missing = sorted({_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID} - set(explicit))
        raise ValueError(f"{', '.join(explicit)} set but not {', '.join(missing)}: set all three")
    count = _int_var(environ, _NUM_PROCESSES, 1)
    index = _int_var(environ, _PROCESS_ID, 0)
    if index >= count:
        raise ValueError(f"{_PROCESS_ID}={index}: expected 0 to {count - 1} ({_NUM_PROCESSES})")
    coordinator = environ[_COORDINATOR]
    if ":" not in coordinator:
        raise ValueError(f"{_COORDINATOR}={coordinator!r}: expected host:port")
    return Cluster(coordinator, count, index, heartbeat)


def initialize(environ: Mapping[str, str] | None = None) -> int:
    """Start the multi-process runtime the environment asks for; returns the process count.

    Without any ``POPGEN_*`` variable this does nothing and returns 1 (JAX is
    not even asked). Calling it again, or after one's own
    :func:`jax.distributed.initialize`, returns the running count.

    Raises:
        ValueError: see :func:`cluster_from_env`.
        RuntimeError: JAX had already computed something in this process,
            which must come after the runtime starts.

    >>> initialize({})
    1
    """
    if jax.distributed.is_initialized():
        return process_count()
    cluster = cluster_from_env(environ)
    if cluster is None:
        return 1
    jax.config.update(  # type: ignore[no-untyped-call]
        "jax_cpu_collectives_implementation",
        "gloo",  # how CPU processes all-reduce
    )
    try:
        jax.distributed.initialize(
            cluster.coordinator,
            cluster.num_processes,
            cluster.process_id,
            heartbeat_timeout_seconds=cluster.heartbeat_s,
            shutdown_timeout_seconds=cluster.heartbeat_s,
        )
    except RuntimeError as exc:
        if "must be called before" in str(exc):
            hint = "call popgen.training.distributed.initialize() before anything else uses JAX"
        else:
            hint = "check that every process starts and can reach the coordinator"
        raise RuntimeError(f"cannot start the processes of {cluster}: {exc}; {hint}") from exc
    return process_count()


def process_index() -> int:
    """The number of this process, from 0 (always 0 in one process).

    >>> process_index()
    0
    """
    return int(jax.process_index())


def process_count() -> int:
    """How many processes train together (1 unless :func:`initialize` started more).

    >>> process_count()
    1
    """
    return int(jax.process_count())


def is_main_process() -> bool:
    """Whether this is process 0, the one that writes the run and shows progress.

    >>> is_main_process()
    True
    """
    return process_index() == 0


def local_rows(sharding: Sharding, rows: int) -> slice:
    """The rows of a ``rows``-row global batch that this process's devices hold.

    >>> from jax.sharding import Mesh, NamedSharding, PartitionSpec
    >>> split = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), PartitionSpec("data"))
    >>> local_rows(split, 8)  # one process holds them all
    slice(0, 8, None)
    """
    indices = sharding.addressable_devices_indices_map((rows, 1)).values()
    spans = [index[0] if index else slice(None) for index in indices]
    starts = [s.start or 0 for s in spans]
    stops = [rows if s.stop is None else s.stop for s in spans]
    if sum(b - a for a, b in zip(starts, stops, strict=True)) != max(stops) - min(starts):
        raise ValueError(f"this process's rows of {sharding} are not one block")
    return slice(min(starts), max(stops))


def put_batch(batch: np.ndarray[Any, Any], sharding: Sharding) -> jax.Array:
    """The global batch as one array split by ``sharding``; each process gives its own rows.

    Every process passes the same ``batch`` (they draw it from the same
    seed), and only its :func:`local_rows` travel to its devices.

    >>> from jax.sharding import Mesh, NamedSharding, PartitionSpec
    >>> split = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), PartitionSpec("data"))
    >>> put_batch(np.zeros((4, 3), np.int32), split).shape
    (4, 3)
    """
    if process_count() == 1:
        placed: jax.Array = jax.device_put(batch, sharding)
        return placed
    mine = batch[local_rows(sharding, len(batch))]
    return _from_process_data(sharding, mine, batch.shape)


def replicate(tree: Any, sharding: Sharding) -> Any:
    """Put a tree of arrays (the same in every process) on every device of ``sharding``.

    >>> from jax.sharding import Mesh, NamedSharding, PartitionSpec
    >>> every = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), PartitionSpec())
    >>> replicate({"w": np.ones(2)}, every)["w"].sharding == every
    True
    """
    if process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(leaf: Any) -> jax.Array:
        host = np.asarray(to_host(leaf))
        return _from_process_data(sharding, host, host.shape)

    return jax.tree.map(put, tree)


def _from_process_data(
    sharding: Sharding, data: np.ndarray[Any, Any], shape: tuple[int, ...]
) -> jax.Array:
    """The global array of ``shape`` whose pieces on this process's devices come from ``data``."""
    made: jax.Array = jax.make_array_from_process_local_data(  # type: ignore[no-untyped-call]
        sharding, data, shape
    )
    return made


def to_host(tree: Any) -> Any:
    """A numpy copy of every array in ``tree``, whichever processes hold its pieces.

    A replicated array is copied from this process's own device; one split
    over processes is gathered from all of them (every process must call).

    >>> to_host({"w": jax.numpy.ones(2)})
    {'w': array([1., 1.], dtype=float32)}
    """

    def get(leaf: Any) -> Any:
        if not isinstance(leaf, jax.Array):
            return leaf
        if leaf.is_fully_addressable:
            return np.asarray(leaf)
        if leaf.is_fully_replicated:
            return np.asarray(leaf.addressable_data(0))
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))

    return jax.tree.map(get, tree)


def peer_failure(exc: Exception, step: int, out: str | os.PathLike[str] | None) -> Exception:
    """The error to raise when training across processes fails; ``exc`` itself otherwise.

    popgen's own errors (a NaN loss, a full disk), anything in a single
    process, and errors that do not read like a lost connection (this
    process's own out-of-memory or file errors) pass through. An error of a
    collective that lost a peer (the process died, its machine went away)
    becomes a :class:`TrainingError` that says so and how to go on.

    >>> err = ValueError("Gloo all-reduce failed: Connection reset by peer")
    >>> peer_failure(err, 7, "runs/a") is err  # one process: unchanged
    True
    """
    count = process_count()
    text = str(exc)
    if count == 1 or isinstance(exc, PopgenError) or not _PEER_SIGNS.search(text):
        return exc  # this process's own error (out of memory, a bad file, a bug): as it is
    first = (text.strip().splitlines() or [type(exc).__name__])[0][:300]
    kept = (
        f"the last checkpoint in {out} is loadable; start all {count} processes again "
        f"with --resume to continue"
        if out is not None
        else "nothing was saved (no run directory)"
    )
    return TrainingError(
        f"process {jax.process_index()} of {count}: training stopped at step {step}: "
        f"another process stopped or cannot be reached ({type(exc).__name__}: {first}); {kept}"
    )
