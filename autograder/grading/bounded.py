"""nbgrader's Execute, bounded: a wall-clock limit per notebook and a cap on its output.

Three deliberate differences from stock ``nbgrader autograde``, both documented in the README:
- a notebook that runs past ``notebook_timeout`` has its kernel killed (nbgrader only
  limits each cell, so a notebook of many slow cells can hold a worker for hours);
- output beyond ``output_limit`` bytes is dropped with a note (a 300 MB print would
  otherwise be held in the grader's memory and written to the gradebook's folders);
  errors are always kept, since they decide the grade;
- text a graded test cell writes to stderr (a library warning) is kept as ordinary
  output: stock nbgrader scores such a cell 0 even when every assert passed.
"""

from __future__ import annotations

import os
import signal
import threading

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer

DROPPED_NOTE = "\n[poc2prod: output beyond {limit} MB dropped]\n"


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def kill_kernel(km) -> None:
    """Kill a kernel manager's kernel and everything in its process group, now."""
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()


class BoundedExecute(Execute):
    """Execute with a notebook time limit, an output cap and stderr kept in test cells."""

    notebook_timeout = Float(600.0, help="Seconds before the whole notebook is stopped."
                             ).tag(config=True)
    output_limit = Integer(5 * 2**20, help="Bytes of output kept per notebook.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.timed_out = False
        self._output_bytes = 0
        self._dropping = False

    def preprocess(self, nb, resources=None, km=None):
        watchdog = threading.Timer(self.notebook_timeout, self._stop_kernel)
        watchdog.daemon = True
        watchdog.start()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            watchdog.cancel()

    def _stop_kernel(self) -> None:
        """Kill the kernel's whole process group; nbclient then reports a dead kernel."""
        self.timed_out = True
        kill_kernel(self.km)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        if msg["msg_type"] == "stream" and content.get("name") == "stderr" \
                and _is_test_cell(self.nb.cells[cell_index]):
            msg = dict(msg, content=dict(content, name="stdout"))
        if msg["msg_type"] != "error":
            size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
            self._output_bytes += size
            if self._output_bytes > self.output_limit:
                if not self._dropping:
                    self._dropping = True
                    note = new_output("stream", name="stdout", text=DROPPED_NOTE.format(
                        limit=self.output_limit // 2**20))
                    outs.append(note)
                    return note
                return None
        return super().output(outs, msg, display_id, cell_index)
