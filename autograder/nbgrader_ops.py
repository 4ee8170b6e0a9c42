"""One doorway to nbgrader: build its API object and turn failed steps into exceptions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config


class StepFailed(RuntimeError):
    """An nbgrader step (generate, release, collect...) reported failure."""

    def __init__(self, step: str, detail: str):
        super().__init__(f"nbgrader {step} failed:\n{detail.strip()}")
        self.step = step
        self.detail = detail


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` as a program: make this environment's ``bin`` come first."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir


def make_api(config: Config) -> NbGraderAPI:
    """An NbGraderAPI bound to one course's configuration."""
    ensure_tools_on_path()
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    return api


def run_step(step: str, result: dict | None) -> str:
    """Return the step's log, or raise StepFailed with nbgrader's own words."""
    if result is None:
        raise StepFailed(step, "the exchange is not available on this platform")
    if not result.get("success", False):
        raise StepFailed(step, result.get("error") or result.get("log") or "no detail")
    return result.get("log", "")
