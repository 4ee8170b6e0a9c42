"""``poc2prod lab`` serves JupyterLab on 127.0.0.1 with course 1 released to the learner."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, token: str, deadline: float) -> httpx.Response:
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=5)
        except httpx.TransportError:
            time.sleep(0.5)
    raise TimeoutError(url)


def test_start_serves_lab_with_course1_assignments(tmp_path):
    port = _free_port()
    log = tmp_path / "start.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "lab", "--home", str(tmp_path / "home"),
             "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "token=" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.5)
        token = re.search(r"127\.0\.0\.1:\d+/lab\?token=(\w+)", log.read_text()).group(1)
        base = f"http://127.0.0.1:{port}"
        assert _wait_for(f"{base}/api/status", token, deadline).status_code == 200
        assert _wait_for(f"{base}/lab", token, deadline).status_code == 200
        listing = _wait_for(f"{base}/assignments?course_id=course1_poc", token, deadline).json()
        assert listing["success"], listing
        released = {a["assignment_id"] for a in listing["value"] if a["status"] == "released"}
        assert "01_scoping" in released
        courses = _wait_for(f"{base}/courses", token, deadline).json()
        assert courses["value"] == ["course1_poc"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
