"""Autograde submissions one after another with nbgrader's own converter.

The parallel engine replaces the execution step later; scores are always written by
nbgrader's preprocessors, so grades equal stock ``nbgrader autograde``.
"""

from __future__ import annotations

import time
from pathlib import Path

from traitlets.config import Config

from ..nbgrader_ops import make_api
from .results import Outcome

FAILURE_WORDS = [
    ("Kernel died", "the notebook's kernel died (a crash, os._exit or out of memory)"),
    ("DeadKernelError", "the notebook's kernel died (a crash, os._exit or out of memory)"),
    ("CellTimeoutError", "a cell ran longer than the per-cell time limit"),
    ("Timeout waiting for", "the kernel stopped answering within the time limit"),
    ("NotJSONError", "the notebook file is not valid JSON (corrupt or truncated)"),
    ("No notebooks were matched", "the submission holds no notebook of this assignment "
                                  "(missing or renamed)"),
    ("does not exist", "a notebook of the assignment is missing from the submission"),
]

GENERIC_ERRORS = ("There was an error processing", "Please see the", "Traceback")


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    """Students with a submission folder for this assignment."""
    return sorted(p.parent.name for p in (course_root / "submitted").glob(f"*/{assignment}")
                  if p.is_dir())


def explain_failure(log: str) -> str:
    """Turn nbgrader's log of a failed autograde into one sentence an instructor understands."""
    for marker, words in FAILURE_WORDS:
        if marker in log:
            return words
    errors = [line.removeprefix("[ERROR]").strip() for line in log.splitlines()
              if line.startswith("[ERROR]") and not any(g in line for g in GENERIC_ERRORS)]
    return f"nbgrader could not grade it: {errors[0] if errors else 'no detail given'}"


def grade_assignment(config: Config, assignment: str, *, students: list[str] | None = None,
                     force: bool = False) -> list[Outcome]:
    """Autograde each submission of ``assignment``; one failure never stops the others."""
    api = make_api(config)
    root = Path(api.coursedir.root)
    chosen = students if students is not None else submitted_students(root, assignment)
    outcomes = []
    for student in chosen:
        autograded = root / "autograded" / student / assignment
        start = time.perf_counter()
        result = api.autograde(assignment, student, force=force)
        seconds = time.perf_counter() - start
        log = (result.get("log") or "") + (result.get("error") or "")
        if result.get("success") and "Skipping existing assignment" in log:
            outcomes.append(Outcome(student, "skipped", "already graded and unchanged "
                                    "(use --force to grade again)", seconds))
        elif not result.get("success") or not autograded.exists():
            outcomes.append(Outcome(student, "failed", explain_failure(log), seconds))
        else:
            outcomes.append(Outcome(student, "graded", "", seconds))
    return outcomes
