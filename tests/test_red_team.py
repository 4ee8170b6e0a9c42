"""Red team: hostile and broken submissions graded in one batch with the honest controls.

Each case's asserted outcome is in tests/red_team.py. Beyond each case: every control keeps
its score, the batch finishes, and the source, gradebook-adjacent files and every other
submission are byte-identical before and after (the gradebook itself only gains grades).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import warnings
from pathlib import Path

import pytest

from autograder.courses import stock_course_config
from autograder.grading import grade_assignment, read_scores

from .conftest import BIN, STOCK_COURSE
from .red_team import (
    CASES,
    CONTROLS,
    COURSE_CONFIG,
    EXACT,
    FLAGGED,
    FLAGGED_OR_AT_MOST_WRONG,
    SECRET_ENV,
    WRONG,
    populate,
    tree_digest,
)

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # one batch for the whole module
SECRET = "hunter2-red-team"


class _Listener:
    """A TCP server on the grader's loopback that records whatever connects to it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.sock.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                self.received.append(conn.recv(100) or b"<connected>")

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every case and control once; yields what the assertions need."""
    root = tmp_path_factory.mktemp("red") / "course"
    shutil.copytree(STOCK_COURSE, root)
    (root / "nbgrader_config.py").write_text(COURSE_CONFIG)
    subprocess.run([BIN / "nbgrader", "generate_assignment", "ps1", "--force"], cwd=root,
                   check=True, capture_output=True)
    marker = Path(f"/tmp/poc2prod-red-team-{os.getpid()}")
    listener = _Listener()
    ctx = {"root": root, "marker": marker, "port": listener.port, "grader_pid": os.getpid()}
    names = populate(root, ctx)
    before = {"source": tree_digest(root / "source"),
              "submitted": tree_digest(root / "submitted")}
    os.environ[SECRET_ENV] = SECRET
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not in session.*")  # as in conftest
        outcomes = {o.student: o for o in grade_assignment(stock_course_config(root), "ps1",
                                                           workers=2)}
    os.environ.pop(SECRET_ENV, None)
    listener.close()
    scores = read_scores(f"sqlite:///{root / 'gradebook.db'}", "default_course", "ps1")
    yield {"root": root, "names": names, "outcomes": outcomes, "before": before,
           "scores": {s: v.auto_score for s, v in scores.items()}, "marker": marker,
           "listener": listener}
    marker.unlink(missing_ok=True)


def _outputs(root: Path, student: str) -> str:
    path = root / "autograded" / student / "ps1" / "problem1.ipynb"
    if not path.exists():
        return ""
    nb = json.loads(path.read_text())
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def test_the_batch_finishes_and_every_submission_has_an_outcome(batch):
    assert sorted(batch["outcomes"]) == sorted(batch["names"])
    for outcome in batch["outcomes"].values():
        assert outcome.status in ("graded", "failed")
        if outcome.status == "failed":
            assert outcome.reason and "no detail" not in outcome.reason, outcome


@pytest.mark.parametrize("name", list(CONTROLS))
def test_controls_keep_their_scores(batch, name):
    assert batch["outcomes"][name].status == "graded"
    assert batch["scores"][name] == CONTROLS[name][1]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_hostile_submission_gets_its_outcome(batch, case):
    outcome = batch["outcomes"][case.name]
    score = batch["scores"].get(case.name)
    if case.outcome == EXACT:
        assert outcome.status == "graded" and score == case.score, (outcome, score)
    elif case.outcome == FLAGGED:
        assert outcome.status == "failed", (outcome, score)
        assert case.reason_words in outcome.reason, outcome.reason
    elif case.outcome == FLAGGED_OR_AT_MOST_WRONG:
        assert outcome.status == "failed" or (score is not None and score <= WRONG), \
            (outcome, score)
    else:
        assert outcome.status == "graded" and score is not None and score <= WRONG, \
            (outcome, score)


def test_nothing_outside_the_sandbox_changed(batch):
    root = batch["root"]
    assert tree_digest(root / "source") == batch["before"]["source"]
    assert tree_digest(root / "submitted") == batch["before"]["submitted"]
    assert not batch["marker"].exists()
    assert batch["listener"].received == []


def test_no_secret_or_hidden_test_reaches_the_learners_output(batch):
    root = batch["root"]
    for name in ("read_environment", "read_hidden_tests", "symlink_to_gradebook"):
        text = _outputs(root, name)
        assert text, f"{name} was graded and has outputs"
        assert SECRET not in text and SECRET_ENV not in text
        assert "squares(6)" not in text  # the hidden test's text
    assert "blocked" in _outputs(root, "read_hidden_tests")


def test_output_flood_is_capped(batch):
    path = batch["root"] / "autograded" / "output_flood" / "ps1" / "problem1.ipynb"
    assert path.stat().st_size < 10 * 2**20
    assert "output beyond" in path.read_text()


def test_honest_stderr_keeps_its_points_unlike_stock(batch):
    assert batch["scores"]["control_stderr"] == CONTROLS["control_stderr"][1] == 5.0
