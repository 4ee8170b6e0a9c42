"""No grade lost: a Dask worker dying mid-task, and the grader itself killed and run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.courses import stock_course_config
from autograder.grading import grade_assignment, read_scores
from autograder.submissions import answered, write_submission

pytestmark = pytest.mark.slow

NB = "problem1.ipynb"
SLOW_SQUARES = ("import time\ntime.sleep({seconds})\n\n"
                "def squares(n):\n    return [i * i for i in range(n)]")


def _slow_learners(root: Path, names: list[str], seconds: float) -> None:
    source = nbformat.read(root / "source" / "ps1" / NB, as_version=4)
    release = nbformat.read(root / "release" / "ps1" / NB, as_version=4)
    nb = answered(release, source, {"squares_answer": SLOW_SQUARES.format(seconds=seconds)})
    for name in names:
        write_submission(root / "submitted" / name / "ps1", {NB: nb},
                         "2026-01-10 09:00:00.000000 UTC")


def _scores(root: Path) -> dict[str, float]:
    scores = read_scores(f"sqlite:///{root / 'gradebook.db'}", "default_course", "ps1")
    return {s: v.auto_score for s, v in scores.items()}


def test_a_dask_worker_killed_mid_task_loses_no_grade(stock_course, dask_cluster):
    address, workers = dask_cluster
    names = [f"learner{i}" for i in range(4)]
    _slow_learners(stock_course, names, seconds=4)
    outcomes = []
    grader = threading.Thread(target=lambda: outcomes.extend(grade_assignment(
        stock_course_config(stock_course), "ps1", scheduler=address)))
    grader.start()
    time.sleep(3)  # both workers are now inside a 4 s notebook
    os.killpg(workers[0].pid, signal.SIGKILL)
    grader.join(timeout=180)
    assert not grader.is_alive()
    assert [o.status for o in outcomes] == ["graded"] * 4, outcomes
    assert _scores(stock_course) == {n: 5.0 for n in names}


def test_grader_killed_and_run_again_grades_each_submission_once(stock_course, capsys):
    names = [f"learner{i}" for i in range(6)]
    _slow_learners(stock_course, names, seconds=2)
    ledger = stock_course / ".poc2prod" / "graded" / "ps1.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder.cli", "grade", "--course-root", str(stock_course),
         "ps1", "--workers", "2"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (ledger.exists() and json.loads(ledger.read_text())):
        assert proc.poll() is None and time.monotonic() < deadline, "grader never graded one"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(json.loads(ledger.read_text()))
    assert 1 <= done_before < len(names), "killed mid-run"

    assert main(["grade", "--course-root", str(stock_course), "ps1", "--workers", "2"]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary == f"{len(names) - done_before} graded, 0 failed, {done_before} skipped"
    assert _scores(stock_course) == {n: 5.0 for n in names}
    with Gradebook(f"sqlite:///{stock_course / 'gradebook.db'}", "default_course") as gradebook:
        assert len(gradebook.find_assignment("ps1").submissions) == len(names)
    assert sorted(json.loads(ledger.read_text())) == names


def test_a_changed_submission_is_graded_again(stock_course, capsys):
    _slow_learners(stock_course, ["ana"], seconds=0)
    assert main(["grade", "--course-root", str(stock_course), "ps1"]) == 0
    (stock_course / "submitted" / "ana" / "ps1" / "notes.txt").write_text("changed")
    capsys.readouterr()
    assert main(["grade", "--course-root", str(stock_course), "ps1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 graded, 0 failed, 0 skipped"
