"""Write the report: one self-contained HTML page (figures inline) and the LMS grade CSV."""

from __future__ import annotations

import base64
import csv
import html
from pathlib import Path

from . import plots
from .data import CourseData


def write_grade_csv(data: CourseData, path: Path) -> Path:
    """One row per learner, one column per assignment, and the total: what an LMS imports."""
    columns = ["student_id", *[a.name for a in data.assignments], "total"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(data.grade_rows())
    return path


def _image(png: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')


def _summary_rows(data: CourseData) -> str:
    rows = []
    for a in data.assignments:
        scores = sorted(a.scores.values())
        median = scores[len(scores) // 2] if scores else float("nan")
        rows.append(f"<tr><td>{html.escape(a.name)}</td><td>{a.max_score:g}</td>"
                    f"<td>{len(a.scores)}</td><td>{median:.1f}</td><td>{len(a.late)}</td>"
                    f"<td>{len(a.flagged)}</td><td>{len(data.missing(a))}</td></tr>")
    return "\n".join(rows)


def _flagged_rows(data: CourseData) -> str:
    rows = [f"<tr><td>{html.escape(a.name)}</td><td>{html.escape(student)}</td>"
            f"<td>{html.escape(reason)}</td></tr>"
            for a in data.assignments for student, reason in sorted(a.flagged.items())]
    return "\n".join(rows) or '<tr><td colspan="3">none</td></tr>'


def _hardest(data: CourseData, n: int = 5) -> str:
    tests = sorted(((a.failure_rate(t), t) for a in data.assignments for t in a.tests),
                   key=lambda pair: -pair[0])[:n]
    return "\n".join(f"<li><code>{html.escape(t.assignment)}/{html.escape(t.name)}</code>: "
                     f"{rate:.0%} fail{' (hidden checks)' if t.hidden else ''}</li>"
                     for rate, t in tests if rate > 0) or "<li>no test fails</li>"


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
th {{ background: #f3f3f3; }} img {{ max-width: 100%; margin: 1em 0; }}
</style></head><body>
<h1>{title}</h1>
<p>{students} learners. Grades for an LMS: <a href="grades.csv">grades.csv</a> (one row per
learner, one column per assignment, and the total).</p>
<h2>Assignments</h2>
<table id="assignments"><tr><th>assignment</th><th>points</th><th>graded</th><th>median</th>
<th>late</th><th>flagged</th><th>missing</th></tr>
{summary}
</table>
<h2>Where the class struggles</h2>
<ul id="hardest">{hardest}</ul>
{failing}
{scores}
<h2>Submissions</h2>
{status}
<h2>Flagged by the grader</h2>
<table id="flagged"><tr><th>assignment</th><th>learner</th><th>reason</th></tr>
{flagged}
</table>
<h2>Grading time</h2>
{times}
</body></html>
"""


def write_report(data: CourseData, out: Path) -> Path:
    """Write ``report.html`` and ``grades.csv`` into ``out``; returns the HTML's path."""
    out.mkdir(parents=True, exist_ok=True)
    write_grade_csv(data, out / "grades.csv")
    page = PAGE.format(
        title=html.escape(f"Grading report: {data.course}"), students=len(data.students),
        summary=_summary_rows(data), hardest=_hardest(data), flagged=_flagged_rows(data),
        failing=_image(plots.failing_tests(data), "share of learners failing each test"),
        scores=_image(plots.score_distributions(data), "scores per assignment"),
        status=_image(plots.submission_status(data), "on time, late, flagged, missing"),
        times=_image(plots.grading_times(data), "grading time per submission"))
    path = out / "report.html"
    path.write_text(page)
    return path
