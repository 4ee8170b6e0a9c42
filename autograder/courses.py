"""Where courses live: source trees in the repository, state in an instance folder.

The repository holds only ``<course>/source/<assignment>/*.ipynb`` (and fixtures). Every
folder nbgrader writes (release, submitted, autograded, feedback, gradebook.db, the exchange)
lives under an instance folder: ``--home``, else ``$POC2PROD_HOME``, else the user's data dir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from traitlets.config import Config, PyFileConfigLoader

from .feedback import FEEDBACK_PREPROCESSORS
from .grading.split import split_settings_for

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME_ENV = "POC2PROD_HOME"
CELL_TIMEOUT_S = 60


class CourseError(ValueError):
    """A course or assignment that does not exist, said in words."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course whose id is its folder name."""

    name: str
    folder: Path

    @property
    def source_dir(self) -> Path:
        return self.folder / "source"

    @property
    def fixtures_dir(self) -> Path:
        return self.folder / "fixtures"

    def assignments(self) -> list[str]:
        """Assignment names in syllabus order: folders are numbered (01_scoping, 02_...)."""
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and not p.name.startswith("."))

    def notebooks(self, assignment: str) -> list[Path]:
        return sorted(self.assignment_dir(assignment).glob("*.ipynb"))

    def assignment_dir(self, assignment: str) -> Path:
        path = self.source_dir / assignment
        if not path.is_dir():
            known = ", ".join(self.assignments()) or "none"
            raise CourseError(f"{self.name} has no assignment {assignment!r} (known: {known})")
        return path


def all_courses(repo_root: Path = REPO_ROOT) -> list[Course]:
    """Every ``course*/source`` folder of the repository."""
    return [Course(p.name, p) for p in sorted(repo_root.glob("course*"))
            if (p / "source").is_dir()]


def get_course(name: str, repo_root: Path = REPO_ROOT) -> Course:
    for course in all_courses(repo_root):
        if course.name == name:
            return course
    known = ", ".join(c.name for c in all_courses(repo_root))
    raise CourseError(f"no course {name!r} (known: {known})")


def select(course: str | None = None, assignment: str | None = None
           ) -> list[tuple[Course, str]]:
    """(course, assignment) pairs for a CLI selection: all, one course, or one assignment."""
    courses = [get_course(course)] if course else all_courses()
    if assignment is not None:
        courses[0].assignment_dir(assignment)
        return [(courses[0], assignment)]
    return [(c, a) for c in courses for a in c.assignments()]


def instance_home(home: str | os.PathLike | None = None) -> Path:
    """The instance folder: explicit argument, then $POC2PROD_HOME, then the user data dir."""
    chosen = home or os.environ.get(HOME_ENV) or platformdirs.user_data_dir("poc2prod")
    path = Path(chosen).expanduser().resolve()
    if path == REPO_ROOT or REPO_ROOT in path.parents:
        raise CourseError(f"the instance folder {path} must be outside the repository")
    return path


@dataclass(frozen=True)
class Instance:
    """The state of every course of one deployment, under one folder."""

    home: Path

    @property
    def exchange_root(self) -> Path:
        return self.home / "exchange"

    def course_root(self, course: Course) -> Path:
        return self.home / "courses" / course.name

    def config(self, course: Course, *, db_url: str | None = None) -> Config:
        """nbgrader configuration for one course of this instance."""
        root = self.course_root(course)
        root.mkdir(parents=True, exist_ok=True)
        self.exchange_root.mkdir(parents=True, exist_ok=True)
        self.exchange_root.chmod(0o777)
        c = base_config()
        c.ExecutePreprocessor.timeout = CELL_TIMEOUT_S
        c.SplitExecute.tests_in_learner_kernel = split_settings_for(course.folder)
        c.CourseDirectory.root = str(root)
        c.CourseDirectory.source_directory = str(course.source_dir.resolve())
        c.CourseDirectory.course_id = course.name
        c.Exchange.root = str(self.exchange_root)
        if db_url:
            c.CourseDirectory.db_url = db_url
        return c


def give_back_to_owner(root: Path) -> None:
    """As root, hand what a command created in a course folder to the folder's owner.

    On a hub the course folder (gradebook included) belongs to the instructor, whose
    formgrader must keep writing there after an administrator ran a command as root.
    """
    if os.geteuid() != 0 or not root.is_dir():
        return
    owner = root.stat()
    if owner.st_uid == 0:
        return
    for path in [root, *root.rglob("*")]:
        if path.lstat().st_uid == 0:
            os.lchown(path, owner.st_uid, owner.st_gid)


def base_config() -> Config:
    """What every course gets, ours or stock: feedback never shows the hidden tests."""
    c = Config()
    c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
    return c


def stock_course_config(course_root: str | os.PathLike) -> Config:
    """Config for a standard nbgrader course folder, state kept where stock nbgrader keeps it.

    The folder's own ``nbgrader_config.py`` is honoured, as ``nbgrader`` run there would.
    """
    root = Path(course_root).resolve()
    if not (root / "submitted").is_dir() and not (root / "source").is_dir():
        raise CourseError(f"{root} is not an nbgrader course folder (no source/ or submitted/)")
    c = base_config()
    config_file = root / "nbgrader_config.py"
    if config_file.exists():
        c.merge(PyFileConfigLoader(config_file.name, path=str(root)).load_config())
    c.CourseDirectory.root = str(root)
    return c
