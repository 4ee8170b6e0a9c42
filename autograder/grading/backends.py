"""Where notebooks execute: a local pool of long-lived processes, or a Dask cluster.

Both take plain-data jobs and give back plain-data results, so the engine does not care
which one runs. A Dask worker that dies mid-task has its task rescheduled on another worker
by the scheduler; the grade is not lost.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from .execute import ExecutionJob, ExecutionResult, execute_job, warm_up


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class LocalPool:
    """Worker processes that import nbgrader once and then execute one notebook at a time."""

    name = "local pool"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        context = multiprocessing.get_context("forkserver")
        # the fork server imports nbgrader once; every worker is forked from it, warm
        context.set_forkserver_preload(["autograder.grading.execute", "nbgrader.preprocessors"])
        self._executor = cf.ProcessPoolExecutor(self.workers, mp_context=context,
                                                initializer=warm_up)

    def submit(self, job: ExecutionJob):
        return self._executor.submit(execute_job, job)

    def wait(self, pending: set, *, block: bool) -> set:
        done, _ = cf.wait(pending, timeout=None if block else 0,
                          return_when=cf.FIRST_COMPLETED)
        return done

    @staticmethod
    def result(future) -> ExecutionResult:
        return future.result()

    def close(self) -> None:
        self._executor.shutdown(cancel_futures=True)


class DaskCluster:
    """Execution on a running ``dask.distributed`` scheduler (``tcp://host:port``)."""

    name = "dask"

    def __init__(self, address: str, *, retries: int = 2):
        from distributed import Client

        self._client = Client(address, timeout="30s")
        self.workers = len(self._client.scheduler_info(n_workers=-1)["workers"])
        if self.workers == 0:
            self._client.wait_for_workers(1, timeout=60)
            self.workers = len(self._client.scheduler_info(n_workers=-1)["workers"])
        self._retries = retries

    def submit(self, job: ExecutionJob):
        return self._client.submit(execute_job, job, pure=False, retries=self._retries,
                                   key=f"execute-{job.assignment}-{job.student}-{job.notebook}-"
                                       f"{job.digest[:12]}")

    def wait(self, pending: set, *, block: bool) -> set:
        from distributed import wait

        if not block:
            return {f for f in pending if f.done()}
        return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

    @staticmethod
    def result(future) -> ExecutionResult:
        return future.result()

    def close(self) -> None:
        self._client.close()


def make_backend(*, workers: int | None = None, scheduler: str | None = None):
    return DaskCluster(scheduler) if scheduler else LocalPool(workers)
