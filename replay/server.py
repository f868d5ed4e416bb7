"""An HTTP server inside streamview's own event loop: uvicorn (h11), started and stopped by streamview.

uvicorn is a well-kept ASGI server that writes each body message to the transport as it is sent (no buffering),
handles keep-alive, chunked encoding and many clients at once, and applies back-pressure. Its ``Server.serve()``
installs SIGINT/SIGTERM handlers on the main thread (``capture_signals``); here that is a no-op, so the App (or
the command line) keeps its own Ctrl-C. Its logging is configured by nobody (``log_config=None``) and its loggers
are silenced: a request it cannot parse is its business, not a line on the user's terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import logging
import socket
import threading
from typing import Any, Awaitable, Callable

import uvicorn

App = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the process's signal handlers stay streamview's
        yield


def _quiet() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        log = logging.getLogger(name)
        log.handlers[:] = [logging.NullHandler()]
        log.propagate = False


def bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking socket on ``host:port`` (0: a free port); ``OSError`` if it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class ThreadedServer:
    """An ``EmbeddedServer`` with the face of the standard library's servers, for callers that run it in a
    thread of its own: bound when made (``server_address``), ``serve_forever()`` runs an event loop in the calling
    thread until ``shutdown()`` (from another thread); ``server_close()`` closes the socket."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.sock = bind(host, port)
        self.server_address = self.sock.getsockname()[:2]
        self._embedded: EmbeddedServer | None = None
        self._done = threading.Event()
        self._stopping = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``shutdown()``; in the main thread (``streamview serve``), also until Ctrl-C, which then
        raises ``KeyboardInterrupt`` here once the server has stopped. The signal is the loop's while it runs: a
        KeyboardInterrupt raised wherever the main thread happened to be could land in the server's own code,
        which carried on serving: the process did not stop (a test of it failed one run in five)."""
        loop = asyncio.new_event_loop()
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            if self._embedded is not None:
                self._embedded.server.should_exit = True

        main = threading.current_thread() is threading.main_thread()
        if main:
            loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            self._embedded = EmbeddedServer(self.app, self.host, 0, sock=self.sock)
            self._embedded.server.should_exit = self._stopping or interrupted  # a stop that came before the loop did
            loop.run_until_complete(self._embedded.start())
            loop.run_until_complete(self._embedded.wait())
        finally:
            if main:
                loop.remove_signal_handler(signal.SIGINT)
            loop.close()
            self._done.set()
        if interrupted:
            raise KeyboardInterrupt

    def shutdown(self) -> None:
        self._stopping = True
        if self._embedded is not None:
            self._embedded.server.should_exit = True
            self._done.wait(10)

    def server_close(self) -> None:
        self.sock.close()


class EmbeddedServer:
    """``app`` served on ``host:port`` (0: any free port) in the running event loop. ``await start()`` returns once
    it listens (``port`` is then the bound one); ``await stop()`` closes it, open streams cut after ``grace`` s."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0, grace: float = 1.0,
                 sock: socket.socket | None = None) -> None:
        """``sock``: a socket already bound (``bind``), else one is bound at ``start``. uvicorn adds no header of
        its own (no ``server``, no ``date``): a proxied answer carries the upstream's, a served one its own."""
        _quiet()
        # h11 always (uvicorn's "auto" takes httptools when it happens to be installed): the parser the tests run
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
                                http="h11", ws="none", timeout_graceful_shutdown=grace, timeout_keep_alive=30,
                                server_header=False, date_header=False)
        self.server = _Server(config)
        self.host = host
        self.port = sock.getsockname()[1] if sock is not None else port
        self.sock = sock
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Bind (here: a port in use is an ``OSError`` for the caller's one line, where uvicorn would exit the
        process), then serve on that socket; returns once it accepts connections."""
        sock = self.sock or bind(self.host, self.port)
        self.sock = sock
        self.port = sock.getsockname()[1]
        self._task = asyncio.ensure_future(self.server.serve(sockets=[sock]))
        while not self.server.started:
            if self._task.done():
                with contextlib.suppress(BaseException):
                    self._task.result()
                raise OSError(f"could not serve on {self.host}:{self.port}")
            await asyncio.sleep(0.01)

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task

    async def wait(self) -> Any:
        """Until the server stops (the task that serves)."""
        if self._task is not None:
            return await self._task
