"""Run one sanitized notebook in a fresh kernel: the only step that needs no gradebook.

Jobs and results are plain data (notebook JSON text and bytes; validated once, when read
from the submission, not again on every hop), so they travel to a process pool or a
Dask cluster unchanged. Execution uses nbgrader's own ``Execute`` preprocessor with the
course's settings, so outputs are those ``nbgrader autograde`` would produce.
"""

from __future__ import annotations

import contextlib
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
    sandboxed: bool = True

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


def kernel_config(settings: dict, runtime: Path):
    """The course's execution settings, with the kernel talking over Unix sockets.

    Kernels started at once by separate worker processes pick TCP ports independently
    and can collide, which kills one at start-up; socket files in the job's own runtime
    folder (beside the notebook's folder, not in it) cannot collide and need no network.
    """
    from traitlets.config import Config

    config = Config(settings)
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(runtime / "kernel")
    config.KernelManager.connection_file = str(runtime / "kernel.json")
    return config


def _kernel_manager(work: Path, runtime: Path, sandboxed: bool, *,
                    shared: tuple[Path, ...] = (), start_dir: str | None = None):
    from jupyter_client.manager import AsyncKernelManager

    if not sandboxed:
        return AsyncKernelManager
    from .sandbox import SandboxedKernelManager, prepare_folders

    prepare_folders(work, runtime, shared)
    return type("JobKernelManager", (SandboxedKernelManager,),
                {"work": work, "runtime": runtime, "shared": shared, "start_dir": start_dir})


def _split_executor(settings: dict, scratch: Path, work: Path, runtime: Path, sandboxed: bool):
    """The learner's kernel in ``runtime``, the trusted test kernel in ``trusted/``.

    Both see the working folder and a ``channel/`` folder holding the socket between them;
    the trusted kernel starts in its own home and keeps its connection file to itself.
    """
    from .sandbox import HOME
    from .split import SplitExecute

    channel, trusted = scratch / "channel", scratch / "trusted"
    channel.mkdir()
    (trusted / "home").mkdir(parents=True)
    executor = SplitExecute(
        config=kernel_config(settings, runtime),
        kernel_manager_class=_kernel_manager(work, runtime, sandboxed, shared=(channel,)))
    executor.trusted_config = kernel_config(settings, trusted)
    executor.trusted_kernel_manager_class = _kernel_manager(
        work, trusted, sandboxed, shared=(channel,), start_dir=HOME if sandboxed else None)
    executor.channel = channel
    executor.trusted_start = trusted / "home"
    return executor


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute a job's notebook from a fresh kernel in a private scratch folder."""
    from nbformat import from_dict

    start = time.perf_counter()
    executed, error = None, None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if job.sandboxed:
        from .sandbox import probe

        reason = probe()
        if reason is not None:
            return ExecutionResult(job.student, job.assignment, job.notebook, job.digest, None,
                                   f"SandboxUnavailable: {reason}", 0.0)
    with tempfile.TemporaryDirectory(prefix="poc2prod-run-",
                                     ignore_cleanup_errors=True) as scratch:
        work, runtime = Path(scratch, "work"), Path(scratch, "runtime")
        work.mkdir()
        runtime.mkdir()
        for relative, data in job.files.items():
            path = work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        nb = from_dict(json.loads(job.notebook_json))
        resources = {"metadata": {"path": str(work)}, "unique_key": job.notebook,
                     "nbgrader": {"student": job.student, "assignment": job.assignment,
                                  "notebook": job.notebook}}
        previous = os.environ.get("NBGRADER_EXECUTION")
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        try:
            executor = _split_executor(job.settings, Path(scratch), work, runtime,
                                       job.sandboxed)
            nb, _ = executor.preprocess(nb, resources)
            executed = json.dumps(nb)
        except Exception as exc:  # reported as data; the scorer re-raises it for nbgrader
            error = executor_error(exc, locals().get("executor"))
        finally:
            if previous is None:
                os.environ.pop("NBGRADER_EXECUTION", None)
            else:
                os.environ["NBGRADER_EXECUTION"] = previous
            _remove_as_owner(Path(scratch))
    return ExecutionResult(job.student, job.assignment, job.notebook, job.digest, executed,
                           error, time.perf_counter() - start)


def executor_error(exc: Exception, executor) -> str:
    """The error text the scorer reports; a notebook stopped by its time limit says so."""
    if executor is not None and executor.timed_out:
        return (f"NotebookTimeout: the notebook ran longer than {executor.notebook_timeout:g} s"
                " and was stopped")
    return f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"


def _remove_as_owner(scratch: Path) -> None:
    """Make a sandbox's files removable: the learner may have left read-only folders."""
    for path in scratch.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.chmod(0o700)
