"""Grading throughput: stock ``nbgrader autograde`` against ``poc2prod grade``, same run.

    .venv/bin/python benchmarks/grading.py [--learners 40] [--course course1_poc]
                                           [--assignment 01_scoping] [--workers N]

Builds a stock nbgrader course folder from one of our assignments, with N learners (the
reference solution and the typical mistakes, in turn), copies it twice, grades one copy with
stock nbgrader (sequential) and the other with poc2prod, and checks the grades are equal.
It then executes every submission once more with plain nbclient, one after another, to get
the pure execution time: divided by the cores, that is the physical limit of any grader.
Prints both wall times, the speed-up, the limit and our overhead above it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.courses import get_course
from autograder.grading import read_scores
from autograder.grading.backends import default_workers
from autograder.submissions import answered, fixtures_for, write_submission

BIN = Path(sys.executable).parent
ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs alembic


def build_course(root: Path, course_name: str, assignment: str, learners: int) -> None:
    """A stock course folder: source, stock-generated release, N submissions."""
    course = get_course(course_name)
    shutil.copytree(course.source_dir / assignment, root / "source" / assignment)
    subprocess.run([BIN / "nbgrader", "generate_assignment", assignment, "--force"],
                   cwd=root, check=True, capture_output=True, env=ENV)
    answers = [{}] + [f.answers for f in fixtures_for(course.fixtures_dir, assignment)]
    for i in range(learners):
        notebooks = {}
        for path in course.notebooks(assignment):
            release = nbformat.read(root / "release" / assignment / path.name, as_version=4)
            source = nbformat.read(path, as_version=4)
            notebooks[path.name] = answered(release, source, answers[i % len(answers)])
        write_submission(root / "submitted" / f"learner{i:04d}" / assignment, notebooks,
                         "2026-01-10 09:00:00.000000 UTC")


def timed(command: list, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def pure_execution(root: Path, assignment: str) -> float:
    """Seconds to execute every submitted notebook once, fresh kernel each, nothing else."""
    total = 0.0
    for path in sorted(root.glob(f"submitted/*/{assignment}/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        total += time.perf_counter() - start
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--course", default="course1_poc")
    parser.add_argument("--assignment", default="01_scoping")
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="poc2prod-bench-") as tmp:
        stock, ours = Path(tmp, "stock"), Path(tmp, "ours")
        build_course(stock, args.course, args.assignment, args.learners)
        shutil.copytree(stock, ours)
        print(f"{args.learners} submissions of {args.course}/{args.assignment}, "
              f"{args.workers} workers, {os.cpu_count()} cores")

        t_stock = timed([BIN / "nbgrader", "autograde", args.assignment], stock)
        print(f"stock nbgrader autograde (sequential): {t_stock:8.1f} s")
        t_ours = timed([BIN / "poc2prod", "grade", "--course-root", ours, args.assignment,
                        "--workers", str(args.workers)], ours)
        print(f"poc2prod grade:                        {t_ours:8.1f} s")

        def cells(root: Path) -> dict:
            scores = read_scores(f"sqlite:///{root}/gradebook.db", "default_course",
                                 args.assignment)
            return {student: score.cells for student, score in scores.items()}

        same = cells(ours) == cells(stock)
        pure = pure_execution(ours, args.assignment)
        limit = pure / args.workers
        print(f"pure execution (nbclient, one by one): {pure:8.1f} s "
              f"-> physical limit on {args.workers} workers {limit:.1f} s")
        print(f"speed-up over stock: {t_stock / t_ours:.2f}x   "
              f"overhead above the limit: {100 * (t_ours / limit - 1):.1f}%   "
              f"identical grades: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
