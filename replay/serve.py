"""Serving a transcript as the endpoint of its protocol (sniffed from its events, or given): ``POST`` on the route
that protocol's SDK calls (``Protocol.serve``) answers ``text/event-stream`` with the transcript's events at their
recorded timing, and any other path is a 404 with a JSON error, in the shape that SDK reads, that names the route.
Built on the standard library's ``http.server``; the request body is read and ignored, and no request header is
ever logged."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streamview.events import parse_frame
from streamview.protocols import Sniffer, get, registered
from streamview.protocols.base import Protocol, ServeRoute
from streamview.source import CHUNK, iter_chunks, open_transcript
from streamview.sse import Frame, SSEParser

from .player import DEFAULT_PACE

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


def load_frames(path: str) -> list[Frame]:
    """The transcript's frames with their raw lines (streamview's own header comments are not frames)."""
    parser = SSEParser(keep_raw=True)
    frames: list[Frame] = []
    with open_transcript(path) as fp:
        for chunk in iter_chunks(fp, CHUNK):
            frames.extend(parser.feed(chunk))
    frames.extend(parser.finish())
    return frames


def sniff_frames(frames: list[Frame]) -> Protocol:
    """The protocol of a transcript's frames (``protocols.Sniffer`` over the events they parse to)."""
    sniffer = Sniffer()
    for i, frame in enumerate(frames):
        if sniffer.feed(parse_frame(frame, i)) is not None:
            break
    return sniffer.finish()


def make_server(path: str, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0, protocol: str | None = None) -> ThreadingHTTPServer:
    frames = load_frames(path)
    proto = get(protocol) if protocol else sniff_frames(frames)
    route = route_of(proto)
    answers = route.describe_paths()

    class Handler(BaseHTTPRequestHandler):
        server_version = "streamview-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # no request logging: headers may hold keys
            return

        def _json(self, status: int, payload: dict) -> None:
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
                self._json(404, route.error_body(f"no route {self.path}: this server answers {answers} ({proto.title} transcript)", 404))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header(route.request_id_header, f"req_streamview_serve_{int(time.time() * 1000)}")
            self.end_headers()
            self.close_connection = True
            start = time.monotonic()
            try:
                for i, frame in enumerate(frames):
                    t = frame.t if frame.t is not None else i * DEFAULT_PACE
                    delay = start + t / speed - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    end = "\n" if frame.truncated else "\n\n"
                    self.wfile.write((frame.raw + end).encode("utf-8"))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

    server = ThreadingHTTPServer((host, port), Handler)
    server.protocol = proto.name  # type: ignore[attr-defined]
    server.route = route  # type: ignore[attr-defined]
    server.answers = answers  # type: ignore[attr-defined]
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    """The base URL a client of the transcript's protocol is given (``ServeRoute.base_url``: the one its SDK
    expects, to which it adds its own path)."""
    host, port = server.server_address[:2]
    return server.route.base_url(f"http://{host}:{port}")  # type: ignore[attr-defined]


def serve(path: str, host: str, port: int, speed: float, protocol: str | None = None) -> int:
    server = make_server(path, host, port, speed, protocol)
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
