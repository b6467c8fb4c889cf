"""Run a grid of independent, seeded tasks through joblib or a dask.distributed cluster.

Every task is identified by a key (a tuple of JSON-able grid coordinates).
Its random numbers come from ``SeedSequence(master_seed, spawn_key=...)``
keyed by a hash of the coordinates that determine its data, never by its
position in the grid, so the numbers cannot depend on task order, on the
number of jobs or on the backend.  BLAS runs single-threaded inside each
task so that no reduction order depends on how many threads a worker got.

Finished tasks are pickled atomically into ``cache_dir`` under a name that
hashes the function, the task's parameters, the master seed and the
package's source code, so an interrupted sweep resumes where it stopped and
neither a changed configuration nor changed code reuses stale results.
(A user's loss loaded from a file is named by its spec, not its content:
clear the cache after editing it.)
"""
from __future__ import annotations

import functools
import hashlib
import json
import pickle
from pathlib import Path

import numpy as np

from ..reporting import atomic_write_bytes

__all__ = ["Task", "seed_sequence", "run_grid", "check_backend"]

BACKENDS = ("joblib", "dask")


class Task:
    """One grid cell: ``params`` for the task function and the ``seed_key`` that seeds its data."""

    def __init__(self, key, params, seed_key=None):
        self.key = tuple(key)
        self.params = dict(params)
        self.seed_key = tuple(self.key if seed_key is None else seed_key)

    def __repr__(self):
        return f"Task({self.key!r})"


def _digest(obj) -> bytes:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr).encode()).digest()


def seed_sequence(master_seed, seed_key) -> np.random.SeedSequence:
    """The SeedSequence of a grid cell: the master seed spawned along a hash of its coordinates."""
    if isinstance(master_seed, bool) or not isinstance(master_seed, (int, np.integer)) or master_seed < 0:
        raise ValueError(f"seed={master_seed!r} is invalid; use a non-negative integer")
    words = np.frombuffer(_digest(list(seed_key))[:16], dtype=np.uint32)
    return np.random.SeedSequence(int(master_seed), spawn_key=tuple(int(w) for w in words))


def _run_one(func, task, master_seed):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return func(task.params, seed_sequence(master_seed, task.seed_key))


def check_backend(backend, n_jobs, scheduler):
    """Validate the execution options; for dask, connect now so an unreachable scheduler fails before any work."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is unknown; use one of {BACKENDS}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} is invalid; use a positive integer or -1 (all cores)")
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


@functools.lru_cache(maxsize=None)
def code_fingerprint() -> str:
    """A hash of every source file of the package: results cached by other code are not reused."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


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
    paths = [cache / f"{_digest([name, t.key, t.params, int(master_seed), code]).hex()[:32]}.pkl" if cache else None
             for t in tasks]
    results = [None] * len(tasks)
    todo = []
    for i, p in enumerate(paths):
        if p is not None and p.exists():
            results[i] = pickle.loads(p.read_bytes())
        else:
            todo.append(i)
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, disable=not progress, leave=False)

    def finish(i, res):
        if paths[i] is not None:
            atomic_write_bytes(paths[i], pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
        results[i] = res
        bar.update(1)

    try:
        if not todo:
            pass
        elif backend == "dask":
            from dask.distributed import as_completed

            try:
                with client.as_current():
                    futures = {client.submit(_run_one, func, tasks[i], master_seed, pure=False): i for i in todo}
                    for fut in as_completed(futures):
                        finish(futures[fut], fut.result())
            finally:
                client.close()
        elif n_jobs == 1 or len(todo) == 1:
            for i in todo:
                finish(i, _run_one(func, tasks[i], master_seed))
        else:
            from joblib import Parallel, delayed

            gen = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_run_one)(func, tasks[i], master_seed) for i in todo)
            for i, res in zip(todo, gen):
                finish(i, res)
    finally:
        bar.close()
    return results
