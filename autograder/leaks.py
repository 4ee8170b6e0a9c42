"""Find instructor-only text (solutions, hidden tests, rubrics) in a learner's release."""

from __future__ import annotations

import re

from nbformat.notebooknode import NotebookNode

# Lenient on purpose: a misspelled marker ("BEGIN HIDDEN TEST") is exactly the kind of
# mistake that makes nbgrader ship the hidden tests, so it must still be recognised here.
MARKER = re.compile(r"\b(BEGIN|END)\s+(SOLUTION|HIDDEN|MARK\s+SCHEME)", re.IGNORECASE)
BEGIN = re.compile(r"\bBEGIN\s+(SOLUTION|HIDDEN|MARK\s+SCHEME)", re.IGNORECASE)
END = re.compile(r"\bEND\s+(SOLUTION|HIDDEN|MARK\s+SCHEME)", re.IGNORECASE)
MIN_SECRET_LENGTH = 6


def _normal(line: str) -> str:
    return " ".join(line.split())


def split_secret(cell: NotebookNode) -> tuple[set[str], set[str]]:
    """(secret lines, public lines) of one source cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    lines = cell.source.splitlines()
    whole_cell_secret = (cell.cell_type == "markdown" and meta.get("solution")
                         and not any(BEGIN.search(line) for line in lines))
    secret, public, depth = set(), set(), 0
    for line in lines:
        if BEGIN.search(line):
            depth += 1
        elif END.search(line):
            depth = max(depth - 1, 0)
        elif depth or whole_cell_secret:
            secret.add(_normal(line))
        else:
            public.add(_normal(line))
    return secret, public


def find_leaks(source: NotebookNode, release: NotebookNode) -> list[str]:
    """Describe every marker or secret line of ``source`` that appears in ``release``."""
    secret, public = set(), set()
    for cell in source.cells:
        s, p = split_secret(cell)
        secret |= s
        public |= p
    secret = {s for s in secret - public if len(s) >= MIN_SECRET_LENGTH}
    leaks = []
    for index, cell in enumerate(release.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {index}")
        for line in cell.source.splitlines():
            if MARKER.search(line):
                leaks.append(f"{gid}: marker left in the release: {line.strip()!r}")
            elif _normal(line) in secret:
                leaks.append(f"{gid}: instructor-only line in the release: {line.strip()!r}")
    return leaks
