"""The red-team suite (tests/red_team.py) against stock ``nbgrader autograde`` and ours.

    .venv/bin/python benchmarks/red_team.py [--markdown]

Each case is graded in its own throwaway copy of the tiny course, together with the honest
controls, once by stock nbgrader and once by ``poc2prod grade``, and described in one row:
the case's score or failure, whether the controls kept their scores, and whether anything
outside the learner's folder changed. Cases that would harm the machine when run without
isolation (fork and memory bombs, killing every process) are not run on stock nbgrader.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.courses import stock_course_config  # noqa: E402
from autograder.grading import grade_assignment, read_scores  # noqa: E402
from tests.red_team import (  # noqa: E402
    CASES,
    CONTROLS,
    COURSE_CONFIG,
    SECRET_ENV,
    populate,
    tree_digest,
)

BIN = Path(sys.executable).parent
STOCK_COURSE = REPO / "tests" / "fixtures" / "stock_course"
HARMS_HOST = {"fork_bomb": "fork bomb on the host", "memory_bomb": "exhausts the host's memory",
              "kill_every_process": "kills every process of the grading user"}


def _course(tmp: Path, case: str) -> tuple[Path, dict]:
    root = tmp / case
    shutil.copytree(STOCK_COURSE, root)
    (root / "nbgrader_config.py").write_text(COURSE_CONFIG)
    subprocess.run([BIN / "nbgrader", "generate_assignment", "ps1", "--force"], cwd=root,
                   check=True, capture_output=True)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    ctx = {"root": root, "marker": tmp / f"{case}.marker", "port": listener.getsockname()[1],
           "grader_pid": 0, "listener": listener}
    return root, ctx


def _keep_only(root: Path, names: set[str]) -> None:
    for folder in (root / "submitted").iterdir():
        if folder.name not in names:
            shutil.rmtree(folder)


def _run(case_name: str, tmp: Path, grader: str) -> str:
    root, ctx = _course(tmp / grader, case_name)
    populate(root, ctx)
    _keep_only(root, set(CONTROLS) | {case_name})
    before = tree_digest(root / "source")
    env = dict(os.environ, **{SECRET_ENV: "hunter2"},
               PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if grader == "stock":
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run([BIN / "nbgrader", "autograde", "ps1"], cwd=root, env=env,
                           capture_output=True, timeout=300)
        failed = {}
    else:
        os.environ[SECRET_ENV] = "hunter2"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes = grade_assignment(stock_course_config(root), "ps1", workers=2)
        os.environ.pop(SECRET_ENV)
        failed = {o.student: o.reason for o in outcomes if o.status == "failed"}
    scores = {s: v.auto_score for s, v in read_scores(
        f"sqlite:///{root / 'gradebook.db'}", "default_course", "ps1").items()}
    try:
        ctx["listener"].accept()
        leaked_network = True
    except OSError:
        leaked_network = False
    ctx["listener"].close()
    harm = []
    if tree_digest(root / "source") != before:
        harm.append("source changed")
    if Path(ctx["marker"]).exists():
        harm.append("file written outside")
    if leaked_network:
        harm.append("reached the network")
    graded = root / "autograded" / case_name / "ps1" / "problem1.ipynb"
    outputs = graded.read_text() if graded.exists() else ""
    if "hunter2" in outputs:
        harm.append("read the grader's secrets")
    if case_name == "read_hidden_tests" and outputs.count("squares(6)") > 1:
        harm.append("read the hidden tests")
    if case_name == "symlink_to_gradebook" and graded.exists() and "blocked" not in outputs:
        harm.append("read the gradebook")
    big = [p for p in (root / "autograded").rglob("*") if p.is_file() and p.stat().st_size > 50e6]
    if big:
        harm.append(f"left {sum(p.stat().st_size for p in big) / 1e6:.0f} MB in autograded/")
    controls_ok = all(scores.get(name) == (ours if grader == "ours" else stock)
                      for name, (_, ours, stock) in CONTROLS.items())
    if not controls_ok:
        harm.append("other learners' grades changed")
    if case_name in failed:
        verdict = f"flagged: {failed[case_name].split(';')[0]}"
    elif case_name in scores:
        verdict = f"{scores[case_name]:g}/5"
    else:
        verdict = "not graded, no reason given"
    return verdict + ("; " + ", ".join(harm) if harm else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    args = parser.parse_args()
    print("| Case | What the submission does | stock nbgrader 0.9.6 | poc2prod grade |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="poc2prod-red-team-") as tmp:
        tmp = Path(tmp)
        for case in CASES:
            if args.case and case.name not in args.case:
                continue
            stock = (f"not run: {HARMS_HOST[case.name]}" if case.name in HARMS_HOST
                     else _run(case.name, tmp, "stock"))
            ours = _run(case.name, tmp, "ours")
            print(f"| `{case.name}` | {case.what} | {stock} | {ours} |", flush=True)


if __name__ == "__main__":
    main()
