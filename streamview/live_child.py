"""The live source's reading process: it makes the request and reads the response body (httpx, and httpx-sse for an
SSE protocol: ``LiveSource._read_body``), and writes each chunk to its standard output as it comes, stamped with when
it came, for the app's process to read (``LiveSource.chunks``).

httpx, httpcore and h11 cost 30 to 50 us of a core for each chunk a server writes (at 10,000 events a second, one a
chunk, a third of a core), and in a thread of the app's process that work held the interpreter's lock the app needs
to draw: in a process of its own it runs on the other core. The app's loop reads what has come in one read, many
chunks at once when it was busy (``benchmarks/live_latency.py``).

It is started before the request is known (``LiveSource.start``, as the app starts) and imports httpx meanwhile; the
request (URL, body, headers with the key, timeouts) then comes on standard input, as JSON: the key is not on the
command line, where any user's `ps` would show it. Standard error goes nowhere (every failure once the request
has come is a record). Each record: a kind (1 byte), the time (``time.monotonic``, 8 bytes, the same clock as the
app's), the length of what follows (4 bytes), then that:

- ``s``: the request is about to be sent (nothing follows): when the stream's times start;
- ``m``: the response's status and public headers (JSON), once, before its first chunk or its error;
- ``c``: a chunk of the body, as it came;
- ``e``: a ``LiveError`` (JSON: kind, message, status), the last record;
- ``x``: any other failure, one redacted line (a bug: the app raises it), the last record;
- ``z``: the body ended, the last record.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time

HEAD = struct.Struct("<cdI")  # kind, when, length


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> int:
    import httpx  # noqa: F401 - imported while the app starts, before the request comes (``LiveSource.start``)
    import httpx_sse  # noqa: F401

    from .live import LiveError, LiveRequest, LiveSource

    spec = json.loads(sys.stdin.buffer.read())
    out = sys.stdout.fileno()
    request = LiveRequest(spec["url"], spec["body"], spec["headers"], spec["secrets"], spec["framing"])
    source = LiveSource(request, read_timeout=spec["read_timeout"], connect_timeout=spec["connect_timeout"])
    meta_sent = False

    def put(kind: bytes, data: bytes = b"") -> None:
        nonlocal meta_sent
        if not meta_sent and source.meta.status is not None:
            meta_sent = True
            body = json.dumps({"status": source.meta.status, "headers": source.meta.headers}).encode()
            _write_all(out, HEAD.pack(b"m", time.monotonic(), len(body)) + body)
        _write_all(out, HEAD.pack(kind, time.monotonic(), len(data)) + data)

    try:
        put(b"s")
        for chunk in source._read_body([], threading.Event()):
            put(b"c", chunk)
    except BrokenPipeError:  # the app stopped reading: it has what it wanted
        return 0
    except LiveError as exc:
        put(b"e", json.dumps({"kind": exc.kind, "message": str(exc), "status": exc.status}).encode())
    except BaseException as exc:  # noqa: BLE001 - a bug: reported to the app, which raises it, never lost here
        put(b"x", request.redact(f"{type(exc).__name__}: {exc}").encode("utf-8", "replace"))
    else:
        put(b"z")
    return 0


if __name__ == "__main__":
    import signal

    # Ctrl-C in a terminal reaches the whole process group: the app decides what it means (it stops the stream,
    # and this process with it); were this process to end on it first, before it sent the request, the app would
    # take that for a process that cannot run and read in a thread instead
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sys.exit(main())
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(0)
