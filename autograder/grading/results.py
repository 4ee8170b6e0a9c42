"""Typed grading results, read back from nbgrader's gradebook."""

from __future__ import annotations

from dataclasses import dataclass, field

from nbgrader.api import Gradebook, MissingEntry


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission: graded, failed (with a reason in words) or skipped."""

    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SubmissionScore:
    """A submission's autograded points, per graded cell and in total."""

    student: str
    auto_score: float
    max_auto_score: float
    manual_pending: float
    cells: dict[str, float | None] = field(default_factory=dict)


def read_scores(db_url: str, course_id: str, assignment: str) -> dict[str, SubmissionScore]:
    """Every graded submission of an assignment, keyed by student id."""
    scores: dict[str, SubmissionScore] = {}
    with Gradebook(db_url, course_id) as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            return scores
        for submission in submissions:
            cells: dict[str, float | None] = {}
            auto = max_auto = pending = 0.0
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    key = f"{notebook.name}/{grade.name}"
                    if grade.cell_type == "code":
                        cells[key] = grade.auto_score
                        auto += grade.auto_score or 0.0
                        max_auto += grade.max_score
                    else:
                        cells[key] = grade.manual_score
                        pending += grade.max_score if grade.manual_score is None else 0.0
            scores[submission.student.id] = SubmissionScore(
                submission.student.id, auto, max_auto, pending, cells)
    return scores
