"""Serving a transcript as a Responses endpoint: ``POST /v1/responses`` (or ``/responses``) answers
``text/event-stream`` with the transcript's events at their recorded timing. Built on the standard library's
``http.server``; the request body is read and ignored, and no request header is ever logged."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streamview.source import CHUNK, iter_chunks, open_transcript
from streamview.sse import Frame, SSEParser

from .player import DEFAULT_PACE

PATHS = ("/v1/responses", "/responses")


def load_frames(path: str) -> list[Frame]:
    """The transcript's frames with their raw lines (streamview's own header comments are not frames)."""
    parser = SSEParser(keep_raw=True)
    frames: list[Frame] = []
    with open_transcript(path) as fp:
        for chunk in iter_chunks(fp, CHUNK):
            frames.extend(parser.feed(chunk))
    frames.extend(parser.finish())
    return frames


def make_server(path: str, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0) -> ThreadingHTTPServer:
    frames = load_frames(path)

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
            self._json(405, {"error": {"message": "use POST /v1/responses", "type": "invalid_request_error", "code": None, "param": None}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path.split("?")[0] not in PATHS:
                self._json(404, {"error": {"message": f"no route {self.path}: this server answers POST /v1/responses", "type": "invalid_request_error", "code": "not_found", "param": None}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("x-request-id", f"req_streamview_serve_{int(time.time() * 1000)}")
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

    return ThreadingHTTPServer((host, port), Handler)


def serve(path: str, host: str, port: int, speed: float) -> int:
    server = make_server(path, host, port, speed)
    bound_host, bound_port = server.server_address[:2]
    print(f"streamview: serving {path} at http://{bound_host}:{bound_port}/v1 (POST /v1/responses); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve_in_thread(path: str, speed: float = 1.0) -> tuple[ThreadingHTTPServer, str]:
    """For tests and scripts: a server on a free loopback port, running in a daemon thread; returns its base URL."""
    server = make_server(path, "127.0.0.1", 0, speed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/v1"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(sys.argv[1], "127.0.0.1", 0, 1.0))
