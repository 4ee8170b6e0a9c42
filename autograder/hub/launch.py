"""Set up (idempotently) and run JupyterHub with the three courses on 127.0.0.1.

``prepare`` releases every course into the instance, writes the nbgrader configuration
learners and formgraders use, creates the accounts (real Unix users as root) and the hub
configuration; ``hub_command`` is what runs it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from .. import workflow
from ..courses import CELL_TIMEOUT_S, Instance, get_course
from ..grading.split import split_settings_for
from ..nbgrader_ops import ensure_tools_on_path
from .settings import HubSettings

LEARNER_CONFIG = """c = get_config()  # noqa: F821
import os

c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
c.CourseDirectory.student_id = os.environ.get("JUPYTERHUB_USER") or "*"
"""

GRADER_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
c.GenerateFeedback.preprocessors = {feedback!r}
c.ExecutePreprocessor.timeout = {timeout!r}
c.SplitExecute.tests_in_learner_kernel = {split!r}
"""
# in the hub's JupyterLab only the learner's side of nbgrader: the formgrader is a service of
# its own (JupyterHub >= 4.1 forbids it inside JupyterLab) and assignments are authored in git
HUB_LAB_PAGE_CONFIG = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True,
    "@jupyterlab/apputils-extension:announcements": True}}  # no "get Jupyter news?" prompt
# the formgrader's Autograde button runs our engine (autograder/hub/formgrader_engine.py)
FORMGRADER_EXTENSION = {"ServerApp": {"jpserver_extensions": {
    "autograder.hub.formgrader_engine": True}}}

HUB_CONFIG = """# written by `poc2prod start`; edit {settings} instead, then start again
from autograder.hub.config import configure
from autograder.hub.settings import HubSettings

configure(c, HubSettings.load({settings!r}))  # noqa: F821
"""


def _ensure_unix_user(name: str, home: Path) -> None:
    try:
        if pwd.getpwnam(name).pw_dir != str(home):  # an account from another instance
            subprocess.run(["usermod", "--home", str(home), name], check=True,
                           capture_output=True)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home),
                        "--shell", "/bin/bash", name], check=True, capture_output=True)
    home.mkdir(parents=True, exist_ok=True)
    shutil.chown(home, name, name)
    home.chmod(0o700)


def _restrict_to_instructor(settings: HubSettings) -> None:
    """Course state and course sources (solutions, hidden tests) for the instructor only."""
    instructor = pwd.getpwnam(settings.instructor)
    for course_name in settings.courses:
        root = settings.course_root(course_name)  # the instructor's formgraders write here
        for path in [root, *root.rglob("*")]:
            os.lchown(path, instructor.pw_uid, instructor.pw_gid)
        root.chmod(0o700)
        course = get_course(course_name)
        for private in (course.source_dir, course.fixtures_dir):
            if private.exists():
                os.chown(private, 0, instructor.pw_gid)
                private.chmod(0o750)


def _feedback_preprocessors() -> list[str]:
    from ..feedback import FEEDBACK_PREPROCESSORS

    return [f"{p.__module__}.{p.__qualname__}" if isinstance(p, type) else p
            for p in FEEDBACK_PREPROCESSORS]


def prepare(settings: HubSettings, *, echo=print) -> Path:
    """Release the courses and write every configuration; returns jupyterhub_config.py."""
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    instance = Instance(home)
    hub_dir = settings.hub_dir
    (hub_dir / "learner-config").mkdir(parents=True, exist_ok=True)
    (hub_dir / "learner-config" / "nbgrader_config.py").write_text(
        LEARNER_CONFIG.format(exchange=str(settings.exchange)))
    (hub_dir / "learner-config" / "labconfig").mkdir(exist_ok=True)
    (hub_dir / "learner-config" / "labconfig" / "page_config.json").write_text(
        json.dumps(HUB_LAB_PAGE_CONFIG, indent=2))
    for course_name in settings.courses:
        course = get_course(course_name)
        config = instance.config(course)
        for assignment in course.assignments():
            workflow.release(config, assignment)
        echo(f"released {len(course.assignments())} assignment(s) of {course_name}")
        grader_dir = hub_dir / "grader-config" / course_name
        grader_dir.mkdir(parents=True, exist_ok=True)
        (grader_dir / "nbgrader_config.py").write_text(GRADER_CONFIG.format(
            root=str(settings.course_root(course_name)),
            source=str(course.source_dir.resolve()), course=course_name,
            exchange=str(settings.exchange), feedback=_feedback_preprocessors(),
            timeout=CELL_TIMEOUT_S, split=split_settings_for(course.folder)))
        extensions = grader_dir / "jupyter_server_config.d"
        extensions.mkdir(exist_ok=True)
        (extensions / "poc2prod.json").write_text(json.dumps(FORMGRADER_EXTENSION, indent=2))
    for folder in (hub_dir / "learner-config", *(hub_dir / "grader-config").iterdir()):
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    (hub_dir / "grader-config").chmod(0o755)
    hub_dir.chmod(0o755)
    if settings.unix_users:
        (home / "users").mkdir(exist_ok=True)
        (home / "users").chmod(0o755)
        for user in [settings.instructor, *settings.learners]:
            _ensure_unix_user(user, settings.user_home(user))
        _restrict_to_instructor(settings)
    settings_path = settings.save()
    config_path = hub_dir / "jupyterhub_config.py"
    config_path.write_text(HUB_CONFIG.format(settings=str(settings_path)))
    return config_path


def hub_command(config_path: Path) -> list[str]:
    return [shutil.which("jupyterhub") or "jupyterhub", "-f", str(config_path)]


def hub_environment() -> dict[str, str]:
    ensure_tools_on_path()
    return dict(os.environ)


def default_hub_home() -> Path:
    """Where a hub keeps its state when no --home is given: readable by every account."""
    from ..courses import instance_home

    if os.geteuid() == 0 and not os.environ.get("POC2PROD_HOME"):
        return Path("/srv/poc2prod")
    return instance_home(None)


def start_hub(settings: HubSettings, *, echo=print) -> int:
    """Prepare, print how to log in, and run the hub in the foreground until interrupted."""
    config_path = prepare(settings, echo=echo)
    echo(f"JupyterHub: http://127.0.0.1:{settings.port}/")
    echo(f"  instructor: {settings.instructor} (formgrader: "
         f"http://127.0.0.1:{settings.port}/services/formgrader-<course>/)")
    echo(f"  learners:   {', '.join(settings.learners)}")
    echo(f"  password:   {settings.password} (every account)")
    echo("  Ctrl-C stops the hub")
    try:
        return subprocess.call(hub_command(config_path), cwd=settings.hub_dir,
                               env=hub_environment())
    except KeyboardInterrupt:
        return 0
