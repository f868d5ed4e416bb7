"""A real HTTP test server on 127.0.0.1 that misbehaves on purpose: awkward chunking, error statuses, a dropped
connection, a stall. Routes: /chunked/v1/responses, /status/CODE/v1/responses, /drop/v1/responses,
/stall/v1/responses, /slow/v1/responses."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ERRORS = {
    400: ("invalid_request_error", "Invalid value for 'temperature': must be between 0 and 2.", "invalid_value"),
    401: ("invalid_request_error", "Incorrect API key provided: {key}. You can find your API key at the dashboard.", "invalid_api_key"),
    403: ("invalid_request_error", "Project does not have access to model gpt-x", "model_not_found"),
    404: ("invalid_request_error", "The model `gpt-nope` does not exist or you do not have access to it.", "model_not_found"),
    429: ("rate_limit_exceeded", "Rate limit reached for gpt-4.1-nano on requests per min (RPM): Limit 3, Used 3.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!", None),
    503: ("server_error", "The engine is currently overloaded, please try again later", None),
}


class FaultServer:
    def __init__(self, transcript: Path) -> None:
        self.body = transcript.read_bytes()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                parts = self.path.strip("/").split("/")
                kind = parts[0]
                if kind == "status":
                    return self._error(int(parts[1]))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("x-request-id", "req_test_123")
                self.send_header("openai-processing-ms", "42")
                self.send_header("x-ratelimit-remaining-requests", "99")
                self.send_header("Set-Cookie", "session=cookie-secret-4d1f; Path=/")
                self.end_headers()
                data = server.body
                sep = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"  # the blank line, as the transcript ends its events
                if kind == "chunked":
                    # chunk sizes 1..7 bytes: lines, JSON and multi-byte UTF-8 characters split everywhere
                    i, n = 0, 1
                    while i < len(data):
                        self._chunk(data[i : i + n])
                        i += n
                        n = n % 7 + 1
                    self._chunk(b"")
                elif kind == "drop":
                    cut = data.index(sep, len(data) // 2) + len(sep)  # a whole number of events, then the wire goes dead
                    self._chunk(data[:cut])
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                elif kind == "stall":
                    cut = data.index(sep) + len(sep)
                    self._chunk(data[:cut])
                    time.sleep(3)
                    try:
                        self._chunk(b"")
                    except OSError:
                        pass
                elif kind == "slow":
                    try:
                        for block in data.split(sep):
                            if block.strip():
                                self._chunk(block + sep)
                                time.sleep(0.2)
                        self._chunk(b"")
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client hung up (a test that interrupts the stream): expected
                else:
                    self._chunk(data)
                    self._chunk(b"")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _error(self, code: int) -> None:
                etype, message, ecode = ERRORS[code]
                auth = self.headers.get("Authorization", "")
                key = auth.removeprefix("Bearer ")
                payload = {"error": {"message": message.format(key=key), "type": etype, "param": None, "code": ecode}}
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
