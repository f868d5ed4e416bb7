"""Serving a transcript as the endpoint of its protocol (sniffed from its events, or given): ``POST`` on the route
that protocol's SDK calls (``Protocol.serve``) answers with the transcript's events at their recorded timing, and
any other path is a 404 with a JSON error, in the shape that SDK reads, that names the route.

Each request plays the transcript through the same ``Player`` the UI uses (its pacing: recorded ``: t=`` times,
scaled by ``--speed``, or a steady pace for a transcript without timing), and writes each event's lines as they
were read (the framing's own line endings). Comment lines are left out for a protocol whose SDK cannot read them
(``ServeRoute.comments``). Built on the standard library's ``http.server``, one thread a request; the request body
is read and ignored, and no request header is ever logged."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, Callable

from streamview.events import StreamEvent
from streamview.framing import AUTO, DEFAULT, FRAMINGS
from streamview.protocols import Sniffer, get, registered
from streamview.protocols.base import Protocol, ServeRoute
from streamview.render import events_text
from streamview.secrets import redact_url
from streamview.source import CHUNK, EventReader, SourceError, framing_of, iter_chunks, open_transcript
from streamview.sse import Frame

from .player import Player

class AnyRoute(ServeRoute):
    """The route of a transcript of no known protocol: every route a registered protocol answers."""

    def __init__(self) -> None:
        self.routes = [p.serve for p in registered() if p.serve is not None]
        self.paths = tuple(path for r in self.routes for path in r.paths)

    def matches(self, path: str) -> bool:
        return any(r.matches(path) for r in self.routes)

    def describe_paths(self) -> str:
        return " or ".join(r.describe_paths() for r in self.routes)

    def error_body(self, message: str, status: int) -> dict:
        return self.routes[0].error_body(message, status)

    def base_url(self, root: str) -> str:
        return self.routes[0].base_url(root)


def route_of(proto: Protocol) -> ServeRoute:
    if proto.serve is not None:
        return proto.serve
    return AnyRoute()


def transcript_opener(path: str) -> Callable[[], BinaryIO]:
    """A way to open the transcript once per request: the file again each time, or stdin's bytes read once."""
    if path == "-":
        data = open_transcript(path).read()
        return lambda: io.BytesIO(data)
    open_transcript(path).close()  # a missing file or a directory is a one-line error now, not at the first request
    return lambda: open_transcript(path)


def sniff_transcript(fp: BinaryIO) -> Protocol:
    """The protocol of a transcript (``protocols.Sniffer`` over its events, read until it decides)."""
    return sniff_framed(fp)[0]


def sniff_framed(fp: BinaryIO) -> tuple[Protocol, str]:
    """The protocol of a transcript and the framing it is read with (found from its first line: ``auto``)."""
    reader = EventReader(framing=AUTO)
    sniffer = Sniffer(framing=lambda: reader.framing)
    with fp:
        for chunk in iter_chunks(fp, CHUNK):
            for ev in reader.feed(chunk):
                if sniffer.feed(ev) is not None:
                    return sniffer.finish(), reader.framing or DEFAULT
        for ev in reader.finish():
            if sniffer.feed(ev) is not None:
                break
    return sniffer.finish(), reader.framing or DEFAULT


def play_to(write: Callable[[bytes], None], fp: BinaryIO, speed: float, protocol: str | None, comments: bool = True,
            sent_box: list[int] | None = None) -> int:
    """Play the transcript ``fp`` through a ``Player`` and ``write`` each event's lines as read, at the player's
    pace (blocking: the calling thread runs the player's event loop); returns the number of events written (and
    keeps ``sent_box[0]`` up to date, for a caller that must know it when a write fails). ``comments``: comment
    lines are written."""
    wire: dict[int, bytes] = {}  # an event's lines, from when it is read until it is played

    def keep(frame: Frame, ev: StreamEvent) -> None:
        if comments or frame.kind != "comment":
            wire[ev.index] = (frame.raw + player.framer.wire_end(frame)).encode("utf-8")

    sent = 0

    def emit(ev: StreamEvent) -> None:
        nonlocal sent
        data = wire.pop(ev.index, None)
        if data is not None:
            write(data)
            sent += 1
            progress[0] = sent

    progress = sent_box if sent_box is not None else [0]
    player = Player(fp, on_frame=keep, speed=speed, protocol=protocol)
    try:
        asyncio.run(player.run(emit, until_finished=True))
    finally:
        fp.close()
    if player.read_error:
        raise OSError(player.read_error)
    return sent


def make_server(path: str, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0, protocol: str | None = None,
                log: Callable[[str], None] | None = None) -> ThreadingHTTPServer:
    """``log``: called with one line per request (time, method, path, status, events sent, how it ended); never
    with a header (they may hold keys), and a ``key=`` in the path is redacted."""
    opener = transcript_opener(path)
    refuse_unreadable(path, opener(), protocol)
    if protocol:
        proto, framing = get(protocol), framing_of(protocol)
    else:
        proto, framing = sniff_framed(opener())
    known = protocol or (proto.name if proto.serve is not None else None)
    route = route_of(proto)
    answers = route.describe_paths()
    media_type = FRAMINGS[framing].media_type

    class Handler(BaseHTTPRequestHandler):
        server_version = "streamview-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # no request logging: headers may hold keys
            return

        def _log(self, status: int, how: str) -> None:
            if log is not None:
                log(f"{time.strftime('%H:%M:%S')} {self.command} {redact_url(self.path)} {status} · {how}")

        def _json(self, status: int, payload: dict) -> None:
            err = payload.get("error")  # {"error": {"message"}} or, for an API whose errors are flat, {"message"}
            self._log(status, str((err if isinstance(err, dict) else payload).get("message", "")))
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._json(405, route.error_body(f"use {answers}", 405))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if not (route.matches(self.path) or route.matches(self.path.split("?")[0])):
                self._json(404, route.error_body(f"no route {redact_url(self.path)}: this server answers {answers} ({proto.title} transcript)", 404))
                return
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header(route.request_id_header, f"req_streamview_serve_{int(time.time() * 1000)}")
            self.end_headers()
            self.close_connection = True

            def write(data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            sent = [0]
            try:
                play_to(write, opener(), speed, known, route.comments, sent)
            except (BrokenPipeError, ConnectionResetError):
                self._log(200, f"{events_text(sent[0])} sent · the client disconnected")
                return
            except OSError as exc:  # the transcript could not be read again: the stream ends where it could not go on
                self._log(200, f"{events_text(sent[0])} sent · the transcript could not be read: {exc}")
                return
            self._log(200, f"{events_text(sent[0])} sent · complete")

    server = _Server((host, port), Handler)
    server.protocol = proto.name  # type: ignore[attr-defined]
    server.route = route  # type: ignore[attr-defined]
    server.answers = answers  # type: ignore[attr-defined]
    return server


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up is no error of the server's (the request's line says so): no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def refuse_unreadable(path: str, fp: BinaryIO, protocol: str | None) -> None:
    """SourceError, before the server starts, for a transcript with no event to serve (empty, not SSE, a gzip file
    cut off before any event): a client would get an empty 200."""
    from streamview.outcome import UNREADABLE, judge
    from streamview.session import read_session

    session = read_session(fp, protocol, check=False)
    verdict = judge(session, read_error=session.read_error, anomalies=False)
    if verdict.code == UNREADABLE and not session.events_seen:
        raise SourceError(f"{path}: {verdict.reason}; nothing to serve")


def base_url(server: ThreadingHTTPServer) -> str:
    """The base URL a client of the transcript's protocol is given (``ServeRoute.base_url``: the one its SDK
    expects, to which it adds its own path)."""
    host, port = server.server_address[:2]
    return server.route.base_url(f"http://{host}:{port}")  # type: ignore[attr-defined]


def serve(path: str, host: str, port: int, speed: float, protocol: str | None = None) -> int:
    from streamview.sanitize import visible_line

    server = make_server(path, host, port, speed, protocol, log=lambda line: print(visible_line(line), file=sys.stderr, flush=True))
    print(f"streamview: serving {path} ({server.protocol}) at {base_url(server)} ({server.answers}); Ctrl-C stops", flush=True)  # type: ignore[attr-defined]
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve_in_thread(path: str, speed: float = 1.0, protocol: str | None = None) -> tuple[ThreadingHTTPServer, str]:
    """For tests and scripts: a server on a free loopback port, running in a daemon thread; returns its base URL
    (``base_url``: the base the protocol's SDK expects)."""
    server = make_server(path, "127.0.0.1", 0, speed, protocol)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # quick to shut down
    return server, base_url(server)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(sys.argv[1], "127.0.0.1", 0, 1.0))
