"""Learner submissions made from the instructor's source: reference, stub and fixtures.

A fixture is a small TOML file next to the course (``<course>/fixtures/<assignment>/*.toml``)
holding a realistic answer for some solution cells and the autograded score it must get;
solution cells it does not mention keep the reference solution.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

SOLUTION_REGION = re.compile(r"^[ \t]*(###|===) (BEGIN|END) SOLUTION( ===)?[ \t]*\n?",
                             re.MULTILINE)


@dataclass(frozen=True)
class Fixture:
    """A simulated learner: which answers they give and the score those answers earn."""

    name: str
    description: str
    expected_score: float
    answers: dict[str, str] = field(default_factory=dict)


def load_fixture(path: str | Path) -> Fixture:
    path = Path(path)
    data = tomllib.loads(path.read_text())
    missing = {"description", "expected_score", "answers"} - set(data)
    if missing:
        raise ValueError(f"fixture {path} lacks {sorted(missing)}")
    answers = {k: v.strip("\n") for k, v in data["answers"].items()}
    return Fixture(path.stem, data["description"], float(data["expected_score"]), answers)


def fixtures_for(fixtures_dir: Path, assignment: str) -> list[Fixture]:
    return [load_fixture(p) for p in sorted((fixtures_dir / assignment).glob("*.toml"))]


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def reference_answer(source_cell: NotebookNode) -> str:
    """The source cell's content with the solution markers removed."""
    return SOLUTION_REGION.sub("", source_cell.source)


def answered(release: NotebookNode, source: NotebookNode,
             answers: dict[str, str] | None = None) -> NotebookNode:
    """The release notebook as a learner would hand it in: solution cells filled in.

    Each solution cell gets ``answers[grade_id]`` if given, else the reference solution.
    """
    answers = dict(answers or {})
    reference = {grade_id(c): c for c in source.cells if is_solution(c)}
    unknown = set(answers) - set(reference)
    if unknown:
        raise KeyError(f"answers for cells that are not solution cells: {sorted(unknown)}")
    filled = copy.deepcopy(release)
    for cell in filled.cells:
        if is_solution(cell) and grade_id(cell) in reference:
            gid = grade_id(cell)
            cell.source = answers.get(gid, reference_answer(reference[gid]))
    return filled


def write_submission(folder: Path, notebooks: dict[str, NotebookNode],
                     timestamp: str | None = None) -> Path:
    """Write notebooks (file name -> notebook) as one submission folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder
