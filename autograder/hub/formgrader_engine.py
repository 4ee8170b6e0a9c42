"""The formgrader's *Autograde* button runs the project's engine, not stock ``nbgrader autograde``.

A Jupyter server extension, enabled only in the formgrader services ``poc2prod start`` runs
(``grader-config/<course>/jupyter_server_config.d/poc2prod.json``): it replaces the handler
of the formgrader's autograde request in that process (nbgrader's API itself stays: our
scorer uses it), so a click grades in the sandbox, with the trusted test kernel, the
immutable store and the words-not-tracebacks failures of ``poc2prod grade``.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "autograder.hub.formgrader_engine"}]


def _load_jupyter_server_extension(server_app) -> None:
    import json

    from nbgrader.server_extensions.formgrader import apihandlers
    from tornado import web

    @web.authenticated
    @apihandlers.check_xsrf
    @apihandlers.check_notebook_dir
    def post(handler, assignment_id, student_id):
        handler.write(json.dumps(autograde_with_engine(handler.api, assignment_id, student_id)))

    apihandlers.AutogradeHandler.post = post
    server_app.log.info("poc2prod: the formgrader's Autograde runs the poc2prod engine")


def autograde_with_engine(api, assignment_id: str, student_id: str, force: bool = True) -> dict:
    """What ``NbGraderAPI.autograde`` answers (success, log, error), from our engine."""
    from ..grading import grade_assignment
    from ..grading.sandbox import SandboxUnavailable

    try:
        outcomes = grade_assignment(api.config, assignment_id, students=[student_id],
                                    force=force, workers=1, progress=False)
    except SandboxUnavailable as error:
        return {"success": False, "error": str(error), "log": ""}
    log = "\n".join(f"poc2prod engine: {o.student} {o.status}" + (f": {o.reason}" if o.reason
                                                                    else "") for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    if not outcomes:
        return {"success": False, "error": f"no submission of {student_id} to grade", "log": log}
    if failed:
        return {"success": False, "error": "; ".join(o.reason for o in failed), "log": log}
    return {"success": True, "log": log}
