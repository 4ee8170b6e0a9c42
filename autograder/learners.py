"""A learner's side of the exchange, for simulated learners (demo, tests): fetch, submit.

It drives nbgrader's own exchange classes with the learner's identity, exactly what the
Assignment List in JupyterLab does for a real learner.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from nbgrader.utils import capture_log
from traitlets.config import Config

from .nbgrader_ops import run_step


class Learner:
    """One learner of one course, with a working folder of their own."""

    def __init__(self, student_id: str, course_id: str, exchange_root: Path, workdir: Path):
        self.student_id = student_id
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        c = Config()
        c.CourseDirectory.course_id = course_id
        c.CourseDirectory.student_id = student_id
        c.Exchange.root = str(exchange_root)
        c.Exchange.assignment_dir = str(self.workdir)
        c.Exchange.cache = str(self.workdir / ".nbgrader_cache")  # per learner, as per home
        self.config = c

    def _run(self, step: str, assignment: str) -> str:
        coursedir = CourseDirectory(config=self.config)
        coursedir.assignment_id = assignment
        factory = ExchangeFactory(config=self.config)
        cls = {"fetch_assignment": factory.FetchAssignment, "submit": factory.Submit,
               "fetch_feedback": factory.FetchFeedback}[step]
        app = cls(coursedir=coursedir, authenticator=Authenticator(config=self.config),
                  config=self.config)
        return run_step(step, capture_log(app))

    def fetch(self, assignment: str) -> dict[str, NotebookNode]:
        """Fetch the released assignment; returns its notebooks by file name."""
        self._run("fetch_assignment", assignment)
        return {p.name: nbformat.read(p, as_version=4)
                for p in sorted((self.workdir / assignment).glob("*.ipynb"))}

    def submit(self, assignment: str, notebooks: dict[str, NotebookNode]) -> None:
        """Save the given notebooks over the fetched ones and submit the assignment."""
        for name, nb in notebooks.items():
            nbformat.write(nb, self.workdir / assignment / name)
        self._run("submit", assignment)

    def fetch_feedback(self, assignment: str) -> list[Path]:
        """Fetch released feedback; returns the HTML files received."""
        self._run("fetch_feedback", assignment)
        return sorted((self.workdir / assignment / "feedback").rglob("*.html"))
