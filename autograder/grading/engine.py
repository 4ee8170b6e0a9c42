"""Grade an assignment: plan, execute in parallel (pool or Dask), score serially.

Execution needs no database, so it runs on many cores or machines; scores are written one
submission at a time by nbgrader's own converter (see score.py), so a SQLite gradebook never
sees concurrent writers and grades equal stock ``nbgrader autograde``. Each submission is
scored as soon as its notebooks are executed, and recorded in the ledger after that, so a
grader killed at any point loses nothing: run it again and it finishes the rest.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config

from ..nbgrader_ops import make_api
from .backends import make_backend
from .execute import ExecutionResult
from .failures import explain_failure
from .plan import Ledger, OutcomeLog, Submission, find_submissions
from .prepare import prepare_jobs
from .progress import Progress
from .results import Outcome
from .sandbox import require_sandbox
from .score import replaying_config, score_submission
from .store import STAGED, SubmissionStore


def _known_notebooks(db_url: str, course_id: str, assignment: str) -> set[str]:
    with Gradebook(db_url, course_id) as gradebook:
        try:
            return {nb.name for nb in gradebook.find_assignment(assignment).notebooks}
        except MissingEntry:
            return set()


class _Run:
    """State of one grading run: what is executing, what is waiting to be scored."""

    def __init__(self, config: Config, assignment: str, backend, progress: Progress,
                 sandboxed: bool):
        replay = replaying_config(config)
        replay.CourseDirectory.submitted_directory = STAGED  # grade the trusted copy
        self.api = make_api(replay)
        self.config, self.assignment = config, assignment
        self.root = Path(self.api.coursedir.root)
        self.ledger = Ledger(self.root, assignment)
        self.backend, self.progress, self.sandboxed = backend, progress, sandboxed
        self.pending: dict = {}  # future -> job
        self.store = SubmissionStore(self.root)
        self.waiting: dict[str, tuple[Submission, int, list[ExecutionResult]]] = {}
        self.notes: dict[str, list[str]] = {}
        self.outcomes: list[Outcome] = []
        self.known = _known_notebooks(self.api.coursedir.db_url, self.api.coursedir.course_id,
                                      assignment)

    def start(self, submission: Submission) -> None:
        try:
            stored = self.store.stage(submission)
            self.notes[submission.student] = stored.notes
            staged = replace(submission, folder=stored.folder)
            jobs = prepare_jobs(self.config, self.api.coursedir, staged, self.known,
                                sandboxed=self.sandboxed)
        except Exception:  # unreadable notebook: nbgrader's converter reports it in its words
            jobs = []
        self.waiting[submission.student] = (submission, len(jobs), [])
        for job in jobs:
            self.pending[self.backend.submit(job)] = job
        if not jobs:
            self.score(submission.student)

    def collect(self, *, block: bool) -> None:
        """Score what has finished; with ``block``, wait until everything has."""
        while self.pending:
            done = self.backend.wait(set(self.pending), block=block)
            if not done:
                return
            for future in done:
                job = self.pending.pop(future)
                try:
                    result = self.backend.result(future)
                except Exception as exc:  # the backend lost the task for good
                    result = ExecutionResult(job.student, job.assignment, job.notebook,
                                             job.digest, None, f"{type(exc).__name__}: {exc}",
                                             0.0)
                submission, expected, results = self.waiting[job.student]
                results.append(result)
                if len(results) == expected:
                    self.score(job.student)

    def score(self, student: str) -> None:
        submission, _, results = self.waiting.pop(student)
        started = time.perf_counter()
        outcome = score_submission(self.api, self.assignment, student, results)
        seconds = sum(r.seconds for r in results) + time.perf_counter() - started
        log = (outcome.get("log") or "") + (outcome.get("error") or "")
        graded = self.root / "autograded" / student / self.assignment
        notes = self.notes.pop(student, [])
        if outcome.get("success") and graded.exists():
            self.ledger.record(submission)
            self.outcomes.append(Outcome(student, "graded", "; ".join(notes), seconds))
        else:
            self.ledger.forget(student)
            reason = "; ".join([explain_failure(log), *notes])
            self.outcomes.append(Outcome(student, "failed", reason, seconds))
        self.progress.advance(student)


def grade_assignment(config: Config, assignment: str, *, students: list[str] | None = None,
                     force: bool = False, workers: int | None = None,
                     scheduler: str | None = None, progress: bool | None = None,
                     unsafe: bool = False) -> list[Outcome]:
    """Autograde the submissions of ``assignment``; one failure never stops the others.

    Unchanged submissions already graded are skipped unless ``force``. ``workers`` sets the
    local pool size (default: the cores); ``scheduler`` sends execution to a Dask cluster.
    Kernels run in the sandbox (raises SandboxUnavailable where it cannot be set up) unless
    ``unsafe``.
    """
    if not unsafe and scheduler is None:
        require_sandbox()
    root = Path(make_api(config).coursedir.root)
    submissions = find_submissions(root, assignment, students)
    ledger = Ledger(root, assignment)
    todo = [s for s in submissions if force or not ledger.is_current(s)]
    skipped = [Outcome(s.student, "skipped", "already graded and unchanged "
                                             "(use --force to grade again)")
               for s in submissions if s not in todo]
    if not todo:
        return skipped
    backend = make_backend(workers=workers, scheduler=scheduler)
    try:
        run = _Run(config, assignment, backend, Progress(len(todo), enabled=progress),
                   sandboxed=not unsafe)
        for submission in todo:
            run.start(submission)
            run.collect(block=False)
        run.collect(block=True)
    finally:
        backend.close()
    OutcomeLog(root, assignment).write(run.outcomes)
    return sorted(run.outcomes + skipped, key=lambda o: o.student)
