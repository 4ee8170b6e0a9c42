"""Write scores with nbgrader's own autograde converter, replaying executions done elsewhere.

The converter runs unchanged (student and submission records, sanitizing, late penalties,
SaveAutoGrades), except that its ``Execute`` step is replaced by ``ReplayExecution``, which
hands over the notebook executed in parallel. Scores therefore equal stock nbgrader's.
"""

from __future__ import annotations

import json

from nbconvert.preprocessors import ExecutePreprocessor
from nbformat import from_dict
from nbgrader.converters import Autograde
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from .execute import ExecutionResult

_REPLAY: dict[tuple[str, str, str], ExecutionResult] = {}


class ExecutionReplayError(RuntimeError):
    """The executed notebook cannot stand in for this one, or its execution failed."""


class ReplayExecution(NbGraderPreprocessor):
    """Stand-in for nbgrader's Execute: returns the notebook executed by a worker."""

    def preprocess(self, nb, resources):
        meta = resources["nbgrader"]
        key = (meta["student"], meta["assignment"], meta["notebook"])
        result = _REPLAY.get(key)
        if result is None:
            raise ExecutionReplayError(f"no execution result for {'/'.join(key)}")
        if result.error is not None:
            raise ExecutionReplayError(result.error)
        executed = from_dict(json.loads(result.executed_json))
        if [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            raise ExecutionReplayError("the executed notebook differs from the sanitized one")
        return executed, resources


def replaying_config(config: Config) -> Config:
    """The course configuration with the Execute step swapped for ReplayExecution."""
    steps = config.Autograde.get("autograde_preprocessors") or Autograde(
        config=config).autograde_preprocessors
    swapped = [ReplayExecution if isinstance(s, type) and issubclass(s, ExecutePreprocessor)
               else s for s in steps]
    replay = Config(config)
    replay.Autograde.autograde_preprocessors = swapped
    return replay


def score_submission(api, assignment: str, student: str,
                     results: list[ExecutionResult]) -> dict:
    """Run nbgrader's autograde for one student with ``results`` replayed; its result dict."""
    for result in results:
        _REPLAY[result.key] = result
    try:
        return api.autograde(assignment, student, force=True)
    finally:
        for result in results:
            _REPLAY.pop(result.key, None)
