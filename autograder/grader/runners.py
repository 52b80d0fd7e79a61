"""Where the units of work run: in this process, in a local process pool, or on a
Dask distributed cluster. All three call the same function,
:func:`autograder.grader.grading.grade_submission`, and hand results back to the
coordinator as they finish; only the coordinator touches the gradebook.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from .grading import grade_submission


def _warm_worker(paths, settings, warm, forbidden, secrets, forbidden_ops=()) -> None:
    """Pool initializer: the import path for the checks, and a warm sandbox ready
    before the first job arrives."""
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)
    try:
        from .processes import POOL

        POOL.release(POOL.acquire(settings, warm, forbidden, secrets, forbidden_ops))
    except Exception:  # noqa: BLE001 - the first job reports a broken sandbox itself
        pass


def run_serial(jobs):
    for job in jobs:
        yield grade_submission(job)


def _failed(job, message: str):
    from .results import SubmissionResult

    return SubmissionResult(job.student, job.assignment, error=message)


def run_pool(jobs, workers: int, spec, settings):
    """A local pool of ``workers`` processes (spawned: no state shared with the
    coordinator); at most two jobs per worker are in flight. A worker that dies takes
    the pool with it: the pool is rebuilt and the jobs it held are retried one at a
    time, so a job that kills its worker again is reported, and the batch goes on."""
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    init = (tuple(spec.python_path), settings.sandbox, spec.warm, spec.forbidden, spec.secrets,
            spec.forbidden_ops)

    def new_pool():
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_warm_worker,
                                   initargs=init)

    pool = new_pool()
    it = iter(jobs)
    retry: deque = deque()      # jobs a broken pool held, retried alone
    pending: dict = {}          # future -> (job, is a retry)
    try:
        while True:
            limit = 1 if retry else 2 * workers
            while len(pending) < limit:
                if retry:
                    job, again = retry.popleft(), True
                else:
                    job, again = next(it, None), False
                if job is None:
                    break
                pending[pool.submit(grade_submission, job)] = (job, again)
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for f in finished:
                job, again = pending.pop(f)
                try:
                    yield f.result()
                except BrokenProcessPool:
                    broken = True
                    if again:
                        yield _failed(job, "the grading worker process died on this submission")
                    else:
                        retry.append(job)
                except Exception as exc:  # noqa: BLE001 - reported for this student only
                    yield _failed(job, f"grader error: {type(exc).__name__}: {exc}")
            if broken:
                retry.extend(job for job, _again in pending.values())
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_dask(jobs, address: str, in_flight: int = 64):
    """Submit to the Dask scheduler at ``address`` (``tcp://host:port``); the workers
    must be able to import ``autograder`` (and the checks)."""
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        it = iter(jobs)
        count = 0
        jobs_by_key = {}

        def submit(job):
            nonlocal count
            count += 1
            future = client.submit(grade_submission, job, pure=False,
                                   key=f"grade-{job.assignment}-{job.student}-{count}")
            jobs_by_key[future.key] = job
            return future

        first = [submit(job) for job, _ in zip(it, range(in_flight))]
        if not first:
            return
        ac = as_completed(first, loop=client.loop)
        for future in ac:
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this student only
                yield _failed(jobs_by_key[future.key],
                              f"grader error on the cluster: {type(exc).__name__}: {exc}")
            job = next(it, None)
            if job is not None:
                ac.add(submit(job))
