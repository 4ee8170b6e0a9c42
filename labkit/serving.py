"""Run an ASGI app (e.g. FastAPI) under a real uvicorn server, inside a notebook or a test.

The server listens on 127.0.0.1 only, on a free port chosen by the OS, in a background
daemon thread, so a notebook can call it over real HTTP with httpx. Use it as a context
manager: the server is always shut down when the ``with`` block ends, even when the block
raises, and the port is released.

    with serve(app) as base_url:
        httpx.get(f"{base_url}/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

HOST = "127.0.0.1"

ASGIApp = Callable[..., Any]


def _bound_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port (not listening yet).

    The explicit IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
    when ``proto`` says TCP; without it every response waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    return sock


def _run(server: Any, sock: socket.socket) -> None:
    """Thread target: uvicorn calls sys.exit() when startup fails; keep that in the thread."""
    # `serve` sees the thread end before `server.started` and reports it.
    with suppress(SystemExit):
        server.run(sockets=[sock])


def _accepts_connections(port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def serve(app: ASGIApp, *, startup_timeout: float = 10.0,
          shutdown_timeout: float = 5.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port; yield the base URL.

    Blocks until the server accepts connections (RuntimeError if it does not within
    ``startup_timeout`` seconds) and stops it on exit, forcing the stop if open requests
    have not finished after ``shutdown_timeout`` seconds.
    """
    import uvicorn

    sock = _bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False,
                            lifespan="auto", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=_run, args=(server, sock), name=f"labkit-uvicorn-{port}",
                              daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped during startup (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {startup_timeout} s")
            time.sleep(0.005)
        if not _accepts_connections(port, timeout=startup_timeout):
            raise RuntimeError(f"the server started but port {port} refuses connections")
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        if thread.ident is not None:  # started
            thread.join(shutdown_timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(shutdown_timeout)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the server on port {port} did not stop")
