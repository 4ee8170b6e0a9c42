"""``poc2prod lab``: JupyterLab on 127.0.0.1 for one learner (no hub), with a course released.

The learner's workspace gets an ``nbgrader_config.py`` naming the course, the exchange and
the learner, so the Assignment List (fetch, validate, submit) works out of the box.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from . import workflow
from .courses import Course, Instance
from .nbgrader_ops import ensure_tools_on_path

LEARNER = "learner"


def prepare_workspace(instance: Instance, course: Course, learner: str = LEARNER) -> Path:
    """The learner's folder with the nbgrader settings of their course (idempotent)."""
    workspace = instance.home / "workspaces" / learner
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {course.name!r}\n"
        f"c.CourseDirectory.student_id = {learner!r}\n"
        f"c.Exchange.root = {str(instance.exchange_root)!r}\n"
        f"c.Exchange.cache = {str(workspace / '.nbgrader_cache')!r}\n")
    return workspace


def lab_command(workspace: Path, port: int, token: str) -> list[str]:
    """The JupyterLab server command: local only, no browser, no calls home."""
    return [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={workspace}", f"--IdentityProvider.token={token}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"] + (
            ["--allow-root"] if os.geteuid() == 0 else [])


def start_lab(*, home: Path, course: Course, port: int = 8888, token: str | None = None,
              echo=print) -> int:
    """Release the course, then serve JupyterLab in the foreground until interrupted."""
    instance = Instance(home)
    config = instance.config(course)
    for assignment in course.assignments():
        workflow.release(config, assignment)
    workspace = prepare_workspace(instance, course)
    token = token or secrets.token_hex(16)
    echo(f"released {len(course.assignments())} assignment(s) of {course.name}")
    echo(f"JupyterLab for learner {LEARNER!r}: http://127.0.0.1:{port}/lab?token={token}")
    echo("open the Assignments tab (Nbgrader > Assignment List) to fetch; Ctrl-C stops")
    ensure_tools_on_path()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(workspace / ".jupyter"),
               JUPYTER_RUNTIME_DIR=str(workspace / ".jupyter" / "runtime"))
    try:
        return subprocess.call(lab_command(workspace, port, token), cwd=workspace, env=env)
    except KeyboardInterrupt:
        return 0
