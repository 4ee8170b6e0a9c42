"""A headless full cycle in a fresh instance, with simulated learners.

release -> learners fetch and submit (the reference solution, the untouched release, a
typical mistake from the fixtures) -> collect -> grade -> feedback -> learners fetch it ->
export. Prints the grade table and fails if any grade differs from the expected one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import workflow
from .courses import Course, Instance, select
from .grading import grade_assignment, read_scores
from .learners import Learner
from .report import collect, write_report
from .submissions import answered, fixtures_for
from .summary import table


@dataclass(frozen=True)
class DemoRow:
    course: str
    assignment: str
    learner: str
    plays: str
    expected: float
    got: float | None
    max_score: float
    feedback_files: int

    @property
    def ok(self) -> bool:
        return self.got == self.expected and self.feedback_files > 0


@dataclass
class DemoResult:
    home: Path
    rows: list[DemoRow] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)


def _cast(course: Course, assignment: str) -> list[tuple[str, str, dict | None, float | None]]:
    """(learner, what they play, answers or None for the untouched release, expected score)."""
    cast: list[tuple[str, str, dict | None, float | None]] = [
        ("ada", "reference solution", {}, None),
        ("ben", "untouched release", None, 0.0)]
    mistakes = fixtures_for(course.fixtures_dir, assignment)
    if mistakes:
        cast.append(("cy", f"fixture {mistakes[0].name}", mistakes[0].answers,
                     mistakes[0].expected_score))
    return cast


def run_cycle(instance: Instance, course: Course, assignment: str) -> list[DemoRow]:
    """The whole cycle for one assignment; returns one row per simulated learner."""
    config = instance.config(course)
    workflow.release(config, assignment)
    sources = {p.name: nbformat.read(p, as_version=4) for p in course.notebooks(assignment)}
    cast = _cast(course, assignment)
    learners = {}
    for name, _, answers, _ in cast:
        learner = Learner(name, course.name, instance.exchange_root,
                          instance.home / "learners" / name / course.name)
        notebooks = learner.fetch(assignment)
        if answers is not None:
            notebooks = {n: answered(nb, sources[n], answers) for n, nb in notebooks.items()}
        learner.submit(assignment, notebooks)
        learners[name] = learner
    workflow.collect(config, assignment)
    grade_assignment(config, assignment, force=True)
    workflow.feedback(config, assignment)
    root = instance.course_root(course)
    scores = read_scores(f"sqlite:///{root / 'gradebook.db'}", course.name, assignment)
    rows = []
    for name, plays, _, expected in cast:
        got = scores.get(name)
        full = next(iter(scores.values())).max_auto_score if scores else 0.0
        rows.append(DemoRow(course.name, assignment, name, plays,
                            full if expected is None else expected,
                            got.auto_score if got else None, full,
                            len(learners[name].fetch_feedback(assignment))))
    return rows


def render(rows: list[DemoRow]) -> str:
    return table(["course", "assignment", "learner", "plays", "score", "expected", "feedback",
                  "verdict"],
                 [[r.course, r.assignment, r.learner, r.plays,
                   "failed" if r.got is None else f"{r.got:g}/{r.max_score:g}",
                   f"{r.expected:g}", f"{r.feedback_files} file(s)",
                   "ok" if r.ok else "WRONG"] for r in rows])


def run_demo(home: str | Path | None = None, *, selection=None, echo=print) -> DemoResult:
    """Run the cycle for every assignment (or ``selection``) and print the grade table."""
    with tempfile.TemporaryDirectory(prefix="poc2prod-demo-") as tmp:
        instance = Instance(Path(home or tmp).resolve())
        result = DemoResult(instance.home)
        for course, assignment in selection or select():
            echo(f"cycle: {course.name}/{assignment}")
            result.rows += run_cycle(instance, course, assignment)
        for course in sorted({c for c, _ in selection or select()}, key=lambda c: c.name):
            result.exports.append(workflow.export(
                instance.config(course), instance.home / "exports" / f"{course.name}.csv"))
            result.reports.append(write_report(collect(instance.config(course)),
                                               instance.home / "reports" / course.name))
        echo(render(result.rows))
        if home:
            echo("reports: " + ", ".join(str(p) for p in result.reports))
        echo("demo: every grade as expected" if result.ok else "demo: SOME GRADES ARE WRONG")
        return result
