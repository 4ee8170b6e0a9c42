"""labkit.serving: a real uvicorn server on loopback that always stops and frees its port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from labkit.serving import _bound_socket, serve


def _tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"pong": True}

    @app.get("/slow")
    async def slow() -> dict:
        await asyncio.sleep(30)
        return {"done": True}

    return app


def _port(base_url: str) -> int:
    port = urlsplit(base_url).port
    assert port is not None
    return port


def _refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _server_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"labkit-uvicorn-{port}"]


def test_serves_real_http_on_loopback() -> None:
    with serve(_tiny_app()) as base_url:
        assert urlsplit(base_url).hostname == "127.0.0.1"
        port = _port(base_url)
        assert port > 0
        (thread,) = _server_threads(port)
        assert thread.daemon
        with httpx.Client(base_url=base_url, timeout=5) as client:
            for _ in range(3):  # keep-alive connection reused across requests
                response = client.get("/ping")
                assert response.status_code == 200
                assert response.json() == {"pong": True}
            assert client.get("/nowhere").status_code == 404


def test_port_released_and_thread_gone_after_exit() -> None:
    with serve(_tiny_app()) as base_url, httpx.Client(timeout=5) as client:
        port = _port(base_url)
        assert not _refuses(port)
        client.get(f"{base_url}/ping")  # leave an idle keep-alive connection open
    assert _refuses(port)
    assert _server_threads(port) == []


def test_shuts_down_when_the_body_raises() -> None:
    with pytest.raises(ValueError, match="boom"), serve(_tiny_app()) as base_url:
        port = _port(base_url)
        assert httpx.get(f"{base_url}/ping", timeout=5).status_code == 200
        raise ValueError("boom")
    assert _refuses(port)
    assert _server_threads(port) == []


def test_two_servers_run_side_by_side_on_distinct_ports() -> None:
    with serve(_tiny_app()) as first, serve(_tiny_app()) as second:
        assert _port(first) != _port(second)
        assert httpx.get(f"{first}/ping", timeout=5).status_code == 200
        assert httpx.get(f"{second}/ping", timeout=5).status_code == 200


def test_hung_request_does_not_block_shutdown() -> None:
    errors: list[BaseException] = []

    def call_slow(url: str) -> None:
        try:
            httpx.get(f"{url}/slow", timeout=10)
        except httpx.HTTPError as exc:  # the server goes away mid-request
            errors.append(exc)

    start = time.monotonic()
    with serve(_tiny_app(), shutdown_timeout=3) as base_url:
        port = _port(base_url)
        caller = threading.Thread(target=call_slow, args=(base_url,), daemon=True)
        caller.start()
        time.sleep(0.2)  # let the request reach the endpoint
    assert time.monotonic() - start < 6  # graceful timeout (1 s) + margin, not the 30 s sleep
    assert _refuses(port)
    caller.join(5)
    assert not caller.is_alive()


def test_failed_startup_raises_and_cleans_up() -> None:
    @asynccontextmanager
    async def broken_lifespan(app: FastAPI):
        raise RuntimeError("model file missing")
        yield  # pragma: no cover

    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="startup"), serve(FastAPI(lifespan=broken_lifespan)):
        pass  # pragma: no cover
    leftover = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("labkit-uvicorn-") for name in leftover)


def test_listening_socket_says_tcp_so_connections_get_nodelay() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket's
    # proto is IPPROTO_TCP; without it every small answer waits ~40 ms for a delayed ACK
    # (measured: a notebook went from 10 s to 47 s). Checked on the socket, not by timing.
    sock = _bound_socket()
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
