"""The course's grading results as plain data: the gradebook, the source and our outcome log.

Everything the report shows is computed here, so tests assert numbers, not pictures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from traitlets.config import Config

from ..grading.plan import STATE_DIR
from ..nbgrader_ops import make_api

HIDDEN_MARK = "### BEGIN HIDDEN TESTS"


@dataclass(frozen=True)
class Test:
    """One autograded test cell of an assignment."""

    assignment: str
    name: str          # notebook/grade_id
    points: float
    hidden: bool       # holds hidden checks that run only at grading


@dataclass
class AssignmentData:
    name: str
    max_score: float
    tests: list[Test] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)         # student -> total
    failed: dict[str, set[str]] = field(default_factory=dict)      # student -> failed tests
    late: dict[str, float] = field(default_factory=dict)           # student -> seconds late
    seconds: dict[str, float] = field(default_factory=dict)        # student -> grading time
    flagged: dict[str, str] = field(default_factory=dict)          # student -> reason

    def failure_rate(self, test: Test) -> float:
        graded = len(self.scores)
        failing = sum(test.name in self.failed.get(student, ()) for student in self.scores)
        return failing / graded if graded else 0.0


@dataclass
class CourseData:
    course: str
    students: list[str]
    assignments: list[AssignmentData]

    def missing(self, assignment: AssignmentData) -> list[str]:
        """Learners with neither a grade nor a flagged attempt for this assignment."""
        return [s for s in self.students
                if s not in assignment.scores and s not in assignment.flagged]

    def grade_rows(self) -> list[dict]:
        """One row per learner: a column per assignment (empty when missing) and the total."""
        rows = []
        for student in self.students:
            row = {"student_id": student}
            for a in self.assignments:
                score = a.scores.get(student)
                row[a.name] = "" if score is None else round(score, 2)
            row["total"] = round(sum(a.scores.get(student, 0.0) for a in self.assignments), 2)
            rows.append(row)
        return rows


def _tests(source_folder: Path, assignment: str) -> list[Test]:
    tests = []
    for path in sorted(source_folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                tests.append(Test(assignment, f"{path.stem}/{meta['grade_id']}",
                                  float(meta.get("points", 0)), HIDDEN_MARK in cell.source))
    return tests


def _outcomes(root: Path, assignment: str) -> dict[str, dict]:
    path = root / STATE_DIR / "outcomes" / f"{assignment}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def collect(config: Config) -> CourseData:
    """Read one course's results (ours or a stock nbgrader course folder)."""
    api = make_api(config)
    coursedir = api.coursedir
    root = Path(coursedir.root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        students = sorted(s.id for s in gradebook.students)
        assignments = []
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            source = Path(coursedir.format_path(coursedir.source_directory, ".",
                                                assignment.name))
            data = AssignmentData(assignment.name, float(assignment.max_score),
                                  _tests(source, assignment.name))
            for submission in assignment.submissions:
                student = submission.student.id
                penalty = submission.late_submission_penalty or 0.0  # the course's late policy
                data.scores[student] = float(submission.score - penalty)
                data.failed[student] = {
                    f"{nb.name}/{g.name}" for nb in submission.notebooks for g in nb.grades
                    if g.cell_type == "code" and (g.score or 0.0) < g.max_score}
                if submission.total_seconds_late > 0:
                    data.late[student] = float(submission.total_seconds_late)
            for student, outcome in _outcomes(root, assignment.name).items():
                data.seconds[student] = float(outcome.get("seconds", 0.0))
                if outcome.get("status") == "failed":
                    data.flagged[student] = outcome.get("reason", "")
                    data.scores.pop(student, None)
            assignments.append(data)
    seen = {s for a in assignments for s in [*a.seconds, *a.flagged]}  # flagged before enrolment
    return CourseData(coursedir.course_id or root.name, sorted({*students, *seen}), assignments)
