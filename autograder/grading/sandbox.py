"""A sandbox for the learner's kernel: Debian's bubblewrap, an unprivileged uid, hard limits.

The kernel sees a read-only system (/usr, the Python environment, the course's helper
package), a private /tmp, and one writable folder holding a copy of the submission. It
sees no network (only its own loopback), no other process, and nothing of the course
source, the gradebook, other submissions or the grader's environment variables. Memory,
CPU time, processes, file size and open files are capped with ``prlimit``.

As root, each kernel runs under its own uid (one per worker process), so two kernels
running at once cannot read each other's files or exhaust each other's process quota.
Without root, bubblewrap maps the caller to ``nobody`` in a user namespace.

Kernels talk to the grader over Unix sockets in the job's runtime folder (see
``execute.kernel_config``), the only other path the sandbox can write.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

SANDBOX_UID_BASE = 200_000  # far above any real account; one uid per worker process
HOME = "/tmp/home"
HELPER_PACKAGES = ("labkit",)  # importable by notebooks; nothing else of the repo is visible
SYSTEM_FILES = ("/etc/ssl", "/etc/fonts", "/etc/localtime", "/etc/hosts", "/etc/nsswitch.conf",
                "/etc/ld.so.cache", "/etc/mime.types")


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits (``prlimit``); a notebook is also bounded in wall time."""

    memory_bytes: int = 4 * 2**30        # address space: numpy, Dask and ONNX runtime fit
    cpu_seconds: int = 600               # CPU time of the kernel process
    processes: int = 256                 # processes + threads of the sandbox uid
    file_bytes: int = 256 * 2**20        # largest file the notebook may write
    open_files: int = 1024


class SandboxUnavailable(RuntimeError):
    """Isolation cannot be set up here; the reason says what is missing."""


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def sandbox_uid() -> int:
    """The uid this worker process's kernels run as (root) or appear as (user namespace)."""
    return SANDBOX_UID_BASE + os.getpid() if os.geteuid() == 0 else 65534


def _passwd(uid: int) -> str:
    return (f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"learner:x:{uid}:{uid}:learner:/tmp/home:/usr/sbin/nologin\n"
            f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")


def _group(uid: int) -> str:
    return f"root:x:0:\nlearner:x:{uid}:\nnogroup:x:65534:\n"


def _parents(path: Path) -> list[Path]:
    """Every ancestor of ``path`` below /, outermost first."""
    return list(reversed(path.parents))[1:]


def sandbox_command(argv: list[str], *, work: Path, runtime: Path, limits: Limits,
                    env: dict[str, str], shared: tuple[Path, ...] = (),
                    start_dir: str | None = None) -> list[str]:
    """The bubblewrap command line that runs ``argv`` inside the sandbox.

    ``shared`` folders are bound writable at their own path (the channel between a
    learner's kernel and its trusted test kernel); ``start_dir`` replaces ``work`` as the
    folder the process starts in.
    """
    uid = sandbox_uid()
    etc = runtime / "etc"
    (etc / "passwd").write_text(_passwd(uid))
    (etc / "group").write_text(_group(uid))
    cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--hostname", "sandbox",
           "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
           "--symlink", "usr/lib", "/lib", "--symlink", "usr/sbin", "/sbin"]
    if Path("/usr/lib64").exists():
        cmd += ["--symlink", "usr/lib64", "/lib64"]
    for path in SYSTEM_FILES:
        cmd += ["--ro-bind-try", path, path]
    cmd += ["--ro-bind", str(etc / "passwd"), "/etc/passwd",
            "--ro-bind", str(etc / "group"), "/etc/group",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"]
    readable = [Path(sys.prefix)] + [_repo_root() / p for p in HELPER_PACKAGES]
    for path in [*readable, work, runtime, *shared]:
        for parent in _parents(path):
            cmd += ["--perms", "0755", "--dir", str(parent)]
    for path in readable:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(work), str(work), "--bind", str(runtime), str(runtime)]
    for path in shared:
        cmd += ["--bind", str(path), str(path)]
    cmd += ["--bind", str(runtime / "home"), HOME, "--chdir", start_dir or str(work),
            "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if os.geteuid() == 0:
        cmd += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs"]
    else:
        cmd[1:1] = ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]
        cmd += ["--"]
    cmd += ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
            f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}",
            f"--nofile={limits.open_files}", "--core=0", *argv]
    return cmd


def kernel_environment() -> dict[str, str]:
    """The whole environment of a sandboxed kernel: nothing of the grader's leaks in."""
    return {"HOME": HOME, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "MPLBACKEND": "agg", "MPLCONFIGDIR": f"{HOME}/mpl",
            "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde",
            "MLFLOW_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "ORT_DISABLE_TELEMETRY": "1",
            "JPY_PARENT_PID": "1"}  # 1: no "Ctrl-C will not work" banner, no parent poller


def _matplotlib_font_cache() -> list[Path]:
    """The grader's matplotlib font list, so each kernel does not rebuild it (and warn)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "matplotlib")
    return sorted(cache.glob("fontlist-*.json"))


def prepare_folders(work: Path, runtime: Path, shared: tuple[Path, ...] = ()) -> None:
    """Lay out the runtime folder and give both folders to the sandbox uid alone.

    ``runtime`` holds the kernel's connection file and sockets, the generated /etc/passwd
    and the learner's home (``runtime/home``, seen as /tmp/home).
    """
    (runtime / "etc").mkdir(parents=True, exist_ok=True)
    mpl = runtime / "home" / "mpl"
    mpl.mkdir(parents=True, exist_ok=True)
    for font_list in _matplotlib_font_cache():
        shutil.copy(font_list, mpl / font_list.name)
    if os.geteuid() != 0:
        return
    uid = sandbox_uid()
    for folder in (work, runtime, *shared):
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, uid, uid)
        folder.chmod(0o700)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside ``sandbox_command``.

    ``work`` and ``runtime`` are set by the executor for each job; the limits are
    configurable per course (``c.SandboxedKernelManager.memory_mb = 2048``).
    """

    work: Path | None = None
    runtime: Path | None = None
    shared: tuple[Path, ...] = ()
    start_dir: str | None = None
    memory_mb = Integer(Limits.memory_bytes // 2**20, help="Address space, MiB").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU time, seconds").tag(config=True)
    processes = Integer(Limits.processes, help="Processes and threads").tag(config=True)
    file_mb = Integer(Limits.file_bytes // 2**20, help="Largest file, MiB").tag(config=True)

    @property
    def kernel_spec(self):
        """Interrupts travel as messages: a signal to bubblewrap would not reach the kernel."""
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    @property
    def limits(self) -> Limits:
        return Limits(self.memory_mb * 2**20, self.cpu_seconds, self.processes,
                      self.file_mb * 2**20)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if os.geteuid() == 0:  # the kernel reads it as the sandbox uid
            os.chown(self.connection_file, sandbox_uid(), sandbox_uid())

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        return sandbox_command(argv, work=self.work, runtime=self.runtime,
                               limits=self.limits, env=kernel_environment(),
                               shared=self.shared, start_dir=self.start_dir)


@functools.cache
def probe() -> str | None:
    """None when the sandbox works here, else the reason it does not (checked once)."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian package 'bubblewrap'; `make setup`)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="poc2prod-probe-") as scratch:
        work, runtime = Path(scratch, "work"), Path(scratch, "runtime")
        work.mkdir()
        prepare_folders(work, runtime)
        cmd = sandbox_command([sys.executable, "-c", "import os; print(os.getuid())"],
                              work=work, runtime=runtime, limits=Limits(),
                              env=kernel_environment())
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
        if done.returncode != 0 or done.stdout.strip() != str(sandbox_uid()):
            detail = (done.stderr.strip().splitlines() or ["no detail"])[-1]
            return f"bubblewrap could not start a sandbox here: {detail}"
    return None


def require_sandbox() -> None:
    """Raise SandboxUnavailable, in words, when kernels cannot be isolated here."""
    reason = probe()
    if reason is not None:
        raise SandboxUnavailable(
            f"cannot isolate the learners' code: {reason}. Grading without isolation lets a "
            "submission read hidden tests and alter grades; pass --unsafe only if you trust "
            "every submission.")
