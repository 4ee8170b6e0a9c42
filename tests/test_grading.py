"""Grading on real submissions: exact scores, and identical to stock ``nbgrader autograde``."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from autograder.grading import read_scores
from autograder.submissions import answered, write_submission

from .conftest import BIN

pytestmark = pytest.mark.slow

ON_TIME = "2026-01-10 09:00:00.000000 UTC"
LATE = "2026-01-20 09:00:00.000000 UTC"
NB = "problem1.ipynb"

# Autograded points each fixture learner must get (squares 2, mean_small 1, mean_fraction 2).
# The corrupt one is recorded with no score at all; the empty one never reaches the gradebook.
EXPECTED = {"reference": 5.0, "stub": 0.0, "floor_division": 3.0, "edited_tests": 3.0,
            "late": 5.0, "corrupt": 0.0}


def _learners(source, release):
    floor = {"mean_answer": "def mean(values):\n    return sum(values) // len(values)"}
    edited = answered(release, source, floor)
    for cell in edited.cells:
        if cell.metadata["nbgrader"]["grade_id"] == "mean_fraction":
            cell.source = "pass  # a learner 'fixing' the test that fails"
    return {"reference": answered(release, source), "stub": release,
            "floor_division": answered(release, source, floor), "edited_tests": edited,
            "late": answered(release, source)}


def _populate(root: Path) -> None:
    """The same submissions, byte for byte, in a stock course folder."""
    source = nbformat.read(root / "source" / "ps1" / NB, as_version=4)
    release = nbformat.read(root / "release" / "ps1" / NB, as_version=4)
    for name, nb in _learners(source, release).items():
        write_submission(root / "submitted" / name / "ps1", {NB: nb},
                         LATE if name == "late" else ON_TIME)
    write_submission(root / "submitted" / "missing_notebook" / "ps1", {}, ON_TIME)
    corrupt = root / "submitted" / "corrupt" / "ps1"
    write_submission(corrupt, {}, ON_TIME)
    (corrupt / NB).write_text('{"cells": [ truncated')
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    subprocess.run([BIN / "nbgrader", "db", "assignment", "add", "ps1",
                    "--duedate=2026-01-15 00:00:00 UTC"], cwd=root, check=True,
                   capture_output=True)


def _db(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def _csv(path: Path) -> list[dict]:
    return sorted(csv.DictReader(path.read_text().splitlines()), key=lambda r: r["student_id"])


@pytest.fixture
def two_copies(stock_course: Path, tmp_path: Path) -> tuple[Path, Path]:
    _populate(stock_course)
    ours = tmp_path / "ours"
    shutil.copytree(stock_course, ours)
    return stock_course, ours


def test_grades_equal_stock_nbgrader_cell_by_cell(two_copies, capsys):
    stock, ours = two_copies
    subprocess.run([BIN / "nbgrader", "autograde", "ps1"], cwd=stock, capture_output=True)
    status = main(["grade", "--course-root", str(ours), "ps1"])
    table = capsys.readouterr().out

    stock_scores = read_scores(_db(stock), "default_course", "ps1")
    our_scores = read_scores(_db(ours), "default_course", "ps1")
    assert {s: v.cells for s, v in our_scores.items()} == \
        {s: v.cells for s, v in stock_scores.items()}
    assert {s: v.auto_score for s, v in our_scores.items()} == EXPECTED

    assert set(our_scores["corrupt"].cells.values()) == {None}

    # broken submissions are reported in words, and do not stop the others
    assert status == 1
    assert "not valid JSON" in table and "holds no notebook" in table
    assert "5 graded, 2 failed, 0 skipped" in table
    assert sorted(p.name for p in (ours / "autograded").iterdir()) == \
        sorted(p.name for p in (stock / "autograded").iterdir())


def test_export_matches_nbgrader_export_including_late_penalty(two_copies, capsys):
    stock, ours = two_copies
    subprocess.run([BIN / "nbgrader", "autograde", "ps1"], cwd=stock, capture_output=True)
    main(["grade", "--course-root", str(ours), "ps1"])
    subprocess.run([BIN / "nbgrader", "export", "--to", "stock.csv"], cwd=stock, check=True,
                   capture_output=True)
    assert main(["export", "--course-root", str(ours), "--to", str(ours / "ours.csv")]) == 0
    # and stock nbgrader reads the grades we wrote, where it expects them
    subprocess.run([BIN / "nbgrader", "export", "--to", "stock-reads-ours.csv"], cwd=ours,
                   check=True, capture_output=True)
    ours_rows = _csv(ours / "ours.csv")
    assert ours_rows == _csv(stock / "stock.csv") == _csv(ours / "stock-reads-ours.csv")
    late = next(r for r in ours_rows if r["student_id"] == "late")
    assert float(late["raw_score"]) == 5.0 and float(late["score"]) == 0.0


def test_regrading_skips_unchanged_and_force_regrades(two_copies, capsys):
    _, ours = two_copies
    main(["grade", "--course-root", str(ours), "ps1", "--student", "reference"])
    capsys.readouterr()
    main(["grade", "--course-root", str(ours), "ps1", "--student", "reference"])
    assert "0 graded, 0 failed, 1 skipped" in capsys.readouterr().out
    main(["grade", "--course-root", str(ours), "ps1", "--student", "reference", "--force"])
    assert "1 graded, 0 failed, 0 skipped" in capsys.readouterr().out


def test_feedback_never_shows_hidden_tests(two_copies, capsys):
    _, ours = two_copies
    main(["grade", "--course-root", str(ours), "ps1"])
    assert main(["feedback", "--course-root", str(ours), "ps1"]) == 0
    pages = list((ours / "feedback").rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text()
        assert "squares(6)" not in text and "5 / 3" not in text, page
        assert "BEGIN HIDDEN" not in text, page


def test_dask_backend_grades_equal_stock_nbgrader(two_copies, dask_cluster, capsys):
    stock, ours = two_copies
    address, _ = dask_cluster
    subprocess.run([BIN / "nbgrader", "autograde", "ps1"], cwd=stock, capture_output=True)
    main(["grade", "--course-root", str(ours), "ps1", "--scheduler", address])
    assert "5 graded, 2 failed, 0 skipped" in capsys.readouterr().out
    stock_scores = read_scores(_db(stock), "default_course", "ps1")
    our_scores = read_scores(_db(ours), "default_course", "ps1")
    assert {s: v.cells for s, v in our_scores.items()} == \
        {s: v.cells for s, v in stock_scores.items()}


def test_postgresql_gradebook(stock_course, postgres_url, capsys):
    _populate(stock_course)
    config = stock_course / "nbgrader_config.py"  # PostgreSQL enforces the course's key
    config.write_text(config.read_text() + "c.CourseDirectory.course_id = 'ps1course'\n")
    subprocess.run([BIN / "nbgrader", "generate_assignment", "ps1", "--force",
                    f"--CourseDirectory.db_url={postgres_url}"], cwd=stock_course, check=True,
                   capture_output=True)
    assert main(["grade", "--course-root", str(stock_course), "ps1", "--db", postgres_url]) == 1
    assert "5 graded, 2 failed, 0 skipped" in capsys.readouterr().out
    scores = read_scores(postgres_url, "ps1course", "ps1")
    assert {s: v.auto_score for s, v in scores.items()} == EXPECTED
    assert read_scores(_db(stock_course), "ps1course", "ps1") == {}  # SQLite untouched
