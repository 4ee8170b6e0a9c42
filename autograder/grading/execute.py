"""Run one sanitized notebook in a fresh kernel: the only step that needs no gradebook.

Jobs and results are plain data (notebook JSON text and bytes; validated once, when read
from the submission, not again on every hop), so they travel to a process pool or a
Dask cluster unchanged. Execution uses nbgrader's own ``Execute`` preprocessor with the
course's settings, so outputs are those ``nbgrader autograde`` would produce.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExecutionJob:
    """A sanitized notebook, the files beside it, and the execution settings."""

    student: str
    assignment: str
    notebook: str
    digest: str
    notebook_json: str
    files: dict[str, bytes] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.student, self.assignment, self.notebook)


@dataclass(frozen=True)
class ExecutionResult:
    """The executed notebook, or the error that stopped it, and the time it took."""

    student: str
    assignment: str
    notebook: str
    digest: str
    executed_json: str | None
    error: str | None
    seconds: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.student, self.assignment, self.notebook)


def warm_up() -> None:
    """Import the heavy modules once per worker, not once per notebook."""
    import nbformat  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401


def kernel_config(settings: dict, socket_prefix: str):
    """The course's execution settings, with the kernel talking over Unix sockets.

    Kernels started at once by separate worker processes pick TCP ports independently
    and can collide, which kills one at start-up; socket files in the job's own scratch
    folder (beside the notebook's folder, not in it) cannot collide and need no network.
    """
    from traitlets.config import Config

    config = Config(settings)
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = socket_prefix
    return config


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute a job's notebook from a fresh kernel in a private scratch folder."""
    from nbformat import from_dict
    from nbgrader.preprocessors import Execute

    start = time.perf_counter()
    executed, error = None, None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="poc2prod-run-") as scratch:
        run_dir = os.path.join(scratch, "work")
        os.mkdir(run_dir)
        for relative, data in job.files.items():
            path = Path(run_dir, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        nb = from_dict(json.loads(job.notebook_json))
        resources = {"metadata": {"path": run_dir}, "unique_key": job.notebook,
                     "nbgrader": {"student": job.student, "assignment": job.assignment,
                                  "notebook": job.notebook}}
        previous = os.environ.get("NBGRADER_EXECUTION")
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        try:
            config = kernel_config(job.settings, os.path.join(scratch, "kernel"))
            nb, _ = Execute(config=config).preprocess(nb, resources)
            executed = json.dumps(nb)
        except Exception as exc:  # reported as data; the scorer re-raises it for nbgrader
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        finally:
            if previous is None:
                os.environ.pop("NBGRADER_EXECUTION", None)
            else:
                os.environ["NBGRADER_EXECUTION"] = previous
    return ExecutionResult(job.student, job.assignment, job.notebook, job.digest, executed,
                           error, time.perf_counter() - start)
