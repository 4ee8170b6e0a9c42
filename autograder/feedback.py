"""Feedback that helps without giving the hidden tests away.

nbgrader's ClearHiddenTests removes hidden tests from a cell's source, but a failing hidden
test still prints its own lines in the traceback. Cells that held hidden tests keep only the
error's name and message (the hint the author wrote) in their outputs. A summary at the top
lists every test by name: passed or not, the points, the hint, and whether it ran when the
learner clicked Validate or only at grading (otter's learners were confused by "All tests
passed" followed by a lower grade).
"""

from __future__ import annotations

import html

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import Unicode


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """Shorten error outputs of cells with hidden tests to ``ename: evalue``."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self.begin_test_delimeter in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    output["traceback"] = [message.rstrip(": "),
                                           "(a hidden test failed; its code is not shown)"]
        return cell, resources


def _hint(cell) -> str:
    """The test's one-line docstring (what it checks), as the author wrote it."""
    lines = cell.source.strip().splitlines()
    first = lines[0].strip() if lines else ""
    for quote in ('"""', "'''"):
        if first.startswith(quote):
            return first.strip(quote).strip()
    return ""


def _error(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    return f"{errors[0].get('ename', 'Error')}: {errors[0].get('evalue', '')}" if errors else ""


class TestSummary(NbGraderPreprocessor):
    """A table of every test at the top: name, result, points, hint, when it runs."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)

    def preprocess(self, nb, resources):
        rows, hidden_cells = [], 0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            hidden = self.begin_test_delimeter in cell.source
            hidden_cells += hidden
            score, points = meta.get("score"), meta.get("points", 0)
            passed = score is not None and score >= points
            detail = html.escape(_hint(cell))
            if not passed and _error(cell):
                detail += f"<br><b>what failed:</b> <code>{html.escape(_error(cell))}</code>"
            when = ("visible checks at Validate; hidden checks only at grading" if hidden
                    else "at Validate and at grading")
            rows.append(f"<tr><td><code>{html.escape(meta.get('grade_id', ''))}</code></td>"
                        f"<td>{'passed' if passed else 'failed'}</td>"
                        f"<td>{score if score is not None else 0:g} / {points:g}</td>"
                        f"<td>{detail}</td><td>{when}</td></tr>")
        if rows:
            summary = (
                "## Your tests\n\n"
                f"{len(rows)} graded test cells. What *Validate* showed you were their visible "
                f"checks; {hidden_cells} of them also hold hidden checks, on other data, that "
                "run only at grading: a test can pass at Validate and fail here. Hidden "
                "checks are named with the hint their author wrote, never their code.\n\n"
                "<table class=\"poc2prod-tests\"><tr><th>test</th><th>result</th>"
                "<th>points</th><th>hint</th><th>runs</th></tr>\n" + "\n".join(rows)
                + "\n</table>")
            cell = new_markdown_cell(summary)
            cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                         "grade_id": "poc2prod_test_summary"}
            nb.cells.insert(0, cell)
        return nb, resources


FEEDBACK_PREPROCESSORS = [GetGrades, HideHiddenTestTracebacks, TestSummary, ClearHiddenTests,
                          CSSHTMLHeaderPreprocessor]
