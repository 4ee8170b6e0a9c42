"""Feedback that helps without giving the hidden tests away.

nbgrader's ClearHiddenTests removes hidden tests from a cell's source, but a failing hidden
test still prints its own lines in the traceback. Cells that held hidden tests keep only the
error's name and message (the hint the author wrote) in their outputs.
"""

from __future__ import annotations

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
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


FEEDBACK_PREPROCESSORS = [GetGrades, HideHiddenTestTracebacks, ClearHiddenTests,
                          CSSHTMLHeaderPreprocessor]
