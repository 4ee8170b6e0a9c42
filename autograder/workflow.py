"""The instructor's steps around grading: release, collect, feedback and export."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin
from traitlets.config import Config

from .nbgrader_ops import make_api, run_step


def release(config: Config, assignment: str) -> None:
    """Generate the learner version (solutions and hidden tests stripped) and publish it."""
    api = make_api(config)
    run_step("generate_assignment", api.generate_assignment(assignment))
    api.unrelease(assignment)  # releasing again replaces the old copy
    run_step("release_assignment", api.release_assignment(assignment))


def collect(config: Config, assignment: str) -> list[str]:
    """Copy submissions from the exchange into submitted/; returns who submitted."""
    api = make_api(config)
    run_step("collect", api.collect(assignment))
    return sorted(api.get_submitted_students(assignment))


def feedback(config: Config, assignment: str, *, to_exchange: bool = True) -> list[Path]:
    """Write HTML feedback (hidden tests removed) and, on request, hand it back to learners."""
    api = make_api(config)
    run_step("generate_feedback", api.generate_feedback(assignment))
    if to_exchange:
        run_step("release_feedback", api.release_feedback(assignment))
    root = Path(api.coursedir.root)
    return sorted(root.glob(f"feedback/*/{assignment}/*.html"))


def export(config: Config, destination: str | Path) -> Path:
    """Write nbgrader's grade CSV (the same file ``nbgrader export`` writes)."""
    api = make_api(config)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(to=str(destination), parent=api)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    return destination
