"""``poc2prod check`` passes for every assignment, and fails, in words, on broken ones."""

from __future__ import annotations

import nbformat
import pytest

from autograder.check import check_assignment
from autograder.cli import main
from autograder.courses import select

pytestmark = pytest.mark.slow

ASSIGNMENTS = select()
# Timing is measured, not asserted (README run times, `poc2prod check` prints them and holds
# instructors to 60 s): here, beside other tests on 2 cores, only a runaway notebook fails.
RUNAWAY_S = 180


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS,
                         ids=[f"{c.name}/{a}" for c, a in ASSIGNMENTS])
def test_every_assignment_passes_check(course, assignment):
    result = check_assignment(course, assignment, time_budget=RUNAWAY_S)
    assert result.ok, result.line()
    assert result.line().startswith(f"PASS {course.name}/{assignment}")


def _edit(course, grade_id, edit):
    path = course.notebooks("ps1")[0]
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == grade_id)
    cell.source = edit(cell.source)
    nbformat.write(nb, path)


def test_the_tiny_course_passes(ps1_course):
    result = check_assignment(ps1_course, "ps1")
    assert result.ok, result.line()
    assert "reference 5/5 (+1 graded by hand)" in result.line()


def test_a_solution_that_loses_points_fails(ps1_course):
    _edit(ps1_course, "mean_answer", lambda s: s.replace("sum(values) / len", "sum(values) // len"))
    result = check_assignment(ps1_course, "ps1")
    assert not result.ok
    assert "reference solution scored 3/5, lost problem1/mean_fraction (0 of 2)" in result.line()


def test_a_misspelled_hidden_marker_is_a_leak(ps1_course):
    _edit(ps1_course, "squares_correct",
          lambda s: s.replace("BEGIN HIDDEN TESTS", "BEGIN HIDDEN TEST").replace(
              "END HIDDEN TESTS", "END HIDDEN TEST"))
    result = check_assignment(ps1_course, "ps1")
    assert not result.ok
    assert "marker left in the release: '### BEGIN HIDDEN TEST'" in result.line()


def test_a_test_that_gives_free_points_fails(ps1_course):
    _edit(ps1_course, "mean_small", lambda s: "assert True")
    result = check_assignment(ps1_course, "ps1")
    assert "untouched release scored 1/5 (points without any answer in problem1/mean_small)" \
        in result.line()


def test_outputs_in_a_committed_notebook_fail(ps1_course):
    path = ps1_course.notebooks("ps1")[0]
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].execution_count = 3
    nbformat.write(nb, path)
    assert "committed with outputs in squares_answer" in check_assignment(ps1_course, "ps1").line()


def test_a_fixture_scoring_otherwise_than_documented_fails(ps1_course):
    folder = ps1_course.fixtures_dir / "ps1"
    folder.mkdir(parents=True)
    (folder / "floor.toml").write_text(
        'description = "floor division"\nexpected_score = 4\n[answers]\n'
        "mean_answer = '''\ndef mean(values):\n    return sum(values) // len(values)\n'''\n")
    result = check_assignment(ps1_course, "ps1")
    assert "fixture floor scored 3, its file documents 4" in result.line()


def test_too_slow_fails(ps1_course):
    result = check_assignment(ps1_course, "ps1", time_budget=0.01)
    assert "budget 0.01 s" in result.line()


def test_cli_exit_status_and_one_line_per_assignment(capsys):
    assert main(["check", "course1_poc", "01_scoping"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS course1_poc/01_scoping") and out[-1] == "1 of 1 assignments pass"
