"""Build nbgrader notebooks from Python: one call per cell, metadata always complete.

An instructor (or a script) writes an assignment as a list of cells; `write_notebook`
saves it with outputs cleared. The committed ``.ipynb`` stays the single source of truth;
this module only saves typing the nbgrader metadata by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

SCHEMA_VERSION = 3


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0,
          task: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": task}
    if grade or task:
        meta["points"] = points
    return {"nbgrader": meta}


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def markdown(text: str, *, grade_id: str) -> NotebookNode:
    """A locked narrative cell."""
    return nbformat.v4.new_markdown_cell(
        _clean(text), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def given(source: str, *, grade_id: str) -> NotebookNode:
    """A locked code cell the learner runs but does not edit (data loading, plots)."""
    return nbformat.v4.new_code_cell(
        _clean(source), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def solution(source: str, *, grade_id: str) -> NotebookNode:
    """An answer cell; the ``### BEGIN/END SOLUTION`` region is stripped in the release."""
    src = _clean(source)
    if "### BEGIN SOLUTION" not in src:
        raise ValueError(f"solution cell {grade_id!r} has no '### BEGIN SOLUTION' region")
    return nbformat.v4.new_code_cell(
        src, metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def tests(source: str, *, grade_id: str, points: float) -> NotebookNode:
    """A locked, autograded test cell; hidden tests go between ``### BEGIN/END HIDDEN TESTS``."""
    return nbformat.v4.new_code_cell(
        _clean(source),
        metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points))


def written(answer: str, *, grade_id: str, points: float) -> NotebookNode:
    """A manually graded written answer; the source holds the rubric and a model answer."""
    return nbformat.v4.new_markdown_cell(
        _clean(answer), metadata=_meta(grade_id, grade=True, solution=True, locked=False,
                                       points=points))


def write_notebook(cells: list[NotebookNode], path: str | Path) -> Path:
    """Save cells as a Python 3 notebook with no outputs, checking grade ids are unique."""
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate grade ids: {duplicates}")
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path
