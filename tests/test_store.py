"""The submission store: immutable copies, trusted submission times, repaired copies."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from autograder.grading.plan import find_submissions
from autograder.grading.store import SubmissionStore, effective_time, parse_timestamp

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_learners_claim_stands_within_what_the_grader_saw():
    assert effective_time(T0, T0 + 48 * HOUR, None) == (T0, [])


def test_a_claim_after_the_grader_first_saw_the_content_is_capped():
    effective, notes = effective_time(T0 + 5 * HOUR, T0 + HOUR, None)
    assert effective == T0 + HOUR and "after the grader first saw" in notes[0]


def test_content_changed_after_an_earlier_version_cannot_claim_an_earlier_time():
    # the grader held version 1 at T0+2h; version 2 claims T0 (before the deadline)
    effective, notes = effective_time(T0, T0 + 30 * HOUR, T0 + 2 * HOUR)
    assert effective == T0 + 2 * HOUR and "different content" in notes[0]


def test_no_timestamp_means_the_time_the_grader_saw_it():
    effective, notes = effective_time(None, T0, None)
    assert effective == T0 and "no readable timestamp" in notes[0]


def _submit(root, student, text, stamp):
    folder = root / "submitted" / student / "ps1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answer.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text(stamp)
    return find_submissions(root, "ps1", [student])[0]


def test_store_keeps_every_version_read_only_and_stages_the_trusted_time(tmp_path):
    store = SubmissionStore(tmp_path)
    first = _submit(tmp_path, "ana", '{"v": 1}', "2026-01-10 09:00:00.000000 UTC")
    stored = store.stage(first, now=T0 + 2 * HOUR)
    assert stored.effective_at == T0 and stored.notes == []
    # ana edits after the deadline and backdates timestamp.txt
    second = _submit(tmp_path, "ana", '{"v": 2}', "2026-01-10 08:00:00.000000 UTC")
    stored = store.stage(second, now=T0 + 30 * HOUR)
    assert stored.effective_at == T0 + 2 * HOUR
    assert parse_timestamp((stored.folder / "timestamp.txt").read_text()) == T0 + 2 * HOUR
    # both versions are kept, byte for byte, read-only, with their sha256
    for submission, text in ((first, '{"v": 1}'), (second, '{"v": 2}')):
        kept = tmp_path / ".poc2prod" / "store" / submission.digest
        assert (kept / "answer.ipynb").read_text() == text
        assert not os.access(kept / "answer.ipynb", os.W_OK) or os.geteuid() == 0
        assert (kept / "answer.ipynb").stat().st_mode & 0o222 == 0
        manifest = json.loads((kept.parent / f"{submission.digest}.json").read_text())
        assert set(manifest["files"]) == {"answer.ipynb", "timestamp.txt"}
    # the learner's own folder is never modified
    assert (tmp_path / "submitted" / "ana" / "ps1" / "timestamp.txt").read_text() \
        == "2026-01-10 08:00:00.000000 UTC"


def test_staging_is_idempotent_for_unchanged_content(tmp_path):
    store = SubmissionStore(tmp_path)
    submission = _submit(tmp_path, "ben", "{}", "2026-01-10 09:00:00.000000 UTC")
    a = store.stage(submission, now=T0 + HOUR)
    b = store.stage(submission, now=T0 + 99 * HOUR)
    assert a.received_at == b.received_at == T0 + HOUR


def test_symlinks_are_never_copied(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    submission = _submit(tmp_path, "cy", "{}", "2026-01-10 09:00:00.000000 UTC")
    (submission.folder / "grades.db").symlink_to(secret)
    submission = find_submissions(tmp_path, "ps1", ["cy"])[0]
    stored = SubmissionStore(tmp_path).stage(submission)
    assert not (stored.folder / "grades.db").exists()
    assert any("symlink grades.db ignored" in n for n in stored.notes)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-45 99:00:00 UTC"])
def test_unreadable_timestamps_count_as_none(text):
    assert parse_timestamp(text) is None
