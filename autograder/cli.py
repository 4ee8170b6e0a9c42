"""The ``poc2prod`` command: options only; every command calls one library function."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from traitlets.config import Config

from . import __version__

EPILOG = "Instance state (release, submissions, grades) lives in --home, else $POC2PROD_HOME."


def _add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", metavar="DIR",
                   help="instance folder for course state (default: $POC2PROD_HOME or the "
                        "user data dir)")


def _add_target(p: argparse.ArgumentParser, *, needs_assignment: bool = True) -> None:
    what = "COURSE ASSIGNMENT" if needs_assignment else "COURSE"
    p.add_argument("target", nargs="*", metavar="ARG",
                   help=f"{what}; with --course-root only " +
                        ("ASSIGNMENT" if needs_assignment else "nothing"))
    p.add_argument("--course-root", metavar="DIR",
                   help="work on a standard nbgrader course folder; state stays where stock "
                        "nbgrader keeps it (DIR/gradebook.db, DIR/autograded/...)")
    p.add_argument("--db", metavar="URL", help="gradebook database URL (default: SQLite file)")
    _add_home(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="poc2prod", epilog=EPILOG,
        description="Instructor toolkit for the poc2prod courses, on top of nbgrader.")
    parser.add_argument("--version", action="version", version=f"poc2prod {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="prove assignments are sound before release",
                       description="Reference scores full marks, release scores zero, fixtures "
                                   "score as documented, nothing leaks, time within budget.")
    p.add_argument("course", nargs="?", help="one course (default: all)")
    p.add_argument("assignment", nargs="?", help="one assignment of that course")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="time budget per notebook (default: 60)")

    p = sub.add_parser("release", help="generate the learner version and publish it")
    p.add_argument("course")
    p.add_argument("assignment")
    _add_home(p)

    p = sub.add_parser("collect", help="collect submissions from the exchange")
    p.add_argument("course")
    p.add_argument("assignment")
    _add_home(p)

    p = sub.add_parser("grade", help="autograde the submissions of an assignment")
    _add_target(p)
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade only this learner (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again what is already graded")
    p.add_argument("--workers", type=int, metavar="N",
                   help="notebooks executed at once on this machine (default: the cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="execute on this Dask distributed cluster instead")
    p.add_argument("--unsafe", action="store_true",
                   help="run learners' code without the sandbox (only for trusted code, "
                        "where bubblewrap is unavailable)")

    p = sub.add_parser("feedback", help="write feedback (no hidden tests) and hand it back")
    _add_target(p)

    p = sub.add_parser("export", help="write the grade CSV (nbgrader's format)")
    _add_target(p, needs_assignment=False)
    p.add_argument("--to", default="grades.csv", metavar="FILE",
                   help="destination CSV (default: grades.csv)")

    p = sub.add_parser("report", help="HTML report with plots, and the LMS grade CSV")
    _add_target(p, needs_assignment=False)
    p.add_argument("--out", default="report", metavar="DIR",
                   help="folder for report.html and grades.csv (default: ./report)")

    p = sub.add_parser("demo", help="full headless cycle with simulated learners")
    p.add_argument("--home", metavar="DIR", help="instance folder (default: a fresh temp dir)")

    p = sub.add_parser("start", help="JupyterHub with the three courses on 127.0.0.1:8000",
                       description="Sets up (idempotently) and runs JupyterHub: an instructor, "
                                   "demo learners, the courses released, a formgrader per "
                                   "course. As root the accounts are real Unix users.")
    p.add_argument("--home", metavar="DIR",
                   help="instance folder (default: $POC2PROD_HOME, else /srv/poc2prod as root, "
                        "else the user data folder)")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    p.add_argument("--learners", type=int, default=3, metavar="N",
                   help="demo learner accounts learner1..N (default: 3)")
    p.add_argument("--password", help="password of every account (default: a new random one, "
                                      "printed)")
    p.add_argument("--api-token", metavar="TOKEN",
                   help="register this token as an admin service, for automation")

    p = sub.add_parser("lab", help="JupyterLab for one learner, without a hub")
    _add_home(p)
    p.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default: 8888)")
    p.add_argument("--course", default="course1_poc", help="course to serve")
    return parser


def _config(args: argparse.Namespace, *, needs_assignment: bool = True) -> tuple[Config, str]:
    """Configuration and assignment for commands that work on ours or a stock course."""
    from .courses import Instance, get_course, instance_home, stock_course_config

    want = 1 if needs_assignment else 0
    if args.course_root:
        if len(args.target) != want:
            raise SystemExit(f"with --course-root give {'ASSIGNMENT' if want else 'nothing'}")
        config = stock_course_config(args.course_root)
        if args.db:
            config.CourseDirectory.db_url = args.db
        return config, (args.target[0] if want else "")
    if len(args.target) != want + 1:
        raise SystemExit("give " + ("COURSE ASSIGNMENT" if want else "COURSE")
                         + " (or --course-root DIR)")
    instance = Instance(instance_home(args.home))
    config = instance.config(get_course(args.target[0]), db_url=args.db)
    return config, (args.target[1] if want else "")


def run(args: argparse.Namespace) -> int:
    """Dispatch one parsed command; returns the exit status."""
    from . import workflow
    from .courses import Instance, get_course, instance_home, select

    if args.command == "check":
        from .check import check
        results = check(select(args.course, args.assignment), time_budget=args.budget)
        failed = [r for r in results if not r.ok]
        print(f"{len(results) - len(failed)} of {len(results)} assignments pass")
        return 1 if failed else 0
    if args.command in ("release", "collect"):
        instance = Instance(instance_home(args.home))
        config = instance.config(get_course(args.course))
        if args.command == "release":
            workflow.release(config, args.assignment)
            print(f"released {args.course}/{args.assignment} to {instance.exchange_root}")
        else:
            students = workflow.collect(config, args.assignment)
            print(f"collected {len(students)} submission(s): {', '.join(students) or 'none'}")
        return 0
    if args.command == "grade":
        from .grading import grade_assignment
        from .summary import outcome_table
        config, assignment = _config(args)
        outcomes = grade_assignment(config, assignment, students=args.student,
                                    force=args.force, workers=args.workers,
                                    scheduler=args.scheduler, unsafe=args.unsafe)
        print(outcome_table(outcomes))
        return 1 if any(o.status == "failed" for o in outcomes) else 0
    if args.command == "feedback":
        config, assignment = _config(args)
        files = workflow.feedback(config, assignment, to_exchange=not args.course_root)
        print(f"wrote {len(files)} feedback file(s)")
        return 0
    if args.command == "export":
        config, _ = _config(args, needs_assignment=False)
        print(f"wrote {workflow.export(config, Path(args.to))}")
        return 0
    if args.command == "report":
        from .report import collect, write_report
        config, _ = _config(args, needs_assignment=False)
        print(f"wrote {write_report(collect(config), Path(args.out))} and grades.csv")
        return 0
    if args.command == "demo":
        from .demo import run_demo
        return 0 if run_demo(home=args.home).ok else 1
    if args.command == "start":
        return _start_hub(args)
    if args.command == "lab":
        from .start import start_lab
        return start_lab(home=instance_home(args.home), course=get_course(args.course),
                         port=args.port)
    raise AssertionError(args.command)


def _start_hub(args: argparse.Namespace) -> int:
    import secrets

    from .courses import all_courses
    from .hub.launch import default_hub_home, start_hub
    from .hub.settings import HubSettings

    home = Path(args.home).resolve() if args.home else default_hub_home()
    courses = [c.name for c in all_courses()]
    settings = HubSettings(
        home=str(home), courses=courses,
        learners=[f"learner{i}" for i in range(1, args.learners + 1)],
        password=args.password or secrets.token_urlsafe(9), port=args.port,
        hub_port=args.port + 81, proxy_api_port=args.port + 1,
        formgrader_ports={c: args.port + 100 + i for i, c in enumerate(courses)},
        api_token=args.api_token)
    if len(settings.password) < 8:
        raise SystemExit("--password needs at least 8 characters")
    return start_hub(settings)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader + SQLAlchemy
    from .courses import CourseError
    from .grading.sandbox import SandboxUnavailable
    from .nbgrader_ops import StepFailed
    try:
        return run(args)
    except (CourseError, StepFailed, SandboxUnavailable) as error:
        print(f"poc2prod {args.command}: {error}", file=sys.stderr)
        return 2
    finally:
        _hand_back(args)


WRITES_COURSE_FOLDER = ("release", "collect", "grade", "feedback", "export")


def _hand_back(args: argparse.Namespace) -> None:
    """Run as root, give what the command created in a course folder to the folder's owner."""
    from .courses import CourseError, Instance, get_course, give_back_to_owner, instance_home

    if args.command not in WRITES_COURSE_FOLDER:
        return
    if getattr(args, "course_root", None):
        give_back_to_owner(Path(args.course_root))
        return
    name = getattr(args, "course", None) or (args.target[0] if getattr(args, "target", None)
                                             else None)
    try:
        give_back_to_owner(Instance(instance_home(args.home)).course_root(get_course(name)))
    except (CourseError, TypeError):
        return


if __name__ == "__main__":
    sys.exit(main())
