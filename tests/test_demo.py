"""The full headless cycle on the first assignment of each course (`make demo` runs them all)."""

from __future__ import annotations

import csv

import pytest

from autograder.courses import all_courses
from autograder.demo import run_demo

pytestmark = pytest.mark.slow


def test_demo_grades_every_simulated_learner_as_expected(tmp_path):
    # one assignment per course: `poc2prod check` (test_check.py) already grades every
    # assignment's reference, release and fixtures through the same engine
    selection = [(course, course.assignments()[0]) for course in all_courses()]
    lines: list[str] = []
    result = run_demo(tmp_path / "instance", selection=selection, echo=lines.append)
    assert result.ok, "\n".join(lines)
    plays = {(r.course, r.learner): r.plays for r in result.rows}
    for course in ("course1_poc", "course2_scaling", "course3_production"):
        assert plays[(course, "ada")] == "reference solution"
        assert plays[(course, "ben")] == "untouched release"
        assert plays[(course, "cy")].startswith("fixture ")
    assert lines[-1] == "demo: every grade as expected"

    # the export is nbgrader's CSV, one row per learner and assignment
    for export in result.exports:
        rows = list(csv.DictReader(export.read_text().splitlines()))
        assert {r["student_id"] for r in rows} == {"ada", "ben", "cy"}

    # the instructor's report per course: the HTML with its plots and the LMS grade CSV
    for report in result.reports:
        assert report.read_text().count("data:image/png;base64,") == 4
        grades = list(csv.DictReader((report.parent / "grades.csv").read_text().splitlines()))
        assert [r["student_id"] for r in grades] == ["ada", "ben", "cy"]
        assert all(float(r["total"]) >= 0 for r in grades)

    # feedback reached each learner through the exchange, without hidden tests
    pages = list((tmp_path / "instance" / "learners").rglob("feedback/*/*.html"))
    assert len(pages) == len(result.rows)
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text, page
