"""Every committed assignment has the shape AUTHORING.md asks for (no notebook is run here)."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder.courses import select
from autograder.submissions import fixtures_for

ASSIGNMENTS = select()
IDS = [f"{c.name}/{a}" for c, a in ASSIGNMENTS]


def _cells(course, assignment):
    for path in course.notebooks(assignment):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            yield path, cell, cell.metadata.get("nbgrader", {})


def _test_cells(course, assignment):
    return [(c, m) for _, c, m in _cells(course, assignment)
            if m.get("grade") and c.cell_type == "code"]


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_committed_without_outputs(course, assignment):
    for path, cell, _ in _cells(course, assignment):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_exercises_tests_and_a_written_answer(course, assignment):
    tests = _test_cells(course, assignment)
    assert len(tests) >= 3, "at least three autograded test cells"
    hidden = [c for c, _ in tests if "### BEGIN HIDDEN TESTS" in c.source]
    assert len(hidden) >= 3, "hidden tests on seeded variants in at least three test cells"
    for cell, meta in tests:
        assert meta["points"] > 0 and meta["locked"], meta["grade_id"]
        assert cell.source.lstrip().startswith('"""'), \
            f"{meta['grade_id']} must open with a one-line docstring saying what it checks"
    written = [m for _, c, m in _cells(course, assignment)
               if c.cell_type == "markdown" and m.get("grade") and m.get("solution")]
    assert written, "one manually graded written answer"
    solutions = [c for _, c, m in _cells(course, assignment)
                 if c.cell_type == "code" and m.get("solution")]
    assert len(solutions) >= 3 and all("### BEGIN SOLUTION" in c.source for c in solutions)


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_grade_ids_unique_and_metadata_complete(course, assignment):
    ids = [m.get("grade_id") for _, _, m in _cells(course, assignment)]
    assert None not in ids, "every cell carries nbgrader metadata with a grade_id"
    assert len(ids) == len(set(ids)), "grade ids are unique"


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_offline_seeded_and_with_a_plot(course, assignment):
    code = "\n".join(c.source for _, c, _ in _cells(course, assignment) if c.cell_type == "code")
    assert re.search(r"\b(plt|ax|axes|fig)\.|plot_", code), "at least one plot"
    assert "sys.path" not in code, "helpers are imported from labkit, not path hacks"
    for url in re.findall(r"https?://[^\s'\"]+", code):
        assert url.startswith(("http://127.0.0.1", "{")), f"network address in a notebook: {url}"
    assert "fetch_openml" not in code and "urlretrieve" not in code


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_a_typical_mistake_fixture_with_a_partial_score(course, assignment):
    full = sum(m["points"] for _, m in _test_cells(course, assignment))
    fixtures = fixtures_for(course.fixtures_dir, assignment)
    assert fixtures, "a typical-mistake fixture"
    for fixture in fixtures:
        assert 0 < fixture.expected_score < full, fixture.name
        assert len(fixture.description) > 20


@pytest.mark.parametrize(("course", "assignment"), ASSIGNMENTS, ids=IDS)
def test_the_course_readme_lists_the_assignment(course, assignment):
    readme = (course.folder / "README.md").read_text()
    assert f"`{assignment}`" in readme or f"| {assignment}" in readme
