"""Hostile and broken submissions to the tiny course's ps1, each with the outcome it must get.

Shared by tests/test_red_team.py (against ``poc2prod grade``) and benchmarks/red_team.py
(the same suite against stock ``nbgrader autograde``, for the table in docs/red-team.md).

Controls (named to be graded before the cases, and ``zz_control_last`` after them):
``control_full`` (5 points), ``control_wrong`` (a floor-division mean: 3 points) and
``control_stderr`` (correct, but its mean writes to stderr: 5 points with us, 2 in stock).
Every hostile answer carries the honest-wrong mean plus an attack, so it must score at
most 3: more means the attack worked.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.submissions import answered, write_submission

NB = "problem1.ipynb"
ON_TIME = "2026-01-10 09:00:00.000000 UTC"
FULL, WRONG = 5.0, 3.0
WRONG_MEAN = "def mean(values):\n    return sum(values) // len(values)\n"
SECRET_ENV = "POC2PROD_RED_TEAM_SECRET"

# outcomes
GRADED_AT_MOST_WRONG = "graded, at most the honest-wrong score"
FLAGGED_OR_AT_MOST_WRONG = "flagged with a reason, or at most the honest-wrong score"
FLAGGED = "flagged with a reason"
EXACT = "graded, exactly this score"


@dataclass(frozen=True)
class Case:
    """One submission: answers for the solution cells, or a change to the submitted files."""

    name: str
    what: str
    outcome: str
    mean_answer: str | None = None            # code after the honest-wrong mean
    answers: dict[str, str] = field(default_factory=dict)
    mutate: Callable[[Path, dict], None] | None = None
    score: float | None = None                 # for EXACT
    reason_words: str = ""                     # expected in the flag reason
    in_kernel: bool = False                    # attacks tests run inside the learner's kernel


def _attack(code: str) -> str:
    return WRONG_MEAN + code


def _edit_notebook(edit: Callable[[dict], None]) -> Callable[[Path, dict], None]:
    def mutate(folder: Path, ctx: dict) -> None:
        path = folder / NB
        nb = json.loads(path.read_text())
        edit(nb)
        path.write_text(json.dumps(nb))
    return mutate


def _duplicate_answer_cell(nb: dict) -> None:
    index = next(i for i, c in enumerate(nb["cells"])
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "squares_answer")
    nb["cells"].insert(index + 1, copy.deepcopy(nb["cells"][index]))


def _flip_test_cell(nb: dict) -> None:
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade_id") == "mean_fraction":
            meta.update(grade=False, solution=True, locked=False)
            cell["source"] = "pass  # made editable, then emptied"


def _strip_metadata(nb: dict) -> None:
    for cell in nb["cells"]:
        cell["metadata"].pop("nbgrader", None)
        if cell["cell_type"] == "code" and "assert" in "".join(cell["source"]):
            cell["source"] = "pass"


def _delete_mean_tests(nb: dict) -> None:
    nb["cells"] = [c for c in nb["cells"]
                   if c["metadata"].get("nbgrader", {}).get("grade_id")
                   not in ("mean_small", "mean_fraction")]


def _corrupt(folder: Path, ctx: dict) -> None:
    (folder / NB).write_text((folder / NB).read_text()[:200])


def _future_nbformat(folder: Path, ctx: dict) -> None:
    nb = json.loads((folder / NB).read_text())
    nb["nbformat"] = 99
    (folder / NB).write_text(json.dumps(nb))


def _remove_notebook(folder: Path, ctx: dict) -> None:
    (folder / NB).unlink()


def _rename_notebook(folder: Path, ctx: dict) -> None:
    (folder / NB).rename(folder / "problem1 (copy).ipynb")


def _extra_files(folder: Path, ctx: dict) -> None:
    for i in range(200):
        (folder / f"scratch_{i}.txt").write_text("notes " * 50)
    (folder / "extra.ipynb").write_text((folder / NB).read_text())
    (folder / "sub").mkdir()
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")


def _symlink_to_gradebook(folder: Path, ctx: dict) -> None:
    (folder / "grades.db").symlink_to(ctx["root"] / "gradebook.db")


def _symlink_notebook_to_source(folder: Path, ctx: dict) -> None:
    (folder / NB).unlink()
    (folder / NB).symlink_to(ctx["root"] / "source" / "ps1" / NB)


CASES: list[Case] = [
    # the learner's code against the host, the gradebook and the other learners
    Case("gradebook_sqlite_update", "one sqlite3 UPDATE giving every student full marks",
         GRADED_AT_MOST_WRONG, _attack(
             "import os, sqlite3\n"
             "for top in ['{root}', '/', os.getcwd() + '/../..']:\n"
             "    for d, _, files in os.walk(top):\n"
             "        for f in files:\n"
             "            if f.endswith('.db'):\n"
             "                try:\n"
             "                    con = sqlite3.connect(os.path.join(d, f))\n"
             "                    con.execute('UPDATE grade SET auto_score = 99')\n"
             "                    con.commit()\n"
             "                except Exception:\n"
             "                    pass\n")),
    Case("read_hidden_tests", "reads the instructor's source notebook to copy the hidden tests",
         GRADED_AT_MOST_WRONG, _attack(
             "for path in ['{root}/source/ps1/problem1.ipynb',\n"
             "             '../../source/ps1/problem1.ipynb']:\n"
             "    try:\n"
             "        print(open(path).read())\n"
             "    except OSError as error:\n"
             "        print('blocked:', error)\n")),
    Case("kill_the_grader", "os.kill(os.getppid(), 9) to stop the batch",
         FLAGGED_OR_AT_MOST_WRONG, _attack(
             "import os, signal\n"
             "for pid in (os.getppid(), {grader_pid}):\n"
             "    try:\n"
             "        os.kill(pid, signal.SIGKILL)\n"
             "    except OSError:\n"
             "        pass\n")),
    Case("kill_every_process", "os.kill(-1, SIGKILL): every process it may signal",
         FLAGGED_OR_AT_MOST_WRONG, _attack("import os, signal\nos.kill(-1, signal.SIGKILL)\n")),
    Case("write_outside", "writes into the course source, the gradebook and /tmp of the host",
         GRADED_AT_MOST_WRONG, _attack(
             "for path in ['{root}/source/ps1/evil.txt', '{marker}', '{root}/gradebook.db',\n"
             "             '../../source/ps1/evil.txt']:\n"
             "    try:\n"
             "        with open(path, 'a') as f:\n"
             "            f.write('owned')\n"
             "    except OSError as error:\n"
             "        print('blocked:', error)\n")),
    Case("network", "connects to a server on the grader's loopback",
         GRADED_AT_MOST_WRONG, _attack(
             "import socket\n"
             "try:\n"
             "    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
             "except OSError as error:\n"
             "    print('blocked:', error)\n")),
    Case("read_environment", "prints the grader's environment (tokens, passwords)",
         GRADED_AT_MOST_WRONG, _attack("import os\nprint(dict(os.environ))\n")),
    Case("fork_bomb", "forks until the machine falls over",
         FLAGGED_OR_AT_MOST_WRONG, _attack(
             "import os\n"
             "while True:\n"
             "    try:\n"
             "        os.fork()\n"
             "    except OSError:\n"
             "        pass\n")),
    Case("memory_bomb", "allocates memory until the machine swaps",
         FLAGGED_OR_AT_MOST_WRONG, _attack(
             "hog = []\n"
             "while True:\n"
             "    hog.append(bytearray(64 * 2**20))\n")),
    Case("loop_ignoring_sigint", "an infinite loop that ignores the interrupt",
         FLAGGED_OR_AT_MOST_WRONG, _attack(
             "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
             "    pass\n")),
    Case("sleep_forever", "a cell that never returns",
         FLAGGED_OR_AT_MOST_WRONG, _attack("import time\ntime.sleep(10**6)\n")),
    Case("os_exit", "os._exit(0) in the middle of the notebook",
         FLAGGED, _attack("import os\nos._exit(0)\n"), reason_words="kernel died"),
    Case("segfault", "dereferences a null pointer with ctypes",
         FLAGGED, _attack("import ctypes\nctypes.string_at(0)\n"), reason_words="kernel died"),
    Case("output_flood", "prints 300 MB", GRADED_AT_MOST_WRONG, _attack(
        "import sys\nchunk = 'x' * 2**20\nfor _ in range(300):\n    sys.stdout.write(chunk)\n"
        "    sys.stdout.flush()\n")),
    Case("huge_file", "writes a 1 GB file beside the notebook", FLAGGED_OR_AT_MOST_WRONG,
         _attack("with open('huge.bin', 'wb') as f:\n"
                 "    for _ in range(1024):\n"
                 "        f.write(b'0' * 2**20)\n")),
    # broken or tampered submission files
    Case("duplicate_grade_id", "an answer cell copied by accident (same grade_id twice)",
         FLAGGED_OR_AT_MOST_WRONG, WRONG_MEAN, mutate=_edit_notebook(_duplicate_answer_cell)),
    Case("flipped_metadata", "a test cell's metadata flipped to an editable answer, emptied",
         FLAGGED, WRONG_MEAN, mutate=_edit_notebook(_flip_test_cell),
         reason_words="changed the nbgrader marks of a test or locked cell (mean_fraction)"),
    Case("stripped_metadata", "every nbgrader marker removed, asserts replaced by pass",
         FLAGGED_OR_AT_MOST_WRONG, WRONG_MEAN, mutate=_edit_notebook(_strip_metadata)),
    Case("deleted_tests", "the failing test cells deleted", GRADED_AT_MOST_WRONG, WRONG_MEAN,
         mutate=_edit_notebook(_delete_mean_tests)),
    Case("corrupt_json", "a truncated notebook file", FLAGGED, mutate=_corrupt,
         reason_words="not valid JSON"),
    Case("future_nbformat", "a notebook claiming nbformat 99", FLAGGED,
         mutate=_future_nbformat, reason_words="notebook"),
    Case("missing_notebook", "only timestamp.txt handed in", FLAGGED, mutate=_remove_notebook,
         reason_words="missing"),
    Case("renamed_notebook", "the notebook renamed by the learner", FLAGGED,
         mutate=_rename_notebook, reason_words="missing"),
    Case("extra_files", "200 extra files, a folder and an extra notebook", EXACT,
         mutate=_extra_files, score=FULL),
    Case("symlink_to_gradebook", "a symlink to the gradebook, read by the answer",
         GRADED_AT_MOST_WRONG, _attack(
             "try:\n    print(len(open('grades.db', 'rb').read()))\n"
             "except OSError as error:\n    print('blocked:', error)\n"),
         mutate=_symlink_to_gradebook),
    Case("symlink_notebook_to_source", "the notebook replaced by a symlink to the "
         "instructor's solution", FLAGGED_OR_AT_MOST_WRONG, mutate=_symlink_notebook_to_source),
    # attacks on the tests inside the learner's own kernel
    Case("custom_exception_handler", "IPython's set_custom_exc swallows every failure",
         GRADED_AT_MOST_WRONG, _attack(
             "ip = get_ipython()\n"
             "ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n")),
    Case("silent_showtraceback", "showtraceback replaced so no error is displayed",
         GRADED_AT_MOST_WRONG, _attack(
             "ip = get_ipython()\nip.showtraceback = lambda *args, **kwargs: None\n")),
    Case("always_equal", "an answer whose __eq__ is always True", GRADED_AT_MOST_WRONG,
         answers={"squares_answer": "class Anything(list):\n"
                                    "    def __eq__(self, other):\n        return True\n"
                                    "def squares(n):\n    return Anything()\n"},
         mean_answer="class Close(float):\n    def __sub__(self, other):\n        return 0.0\n"
                     "def mean(values):\n    return Close(sum(values) // len(values))\n",
         in_kernel=True),
    Case("ast_transformer", "an AST transformer that turns every assert into pass",
         GRADED_AT_MOST_WRONG, _attack(
             "import ast\n"
             "class NoAsserts(ast.NodeTransformer):\n"
             "    def visit_Assert(self, node):\n        return ast.Pass()\n"
             "get_ipython().ast_transformers.append(NoAsserts())\n"), in_kernel=True),
    Case("input_transformer", "an input transformer that blanks the test cells",
         GRADED_AT_MOST_WRONG, _attack(
             "def blank(lines):\n"
             "    return ['pass\\n'] if any('assert' in line for line in lines) else lines\n"
             "get_ipython().input_transformers_cleanup.append(blank)\n"), in_kernel=True),
    Case("settrace_skips_asserts", "sys.settrace jumps over every assert line",
         GRADED_AT_MOST_WRONG, _attack(
             "import linecache, sys\n"
             "def skip(frame, event, arg):\n"
             "    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)\n"
             "    if event == 'line' and line.lstrip().startswith('assert'):\n"
             "        try:\n            frame.f_lineno = frame.f_lineno + 1\n"
             "        except ValueError:\n            pass\n"
             "    return skip\n"
             "sys.settrace(skip)\n"), in_kernel=True),
    Case("patched_builtin_helper", "builtins.abs patched so every tolerance check passes",
         GRADED_AT_MOST_WRONG, _attack("import builtins\nbuiltins.abs = lambda x: 0.0\n"),
         in_kernel=True),
    Case("lying_truth_value", "an answer whose __bool__, __len__ and __float__ lie",
         GRADED_AT_MOST_WRONG,
         answers={"squares_answer": "class Liar:\n"
                                    "    def __eq__(self, other):\n        return True\n"
                                    "    def __bool__(self):\n        return True\n"
                                    "    def __len__(self):\n        return 3\n"
                                    "def squares(n):\n    return Liar()\n"},
         mean_answer="class Half(float):\n"
                     "    def __float__(self):\n        return 1.5\n"
                     "    def __sub__(self, other):\n        return Half(0.0)\n"
                     "def mean(values):\n    return Half(sum(values) // len(values))\n",
         in_kernel=True),
]

CONTROLS: dict[str, tuple[str | None, float, float]] = {
    # name: (mean answer or None for the reference, our score, stock nbgrader's score)
    "control_full": (None, FULL, FULL),
    "control_wrong": (WRONG_MEAN, WRONG, WRONG),
    "zz_control_last": (None, FULL, FULL),
    "control_stderr": ("import sys\n\ndef mean(values):\n"
                      "    print('note: computing a mean', file=sys.stderr)\n"
                      "    return sum(values) / len(values)\n", FULL, 2.0),
}


def populate(root: Path, ctx: dict) -> list[str]:
    """Write the controls and every case as submissions of ``root``; returns the names."""
    source = nbformat.read(root / "source" / "ps1" / NB, as_version=4)
    release = nbformat.read(root / "release" / "ps1" / NB, as_version=4)
    fill = {k: str(v) for k, v in ctx.items()}
    for name, (mean, _, _) in CONTROLS.items():
        answers = {} if mean is None else {"mean_answer": mean}
        write_submission(root / "submitted" / name / "ps1",
                         {NB: answered(release, source, answers)}, ON_TIME)
    for case in CASES:
        answers = dict(case.answers)
        if case.mean_answer is not None:
            answers["mean_answer"] = case.mean_answer.format(**fill)
        folder = write_submission(root / "submitted" / case.name / "ps1",
                                  {NB: answered(release, source, answers)}, ON_TIME)
        if case.mutate is not None:
            case.mutate(folder, ctx)
    return list(CONTROLS) + [c.name for c in CASES]


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every regular file under ``folder`` (symlinks by target)."""
    import hashlib

    digests = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            digests[key] = "-> " + os.readlink(path)
        elif path.is_file():
            digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


COURSE_CONFIG = """c = get_config()
# short limits so the suite runs in about a minute; defaults are 60 s per cell, 600 s in all
c.Execute.timeout = 5
c.BoundedExecute.notebook_timeout = 40
c.SandboxedKernelManager.memory_mb = 1024
"""
