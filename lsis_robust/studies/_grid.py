"""Run a grid of independent, seeded tasks through joblib or a dask.distributed cluster.

Every task is identified by a key (a tuple of JSON-able grid coordinates).
Its random numbers come from ``SeedSequence(master_seed, spawn_key=...)``
keyed by a hash of the coordinates that determine its data, never by its
position in the grid, so the numbers cannot depend on task order, on the
number of jobs or on the backend.  BLAS runs single-threaded inside each
task so that no reduction order depends on how many threads a worker got.

Finished tasks are written atomically into ``cache_dir`` as ``.npz`` files
under a name that hashes the function, the task's parameters, the master
seed and the package's source code, so an interrupted sweep resumes where it
stopped and neither a changed configuration nor changed code reuses stale
results.  The name is only a lookup: each entry also stores that key in full
(JSON) and is used only when the stored key equals the task's, so an entry
copied or renamed onto another task's file is not believed.  Entries are
read with ``allow_pickle=False``: a cache file can hold numbers, never code.
An entry that is unreadable (truncated, garbage, a pickle) or keyed to
another task is recomputed and overwritten, with a :class:`CacheWarning`
naming the file.  (The study grids put a hash of a user loss's source file
into its tasks' parameters, so editing that file recomputes its cells.)
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from .._validation import check_device, check_n_jobs, check_option, check_seed
from ..reporting import atomic_write_bytes

__all__ = ["Task", "seed_sequence", "run_grid", "map_tasks", "check_backend", "check_execution", "default_n_jobs", "CacheWarning"]

BACKENDS = ("joblib", "dask")
# Bumped whenever the layout of a cache entry changes, so older entries are recomputed.
CACHE_FORMAT = 1
_KEY_FIELD = "__key__"


class CacheWarning(UserWarning):
    """A cached result could not be used (corrupt, or written for another task) and is being recomputed."""


class Task:
    """One grid cell: ``params`` for the task function and the ``seed_key`` that seeds its data."""

    def __init__(self, key, params, seed_key=None):
        self.key = tuple(key)
        self.params = dict(params)
        self.seed_key = tuple(self.key if seed_key is None else seed_key)

    def __repr__(self):
        return f"Task({self.key!r})"


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=repr)


def _digest(obj) -> bytes:
    return hashlib.sha256(_canonical(obj).encode()).digest()


def seed_sequence(master_seed, seed_key) -> np.random.SeedSequence:
    """The SeedSequence of a grid cell: the master seed spawned along a hash of its coordinates."""
    master_seed = check_seed(master_seed)
    words = np.frombuffer(_digest(list(seed_key))[:16], dtype=np.uint32)
    return np.random.SeedSequence(master_seed, spawn_key=tuple(int(w) for w in words))


def _run_one(func, task, master_seed):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return func(task.params, seed_sequence(master_seed, task.seed_key))


N_JOBS_ENV = "LSIS_ROBUST_N_JOBS"


def default_n_jobs() -> int:
    """The worker count a run uses unless told otherwise: ``$LSIS_ROBUST_N_JOBS``, else the usable cores.

    joblib's count honours the CPU affinity mask and cgroup (container) CPU quotas, so a job limited to two
    cores of a large machine starts two workers, not one per physical core.
    """
    value = os.environ.get(N_JOBS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{N_JOBS_ENV}={value!r} is invalid; use a positive integer")
        return int(value)
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def check_backend(backend, n_jobs, scheduler):
    """Validate the execution options; for dask, connect now so an unreachable scheduler fails before any work."""
    check_option(backend, "backend", BACKENDS)
    check_n_jobs(n_jobs)
    if backend == "joblib":
        if scheduler is not None:
            raise ValueError("a scheduler address applies only to backend='dask'")
        return None
    if scheduler is None:
        raise ValueError("backend='dask' needs a scheduler address (e.g. tcp://host:8786)")
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the dask scheduler at {scheduler!r}: {exc}") from exc


def check_execution(backend, n_jobs, scheduler, device=None) -> None:
    """Check where a study will run before any work: the torch ``device`` (paper protocol) and the backend, whose
    dask scheduler must be reachable now (the connection is closed again; the run opens its own)."""
    if device is not None:
        check_device(device, "device")
    client = check_backend(backend, n_jobs, scheduler)
    if client is not None:
        client.close()


@functools.lru_cache(maxsize=None)
def code_fingerprint() -> str:
    """A hash of every source file of the package: results cached by other code are not reused."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _as_arrays(res) -> dict:
    """A task's result as the dict of plain numeric arrays that a cache entry can hold."""
    if not isinstance(res, dict) or not all(isinstance(k, str) and k != _KEY_FIELD for k in res):
        raise TypeError(f"a grid task must return a dict of arrays keyed by names other than {_KEY_FIELD!r}, "
                        f"got {type(res).__name__}")
    out = {k: np.asarray(v) for k, v in res.items()}
    bad = [k for k, v in out.items() if v.dtype.kind not in "biufcU"]
    if bad:
        raise TypeError(f"grid task results {bad} are not numeric, boolean or string arrays")
    return out


def _encode(key: str, arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{_KEY_FIELD: np.array(key)}, **arrays)
    return buf.getvalue()


def _decode(path: Path, key: str):
    """(arrays, None) for a good entry of this task, else (None, why it cannot be used)."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            if _KEY_FIELD not in entry.files:
                return None, "is not a cache entry of this package"
            if str(entry[_KEY_FIELD][()]) != key:
                return None, "was written for another task or configuration (copied or renamed?)"
            # Reading every member checks its CRC, so a damaged entry fails here rather than later.
            return {k: entry[k] for k in entry.files if k != _KEY_FIELD}, None
    except Exception as exc:  # noqa: BLE001 -- any failure to parse an untrusted file means: recompute it
        return None, f"cannot be read ({type(exc).__name__}: {exc})"


def _call_indexed(func, i, shared, args):
    return i, func(*shared, *args)


def map_tasks(func, calls, *, n_jobs=1, backend="joblib", client=None, shared=()):
    """Yield ``(i, func(*shared, *calls[i]))`` for every call, in the order the calls finish.

    The one executor of the package's independent tasks (the studies' grid
    cells, the deep-net runs): in this process when ``n_jobs`` is 1 or there
    is one call, else in ``n_jobs`` joblib (loky) worker processes, or on the
    workers of the dask.distributed ``client`` (from :func:`check_backend`;
    the caller closes it).  ``shared`` arguments are the same for every call:
    dask sends them to each worker once instead of with every task (joblib
    memory-maps large arrays in them).  ``func`` must be importable by the
    workers (a module-level function).
    """
    calls = [tuple(c) for c in calls]
    shared = tuple(shared)
    if backend == "dask":
        from dask.distributed import as_completed

        if client is None:
            raise ValueError("backend='dask' needs the client that check_backend returned")
        with client.as_current():
            scattered = tuple(client.scatter(s, broadcast=True, hash=False) for s in shared)
            futures = [client.submit(_call_indexed, func, i, scattered, c, pure=False) for i, c in enumerate(calls)]
            for fut in as_completed(futures):
                yield fut.result()
    elif n_jobs == 1 or len(calls) == 1:
        for i, c in enumerate(calls):
            yield i, func(*shared, *c)
    else:
        from joblib import Parallel, delayed

        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_call_indexed)(func, i, shared, c) for i, c in enumerate(calls))


def run_grid(func, tasks, *, master_seed=0, n_jobs=1, backend="joblib", scheduler=None, cache_dir=None,
             progress=True, desc="tasks"):
    """Run ``func(params, seed_sequence)`` for every task; return the results in task order.

    ``func`` must be a module-level function (workers import it).  Results
    are identical whatever ``n_jobs``, ``backend`` and task order are.
    """
    from tqdm.auto import tqdm

    tasks = list(tasks)
    if not tasks:
        raise ValueError("the grid is empty: there is nothing to run")
    if len({json.dumps(t.key, default=repr) for t in tasks}) != len(tasks):
        raise ValueError("grid task keys must be unique")
    client = check_backend(backend, n_jobs, scheduler)
    name = f"{func.__module__}.{func.__qualname__}"
    cache = Path(cache_dir) if cache_dir is not None else None
    code = code_fingerprint() if cache else None
    keys = [_canonical({"format": CACHE_FORMAT, "function": name, "task": t.key, "params": t.params,
                        "master_seed": int(master_seed), "code": code}) if cache else None for t in tasks]
    paths = [cache / f"{hashlib.sha256(k.encode()).hexdigest()[:32]}.npz" if cache else None for k in keys]
    results = [None] * len(tasks)
    todo = []
    for i, p in enumerate(paths):
        if p is not None and p.exists():
            results[i], why = _decode(p, keys[i])
            if why is None:
                continue
            warnings.warn(f"cache entry {p} {why}; recomputing it", CacheWarning, stacklevel=2)
        todo.append(i)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, disable=not progress, leave=False)

    def finish(i, res):
        # Fresh and cached results have the same form, so resuming cannot change what callers see.
        res = _as_arrays(res)
        if paths[i] is not None:
            atomic_write_bytes(paths[i], _encode(keys[i], res))
        results[i] = res
        bar.update(1)

    try:
        if todo:
            calls = [(func, tasks[i], master_seed) for i in todo]
            for j, res in map_tasks(_run_one, calls, n_jobs=n_jobs, backend=backend, client=client):
                finish(todo[j], res)
    finally:
        bar.close()
        if client is not None:
            client.close()
    return results
