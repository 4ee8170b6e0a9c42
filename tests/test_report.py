"""poc2prod report and learner feedback, on real graded submissions of the tiny course.

The fixture learners (tests/test_grading.py): reference 5/5, stub 0, floor division 3,
edited tests 3, late (penalty zero: 0), a corrupt notebook and a folder without a notebook
(both flagged by the grader), and one enrolled learner who never submitted.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.courses import REPO_ROOT, stock_course_config
from autograder.report import collect

from .conftest import BIN
from .test_grading import _populate

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The fixture cohort graded by our engine, with feedback written; the report's folder."""
    root = tmp_path_factory.mktemp("report") / "stock"
    subprocess.run(["cp", "-r", str(REPO_ROOT / "tests" / "fixtures" / "stock_course"),
                    str(root)], check=True)
    subprocess.run([BIN / "nbgrader", "generate_assignment", "ps1", "--force"], cwd=root,
                   check=True, capture_output=True)
    _populate(root)
    subprocess.run([BIN / "nbgrader", "db", "student", "add", "never_submitted"], cwd=root,
                   check=True, capture_output=True)
    main(["grade", "ps1", "--course-root", str(root)])  # exit 1: two submissions are flagged
    assert main(["feedback", "ps1", "--course-root", str(root)]) == 0
    out = root / "report-out"
    assert main(["report", "--course-root", str(root), "--out", str(out)]) == 0
    return root, out


def test_the_numbers_of_the_report(graded):
    root, _ = graded
    data = collect(stock_course_config(root))
    (ps1,) = data.assignments
    assert ps1.max_score == 6.0  # 5 autograded + 1 written
    assert ps1.scores == {"reference": 5.0, "stub": 0.0, "floor_division": 3.0,
                          "edited_tests": 3.0, "late": 0.0}
    assert set(ps1.flagged) == {"corrupt", "missing_notebook"}
    assert "not valid JSON" in ps1.flagged["corrupt"]
    assert set(ps1.late) == {"late"}
    assert data.missing(ps1) == ["never_submitted"]
    rates = {t.name: round(ps1.failure_rate(t), 2) for t in ps1.tests}
    # mean_fraction: stub, floor division and the edited test fail; the others: stub only
    assert rates == {"problem1/squares_correct": 0.2, "problem1/mean_small": 0.2,
                     "problem1/mean_fraction": 0.6}
    hidden = {t.name for t in ps1.tests if t.hidden}
    assert hidden == {"problem1/squares_correct", "problem1/mean_fraction"}
    assert all(seconds > 0 for seconds in ps1.seconds.values())


def test_the_grade_csv_has_a_row_per_learner_and_a_column_per_assignment(graded):
    _, out = graded
    lines = (out / "grades.csv").read_text().splitlines()
    rows = {r["student_id"]: r for r in csv.DictReader(lines)}
    assert list(next(iter(rows.values()))) == ["student_id", "ps1", "total"]
    assert rows["reference"] == {"student_id": "reference", "ps1": "5.0", "total": "5.0"}
    assert rows["corrupt"]["ps1"] == "" and rows["corrupt"]["total"] == "0.0"
    assert rows["never_submitted"]["ps1"] == ""


def test_the_html_report_holds_the_plots_and_the_flags(graded):
    _, out = graded
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "corrupt" in page and "not valid JSON" in page
    assert "problem1/mean_fraction</code>: 60% fail (hidden checks)" in page


def test_feedback_names_every_test_and_never_shows_hidden_code(graded):
    root, _ = graded
    files = sorted((root / "feedback").rglob("*.html"))
    assert files, "feedback was written"
    for path in files:
        text = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "squares(6)" not in text
        assert "mean([1, 2, 2])" not in text  # a hidden check's code
    floor = (root / "feedback" / "floor_division" / "ps1" / "problem1.html").read_text()
    assert "Your tests" in floor and "hidden checks, on other data" in floor
    assert "mean returns a float on integers that do not divide evenly." in floor  # the hint
    assert "<td><code>mean_fraction</code></td><td>failed</td>" in floor
    assert "<td><code>squares_correct</code></td><td>passed</td>" in floor


def test_the_report_renders_in_chromium(graded):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make setup` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    _, out = graded
    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto((out / "report.html").as_uri())
            widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
            assert len(widths) == 4 and all(w > 100 for w in widths), widths
            assert page.locator("#assignments tr").count() == 2
            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        finally:
            browser.close()
