"""Notebooks that start servers or clusters shut them down: no port or process left behind.

Each such notebook runs from a fresh kernel, as a learner's JupyterLab would run it (no
sandbox to clean up after it); when the last cell is done, and while the kernel is still
alive, nothing the notebook started may still listen on a port or run as a process.
"""

from __future__ import annotations

import shutil

import nbformat
import psutil
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from autograder.courses import get_course

pytestmark = pytest.mark.slow

# assignments whose notebooks start a server, a cluster or another process
STARTS_SERVERS = [("course3_production", a) for a in get_course("course3_production").assignments()]
STARTS_SERVERS += [("course2_scaling", a) for a in get_course("course2_scaling").assignments()
                   if "dask" in a or "pipelines" in a]
# started on demand by libraries and reused, never listening: not a leftover server
BENIGN = ("resource_tracker", "semaphore_tracker", "loky")


def _leftovers(kernel_pid: int) -> tuple[list[str], list[str]]:
    kernel = psutil.Process(kernel_pid)
    family = [kernel, *kernel.children(recursive=True)]
    ports = [f"{c.laddr.ip}:{c.laddr.port} (pid {p.pid})" for p in family
             for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    processes = [" ".join(p.cmdline()[:4]) for p in family[1:]
                 if not any(b in " ".join(p.cmdline()) for b in BENIGN)]
    return ports, processes


def _execute(client: NotebookClient) -> None:
    """Run a notebook in a kernel we own: nbclient then leaves its channels to us."""
    try:
        client.execute()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()


def _run_and_inspect(work, notebooks, socket_dir) -> dict[str, tuple[list[str], list[str]]]:
    """Run each notebook in one fresh kernel; what each leaves listening or running."""
    km = KernelManager(kernel_name="python3", transport="ipc",  # the kernel's channels are
                       ip=str(socket_dir / "kernel"))           # then no TCP listeners
    km.start_kernel(cwd=str(work), env={"OMP_NUM_THREADS": "1", "MPLBACKEND": "agg"},
                    independent=False)
    found = {}
    try:
        warm_up = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
        _execute(NotebookClient(warm_up, km=km))
        own_ports, _ = _leftovers(km.provisioner.process.pid)  # ipykernel's own listener
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            _execute(NotebookClient(nb, km=km, timeout=120, allow_errors=False,
                                    resources={"metadata": {"path": str(work)}}))
            ports, processes = _leftovers(km.provisioner.process.pid)
            found[path.name] = ([p for p in ports if p not in own_ports], processes)
    finally:
        km.shutdown_kernel(now=True)
    return found


@pytest.mark.parametrize(("course_name", "assignment"), STARTS_SERVERS,
                         ids=[f"{c}/{a}" for c, a in STARTS_SERVERS])
def test_nothing_left_running_after_the_notebook(tmp_path, course_name, assignment):
    course = get_course(course_name)
    work = tmp_path / assignment
    shutil.copytree(course.source_dir / assignment, work)
    found = _run_and_inspect(work, sorted(work.glob("*.ipynb")), tmp_path)
    for name, (ports, processes) in found.items():
        assert ports == [], f"{name} leaves servers listening: {ports}"
        assert processes == [], f"{name} leaves processes running: {processes}"


def test_a_server_and_a_process_left_running_are_caught(tmp_path):
    careless = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import http.server, subprocess, sys, threading\n"
        "server = http.server.HTTPServer(('127.0.0.1', 0), http.server.BaseHTTPRequestHandler)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])")])
    nbformat.write(careless, tmp_path / "careless.ipynb")
    ports, processes = _run_and_inspect(tmp_path, [tmp_path / "careless.ipynb"],
                                        tmp_path)["careless.ipynb"]
    assert len(ports) == 1 and ports[0].startswith("127.0.0.1:")
    assert len(processes) == 1 and "time.sleep(60)" in processes[0]
