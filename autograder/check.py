"""Assignment QA before release, with nbgrader's real pipeline.

For each assignment, in a throwaway instance: the source notebooks are committed without
outputs; the release holds no solution, hidden test or rubric; the reference solution earns
every autograded point; the untouched release earns zero without breaking the grader; each
typical-mistake fixture earns the score it documents; the reference runs within budget.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from .courses import Course, Instance
from .grading import grade_assignment, read_scores
from .leaks import find_leaks
from .nbgrader_ops import StepFailed, make_api, run_step
from .submissions import answered, fixtures_for, write_submission

TIME_BUDGET_S = 60.0
REFERENCE, STUB = "reference", "stub"


@dataclass
class CheckResult:
    """The verdict on one assignment, with every problem in words."""

    course: str
    assignment: str
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        head = f"{status} {self.course}/{self.assignment}"
        body = "; ".join(self.problems if self.problems else self.facts)
        return f"{head}: {body} [{self.seconds:.1f} s]"


def unclean_cells(notebook_path: Path) -> list[str]:
    """Code cells of a committed notebook that still carry outputs or execution counts."""
    nb = nbformat.read(notebook_path, as_version=4)
    return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id", str(i))
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]


def _lost_points(cells: dict[str, float | None], reference: dict[str, float | None]) -> str:
    return ", ".join(f"{k} ({v or 0:g} of {reference.get(k) or 0:g})"
                     for k, v in cells.items() if (v or 0) < (reference.get(k) or 0))


def check_assignment(course: Course, assignment: str, *,
                     time_budget: float = TIME_BUDGET_S) -> CheckResult:
    """Run every QA step on one assignment; never raises for a broken assignment."""
    result = CheckResult(course.name, assignment)
    started = time.perf_counter()
    try:
        _check(course, assignment, result, time_budget)
    except StepFailed as error:
        result.problems.append(f"nbgrader {error.step} failed: {error.detail.strip()[-300:]}")
    result.seconds = time.perf_counter() - started
    return result


def _check(course: Course, assignment: str, result: CheckResult, time_budget: float) -> None:
    notebooks = course.notebooks(assignment)
    if not notebooks:
        result.problems.append("no notebook in the source folder")
        return
    for path in notebooks:
        dirty = unclean_cells(path)
        if dirty:
            result.problems.append(f"{path.name} committed with outputs in {', '.join(dirty)}")

    with tempfile.TemporaryDirectory(prefix="poc2prod-check-") as tmp:
        config = Instance(Path(tmp)).config(course)
        api = make_api(config)
        run_step("generate_assignment", api.generate_assignment(assignment))
        root = Path(api.coursedir.root)
        release_dir = root / "release" / assignment

        sources = {p.name: nbformat.read(p, as_version=4) for p in notebooks}
        releases = {n: nbformat.read(release_dir / n, as_version=4) for n in sources}
        for name in sources:
            result.problems += [f"{name}: {leak}" for leak in find_leaks(sources[name],
                                                                          releases[name])]
        fixtures = fixtures_for(course.fixtures_dir, assignment)
        learners = {REFERENCE: {}, STUB: None} | {f.name: f.answers for f in fixtures}
        for learner, answers in learners.items():
            nbs = releases if answers is None else {
                n: answered(releases[n], sources[n], answers) for n in sources}
            write_submission(root / "submitted" / learner / assignment, nbs)

        outcomes = {o.student: o for o in grade_assignment(config, assignment)}
        for outcome in outcomes.values():
            if outcome.status != "graded":
                result.problems.append(f"{outcome.student} not graded: {outcome.reason}")
        scores = read_scores(api.coursedir.db_url, course.name, assignment)
        if REFERENCE not in scores or STUB not in scores:
            return
        ref, stub = scores[REFERENCE], scores[STUB]
        full = ref.max_auto_score
        if ref.auto_score != full:
            result.problems.append(f"reference solution scored {ref.auto_score:g}/{full:g}, lost "
                                   + _lost_points(ref.cells, _full_marks(api, assignment)))
        if stub.auto_score != 0:
            earned = ", ".join(k for k, v in stub.cells.items() if v)
            result.problems.append(f"untouched release scored {stub.auto_score:g}/{full:g} "
                                   f"(points without any answer in {earned})")
        for fixture in fixtures:
            got = scores.get(fixture.name)
            if got is not None and got.auto_score != fixture.expected_score:
                result.problems.append(f"fixture {fixture.name} scored {got.auto_score:g}, "
                                       f"its file documents {fixture.expected_score:g}")
        seconds = outcomes[REFERENCE].seconds
        if seconds > time_budget:
            result.problems.append(f"reference took {seconds:.1f} s, budget {time_budget:g} s")
        result.facts = [f"reference {ref.auto_score:g}/{full:g}"
                        + (f" (+{ref.manual_pending:g} graded by hand)" if ref.manual_pending
                           else ""),
                        f"stub {stub.auto_score:g}/{full:g}",
                        f"{len(fixtures)} fixture(s) as documented",
                        "no leak",
                        f"runs in {seconds:.1f} s"]


def _full_marks(api, assignment: str) -> dict[str, float]:
    """Points of every graded cell of the assignment, keyed like SubmissionScore.cells."""
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        return {f"{notebook.name}/{cell.name}": cell.max_score
                for notebook in gradebook.find_assignment(assignment).notebooks
                for cell in notebook.grade_cells}


def check(selection: list[tuple[Course, str]], *, time_budget: float = TIME_BUDGET_S,
          echo=print) -> list[CheckResult]:
    """Check each (course, assignment), printing one line per assignment as it finishes."""
    results = []
    for course, assignment in selection:
        result = check_assignment(course, assignment, time_budget=time_budget)
        echo(result.line())
        results.append(result)
    return results
