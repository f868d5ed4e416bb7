"""Serving a transcript as the endpoint of its protocol (sniffed from its events, or given): a Responses transcript
at ``POST /v1/responses`` (or ``/responses``), a Chat Completions one at ``/v1/chat/completions`` (or
``/chat/completions``), an Anthropic Messages one at ``/v1/messages``; each answers ``text/event-stream`` with the
transcript's events at their recorded timing, and any other path is a 404 with a JSON error that names the route.
Built on the standard library's ``http.server``; the request body is read and ignored, and no request header is
ever logged."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streamview.events import parse_frame
from streamview.protocols import UNKNOWN, Sniffer
from streamview.source import CHUNK, iter_chunks, open_transcript
from streamview.sse import Frame, SSEParser

from .player import DEFAULT_PACE

ROUTES = {
    "responses": ("/v1/responses", "/responses"),
    "chat": ("/v1/chat/completions", "/chat/completions"),
    "anthropic": ("/v1/messages",),
}
ROUTES[UNKNOWN] = tuple(p for paths in list(ROUTES.values()) for p in paths)  # a stream of no known protocol: any
PATHS = ROUTES["responses"]
NAMES = {"responses": "Responses API", "chat": "Chat Completions", "anthropic": "Anthropic Messages", UNKNOWN: "unknown protocol"}


def load_frames(path: str) -> list[Frame]:
    """The transcript's frames with their raw lines (streamview's own header comments are not frames)."""
    parser = SSEParser(keep_raw=True)
    frames: list[Frame] = []
    with open_transcript(path) as fp:
        for chunk in iter_chunks(fp, CHUNK):
            frames.extend(parser.feed(chunk))
    frames.extend(parser.finish())
    return frames


def sniff_frames(frames: list[Frame]) -> str:
    """The protocol of a transcript's frames (``protocols.Sniffer`` over the events they parse to)."""
    sniffer = Sniffer()
    for i, frame in enumerate(frames):
        if sniffer.feed(parse_frame(frame, i)) is not None:
            break
    return sniffer.finish()


def _error_body(protocol: str, message: str, not_found: bool) -> dict:
    """An error in the shape the protocol's SDK reads (Anthropic: ``{"type": "error", "error": {type, message}}``)."""
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": "not_found_error" if not_found else "invalid_request_error", "message": message}}
    return {"error": {"message": message, "type": "invalid_request_error", "code": "not_found" if not_found else None, "param": None}}


def make_server(path: str, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0, protocol: str | None = None) -> ThreadingHTTPServer:
    frames = load_frames(path)
    protocol = protocol or sniff_frames(frames)
    paths = ROUTES[protocol]
    answers = " or ".join(f"POST {p}" for p in paths if p.startswith("/v1/"))

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
            self._json(405, _error_body(protocol, f"use {answers}", not_found=False))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path.split("?")[0] not in paths:
                self._json(404, _error_body(protocol, f"no route {self.path}: this server answers {answers} ({NAMES[protocol]} transcript)", not_found=True))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("request-id" if protocol == "anthropic" else "x-request-id", f"req_streamview_serve_{int(time.time() * 1000)}")
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
    server.protocol = protocol  # type: ignore[attr-defined]
    server.answers = answers  # type: ignore[attr-defined]
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    """The base URL a client of the transcript's protocol is given: ``http://host:port/v1`` for the OpenAI SDK
    (it adds ``/responses`` or ``/chat/completions``), ``http://host:port`` for the Anthropic SDK (it adds
    ``/v1/messages``)."""
    host, port = server.server_address[:2]
    root = f"http://{host}:{port}"
    return root if getattr(server, "protocol", "") == "anthropic" else f"{root}/v1"


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
    (``base_url``: with ``/v1`` for OpenAI protocols, without for Anthropic, as each SDK expects)."""
    server = make_server(path, "127.0.0.1", 0, speed, protocol)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # quick to shut down
    return server, base_url(server)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(sys.argv[1], "127.0.0.1", 0, 1.0))
