"""Turn a submission into execution jobs: nbgrader's sanitizing steps, without writing anything.

The sanitizing preprocessors (clear outputs, restore locked and test cells from the
gradebook, fix the kernelspec) only read the gradebook, so jobs can be prepared while other
submissions are being scored, and executed anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from traitlets.config import Config

from .execute import ExecutionJob
from .plan import Submission

EXECUTION_SECTIONS = ("Execute", "ExecutePreprocessor", "NotebookClient", "BoundedExecute",
                      "SplitExecute",
                      "KernelManager", "SandboxedKernelManager")


def execution_settings(config: Config) -> dict:
    """The parts of the course configuration that govern execution, as plain data."""
    return {name: dict(config[name]) for name in EXECUTION_SECTIONS if name in config}


def run_folder_files(coursedir: CourseDirectory, submission: Submission) -> dict[str, bytes]:
    """Files beside the notebook when it runs: the submission's, then the source's on top.

    A submitted symlink is never followed: it could point at the gradebook or at another
    learner's work, and the grader reads with more rights than the learner has.
    """
    source = Path(coursedir.format_path(coursedir.source_directory, ".", submission.assignment))
    files: dict[str, bytes] = {}
    for folder in (submission.folder, source):
        for name in find_all_files(str(folder), coursedir.ignore + ["*.ipynb"]):
            if folder == submission.folder and not is_regular_file(Path(name), folder):
                continue
            files[os.path.relpath(name, folder)] = Path(name).read_bytes()
    files.pop("timestamp.txt", None)
    return files


def is_regular_file(path: Path, top: Path) -> bool:
    """A plain file reached without any symlink between ``top`` and it."""
    relative = path.relative_to(top)
    steps = [top.joinpath(*relative.parts[:i + 1]) for i in range(len(relative.parts))]
    return path.is_file() and not any(step.is_symlink() for step in steps)


def prepare_jobs(config: Config, coursedir: CourseDirectory, submission: Submission,
                 known_notebooks: set[str], *, sandboxed: bool = True) -> list[ExecutionJob]:
    """One job per submitted notebook the gradebook knows; raises if a notebook is unreadable."""
    preprocessors = Autograde(config=config).sanitize_preprocessors
    files = run_folder_files(coursedir, submission)
    settings = execution_settings(config)
    jobs = []
    for path in sorted(submission.folder.glob("*.ipynb")):
        if path.stem not in known_notebooks or path.is_symlink():
            continue
        nb = nbformat.read(path, as_version=4)
        resources = {"unique_key": path.stem, "output_files_dir": f"{path.stem}_files",
                     "nbgrader": {"student": submission.student,
                                  "assignment": submission.assignment,
                                  "notebook": path.stem, "db_url": coursedir.db_url}}
        for cls in preprocessors:
            nb, resources = cls(config=config).preprocess(nb, resources)
        jobs.append(ExecutionJob(submission.student, submission.assignment, path.stem,
                                 submission.digest, json.dumps(nb), files, settings,
                                 sandboxed))
    return jobs
