"""Submissions kept immutably, and the trusted copy nbgrader grades.

Each submitted folder is copied once into a content-addressed store
(``.poc2prod/store/<sha256>/``, read-only, with a manifest of every file's sha256 and
the time the grader first saw it). nbgrader then grades a staged copy
(``.poc2prod/staged/<student>/<assignment>/``), never the learner's folder itself:

- only regular files are copied: a symlink (to the gradebook, to the solution) is dropped;
- a grade id that appears twice (a cell copied by accident) keeps its first cell; the
  copies lose their nbgrader marks and run as ordinary code, instead of failing the batch;
- ``timestamp.txt`` holds the *effective* submission time: the learner's own claim,
  except where the grader's records prove it false (see ``effective_time``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .plan import STATE_DIR, Submission, write_atomically

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
STAGED = f"{STATE_DIR}/staged"


@dataclass
class Stored:
    """A submission as graded: the staged folder, its times and what was repaired."""

    submission: Submission
    folder: Path
    received_at: datetime
    claimed_at: datetime | None
    effective_at: datetime
    notes: list[str] = field(default_factory=list)


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_timestamp(text: str) -> datetime | None:
    """A ``timestamp.txt`` as nbgrader writes it, or None if it cannot be read."""
    from nbgrader.utils import parse_utc

    try:
        moment = parse_utc(text.strip())
    except Exception:  # noqa: BLE001 - any unreadable claim counts as no claim
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def effective_time(claimed: datetime | None, received: datetime,
                   previous: datetime | None) -> tuple[datetime, list[str]]:
    """The submission time to grade with, and why it differs from the claim.

    ``received``: when the grader first saw this content (it cannot be later).
    ``previous``: when the grader saw this learner's previous, different content (this
    one was handed in after it). Within those bounds the learner's claim stands.
    """
    notes = []
    if claimed is None:
        notes.append(f"no readable timestamp.txt: using the time the grader first saw it "
                     f"({_format(received)})")
        claimed = received
    effective = claimed
    if effective > received:
        notes.append(f"timestamp.txt claims {_format(claimed)}, after the grader first saw "
                     f"this content at {_format(received)}: using the latter")
        effective = received
    if previous is not None and effective < previous:
        notes.append(f"timestamp.txt claims {_format(claimed)}, but the grader still held "
                     f"different content at {_format(previous)}: using the latter")
        effective = previous
    return effective, notes


def _repair_duplicate_ids(path: Path) -> list[str]:
    """Strip nbgrader marks from later copies of a grade id (and give copied cells their
    own cell id); returns the grade ids repaired."""
    try:
        nb = json.loads(path.read_text())
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return []  # unreadable: nbgrader reports it in its own words
    seen, repaired, cell_ids = set(), [], set()
    for cell in cells:
        if isinstance(cell, dict) and "id" in cell:  # a copied cell also copies its cell id
            while cell["id"] in cell_ids:
                cell["id"] = uuid.uuid4().hex[:8]
                repaired.append(None)
            cell_ids.add(cell["id"])
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        grade_id = meta.get("nbgrader", {}).get("grade_id") if isinstance(meta, dict) else None
        if grade_id is None:
            continue
        if grade_id in seen:
            meta.pop("nbgrader")
            repaired.append(grade_id)
        seen.add(grade_id)
    if repaired:
        path.write_text(json.dumps(nb, indent=1))
    return [gid for gid in repaired if gid is not None]


class SubmissionStore:
    """The content-addressed store and the staged copies of one course folder."""

    def __init__(self, course_root: Path):
        self.root = course_root
        self.store = course_root / STATE_DIR / "store"
        self.staged = course_root / STAGED

    def _history_path(self, submission: Submission) -> Path:
        return self.store / "history" / submission.assignment / f"{submission.student}.json"

    def _keep(self, submission: Submission, now: datetime) -> dict:
        """Copy the submission into the store once; its manifest."""
        manifest_path = self.store / f"{submission.digest}.json"
        if manifest_path.exists():
            return json.loads(manifest_path.read_text())
        target = self.store / submission.digest
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        files, dropped = {}, []
        for path in sorted(submission.folder.rglob("*")):
            relative = path.relative_to(submission.folder)
            if path.is_symlink():
                dropped.append(str(relative))
            elif path.is_file():
                copy = partial / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
                copy.chmod(0o444)
                files[str(relative)] = hashlib.sha256(copy.read_bytes()).hexdigest()
        partial.mkdir(parents=True, exist_ok=True)
        for folder in sorted(partial.rglob("*"), reverse=True):
            if folder.is_dir():
                folder.chmod(0o555)
        if target.exists():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.rename(target)
        manifest = {"student": submission.student, "assignment": submission.assignment,
                    "digest": submission.digest, "received_at": _format(now),
                    "files": files, "dropped_symlinks": dropped}
        write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
        return manifest

    def _previous(self, submission: Submission, received: datetime) -> datetime | None:
        """When the grader last held this learner's content other than this one."""
        path = self._history_path(submission)
        history = json.loads(path.read_text()) if path.exists() else []
        if not history or history[-1]["digest"] != submission.digest:
            history.append({"digest": submission.digest, "received_at": _format(received)})
            write_atomically(path, json.dumps(history, indent=1).encode())
        earlier = [parse_timestamp(h["received_at"]) for h in history
                   if h["digest"] != submission.digest]
        earlier = [t for t in earlier if t is not None and t <= received]
        return max(earlier) if earlier else None

    def stage(self, submission: Submission, now: datetime | None = None) -> Stored:
        """Store the submission (once) and rebuild the copy nbgrader will grade."""
        now = now or datetime.now(UTC)
        manifest = self._keep(submission, now)
        received = parse_timestamp(manifest["received_at"])
        stored = self.store / submission.digest
        claim = stored / "timestamp.txt"
        claimed = parse_timestamp(claim.read_text(errors="replace")) if claim.exists() else None
        effective, notes = effective_time(claimed, received,
                                          self._previous(submission, received))
        notes += [f"symlink {name} ignored (only files are graded)"
                  for name in manifest["dropped_symlinks"]]
        folder = self.staged / submission.student / submission.assignment
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(stored, folder, copy_function=shutil.copyfile)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        for notebook in sorted(folder.glob("*.ipynb")):
            notes += [f"grade id {gid!r} appears twice in {notebook.name} (a copied cell): "
                      "the copy was run as ordinary code"
                      for gid in _repair_duplicate_ids(notebook)]
        (folder / "timestamp.txt").write_text(_format(effective))
        return Stored(submission, folder, received, claimed, effective, notes)
