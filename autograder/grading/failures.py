"""Say why a submission could not be graded, in words an instructor understands."""

from __future__ import annotations

import re

KERNEL_DIED = "the notebook's kernel died (a crash, os._exit or running out of memory)"
FAILURE_WORDS = [
    ("DeadKernelError", KERNEL_DIED),
    ("Kernel died", KERNEL_DIED),
    ("NotebookTimeout", "the notebook ran past the time limit for a whole notebook and was "
                        "stopped"),
    ("SandboxUnavailable", "the sandbox could not start on the machine that ran it"),
    ("KilledWorker", "the worker running it died repeatedly (it may crash any worker)"),
    ("CellTimeoutError", "a cell ran longer than the per-cell time limit"),
    ("Timeout waiting for", "the kernel stopped answering within the time limit"),
    ("NotJSONError", "the notebook file is not valid JSON (corrupt or truncated)"),
    ("No notebooks were matched", "the submission holds no notebook of this assignment "
                                  "(missing or renamed)"),
    ("No notebooks found", "the submission holds no notebook of this assignment "
                           "(missing or renamed)"),
    ("no execution result", "a notebook of the assignment is missing from the submission "
                            "(or is a symlink, which is never graded)"),
    ("Inconsistent checksums for cell", "the learner changed the nbgrader marks of a test or "
                                        "locked cell ({detail}); restore it from the release, "
                                        "or grade by hand"),
    ("Unsupported nbformat version", "the notebook file declares a format version nbgrader "
                                     "cannot read ({detail})"),
    ("does not exist", "a notebook of the assignment is missing from the submission"),
]
GENERIC_ERRORS = ("There was an error processing", "Please see the", "Traceback")


def explain_failure(log: str) -> str:
    """One sentence from nbgrader's log of a failed autograde."""
    for marker, words in FAILURE_WORDS:
        if marker in log:
            details = re.findall(re.escape(marker) + r"\s*(\S+)", log)
            return words.format(detail=details[-1].strip("'\".:") if details else "?")
    errors = [line.removeprefix("[ERROR]").strip() for line in log.splitlines()
              if line.startswith("[ERROR]") and not any(g in line for g in GENERIC_ERRORS)]
    return f"nbgrader could not grade it: {errors[0] if errors else 'no detail given'}"
