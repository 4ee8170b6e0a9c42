"""Which submissions need grading: content digests and a ledger of what was graded.

A submission is graded again only when its content changed (or with ``force``). The ledger
lives in the course folder, next to nbgrader's own state, and is written atomically, so a
grader killed at any moment leaves either the old or the new record, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".poc2prod"


@dataclass(frozen=True)
class Submission:
    """One learner's submitted folder for one assignment."""

    student: str
    assignment: str
    folder: Path
    digest: str


def digest_folder(folder: Path) -> str:
    """sha256 over every file's relative path and bytes: changes when any content changes.

    Symlinks count by their target's name, never by the content they point at.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_symlink()):
        h.update(str(path.relative_to(folder)).encode() + b"\0->" + os.readlink(path).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def find_submissions(course_root: Path, assignment: str,
                     students: list[str] | None = None) -> list[Submission]:
    """Submissions under ``submitted/*/<assignment>``, optionally only some students."""
    found = []
    for folder in sorted((course_root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if folder.is_dir() and (students is None or student in students):
            found.append(Submission(student, assignment, folder, digest_folder(folder)))
    return found


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` in one rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Ledger:
    """student -> digest of the submission last graded successfully, for one assignment."""

    def __init__(self, course_root: Path, assignment: str):
        self.path = course_root / STATE_DIR / "graded" / f"{assignment}.json"
        self.records: dict[str, str] = (json.loads(self.path.read_text())
                                        if self.path.exists() else {})

    def is_current(self, submission: Submission) -> bool:
        return self.records.get(submission.student) == submission.digest

    def record(self, submission: Submission) -> None:
        self.records[submission.student] = submission.digest
        write_atomically(self.path, json.dumps(self.records, indent=1, sort_keys=True).encode())

    def forget(self, student: str) -> None:
        if self.records.pop(student, None) is not None:
            write_atomically(self.path, json.dumps(self.records, indent=1,
                                                   sort_keys=True).encode())


class OutcomeLog:
    """student -> the last grading outcome (status, reason, seconds), for reports."""

    def __init__(self, course_root: Path, assignment: str):
        self.path = course_root / STATE_DIR / "outcomes" / f"{assignment}.json"
        self.records: dict[str, dict] = (json.loads(self.path.read_text())
                                         if self.path.exists() else {})

    def write(self, outcomes) -> None:
        for outcome in outcomes:
            if outcome.status != "skipped":
                self.records[outcome.student] = {"status": outcome.status,
                                                 "reason": outcome.reason,
                                                 "seconds": round(outcome.seconds, 3)}
        write_atomically(self.path, json.dumps(self.records, indent=1, sort_keys=True).encode())
