"""The live source: a protocol's request (``Protocol.live`` builds it: URL, JSON body, headers with the key) sent
through httpx (and httpx-sse, for an SSE protocol), its response body streamed as it arrives.

The response body goes through the same decoder as a transcript (the protocol's framer: ``sse.SSEParser``, built on
httpx-sse's own decoders, or ``ndjson.NDJSONParser``), so a replay shows exactly what the live run showed. Failures become ``LiveError`` with one plain line:
the HTTP status and the server's own error message, a refused connection, a name that does not resolve, a read
timeout, or a connection dropped mid-stream. The API key is sent and nowhere else: it is redacted from every
message, and never recorded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import suppress as _suppress
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterator, Mapping

from .protocols.base import LiveOptions
from .secrets import is_secret_header, public_headers, query_secrets, redact_url
from .source import SourceError
from .sse import TranscriptMeta

QUEUE_BYTES = 16 << 20  # bytes read ahead of the loop at most: the reader (process or thread) waits past this
READER = "process"  # who reads the body: "process" (``live_child``) or "thread" (``benchmarks/live_latency.py``
# measures both in one run; a process that cannot be started, or that ends before its first record, means a thread)


def _spawn_reader():
    """The reading process (``live_child``), waiting for its request on standard input."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "streamview.live_child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _write_and_close(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.flush()
    finally:
        pipe.close()


class LiveError(SourceError):
    """A live request that failed: ``kind`` is http, refused, dns, timeout, dropped, connect or protocol."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class RequestError(ValueError):
    """The command line asked for a request that cannot be made (bad --body, bad --header, no key)."""


@dataclass
class LiveRequest:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # may hold the key: never print or record these
    secrets: list[str] = field(default_factory=list)
    framing: str = "sse"  # how the response is framed: "sse" is asked for as an event stream (httpx-sse)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return redact_url(text)


def build_request(
    prompt: str,
    *,
    api: str | None = None,
    model: str | None = None,
    instructions: str | None = None,
    reasoning_effort: str | None = None,
    max_output_tokens: int | None = None,
    temperature: float | None = None,
    body: str | None = None,
    base_url: str | None = None,
    headers: list[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> LiveRequest:
    """The request ``streamview live --api API`` sends, made by that protocol's request builder
    (``Protocol.live``; the first registered protocol that has one when ``api`` is None). ``--body`` is merged last
    (it may override any field but the stream flag); ``--header`` adds or replaces headers, and an auth header given
    there replaces the key from the environment."""
    from .protocols import get, with_live

    live_protocols = with_live()
    if api is None:
        proto = live_protocols[0]
    else:
        try:
            proto = get(api)
        except ValueError:
            proto = None
        if proto is None or proto.live is None:
            raise RequestError(f"--api {api!r}: one of {', '.join(p.name for p in live_protocols)}")
    extra: dict[str, str] = {}
    for h in headers or []:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise RequestError(f"--header {h!r}: expected 'Name: value'")
        extra[name.strip()] = value.strip()
    options = LiveOptions(prompt, model, instructions, reasoning_effort, max_output_tokens, temperature,
                          _read_body(body) if body else None, base_url, extra)
    return proto.live.build(options, os.environ if env is None else env)  # type: ignore[union-attr]


def merge_body(payload: dict[str, Any], options: LiveOptions) -> dict[str, Any]:
    """A builder's payload with what every protocol takes alike: ``temperature``, then ``--body`` merged over it,
    then ``"stream": true``."""
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.body:
        payload.update(options.body)
    payload["stream"] = True
    return payload


def make_request(url: str, payload: dict[str, Any], headers: dict[str, str], key: str = "",
                 framing: str = "sse") -> LiveRequest:
    """The request, with every secret it holds listed for redaction: the key, the value of every secret header
    (and a bearer token without its ``Bearer``), and secret query values of the URL. ``framing``: the response's
    (the protocol's)."""
    check_url(url)
    secrets = [v for k, v in headers.items() if is_secret_header(k)]
    if key:
        secrets.append(key)
    for v in list(secrets):
        if v.lower().startswith("bearer "):
            secrets.append(v[7:].strip())
    secrets.extend(query_secrets(url))  # a key given in the URL (?key=...) is as secret as one in a header
    return LiveRequest(url=url, body=payload, headers=headers, secrets=secrets, framing=framing)


def check_url(url: str, what: str = "the base URL") -> None:
    """RequestError (one line, exit 2) unless ``url`` is an http(s) URL with a host: ``127.0.0.1:8000/v1`` without
    its scheme would otherwise reach httpx as an unsupported protocol."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or is out of range
    except ValueError as exc:
        raise RequestError(f"{what} {redact_url(url)!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestError(f"{what} {redact_url(url)!r} is not an http:// or https:// URL with a host "
                           "(e.g. http://127.0.0.1:8000/v1)")


def _read_body(spec: str) -> dict[str, Any]:
    text = spec
    if spec.startswith("@"):
        try:
            with open(spec[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise RequestError(f"--body {spec}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RequestError(f"--body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RequestError("--body must be a JSON object")
    return value


REASONS = {529: "Overloaded"}  # a status HTTP has no phrase for, which one API sends when it is overloaded


def http_error_message(status: int, reason: str, body: bytes) -> str:
    """``HTTP 401 Unauthorized: <the server's own message> (<type or code>)``."""
    detail = ""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            msg = err.get("message")
            # the most specific name the server gives the error: a code word, else its type, else its status word
            # (a numeric code only when there is nothing else: it repeats the HTTP status)
            names = [v for v in (err.get("code"), err.get("type"), err.get("status")) if isinstance(v, str) and v]
            code = names[0] if names else err.get("code")
            detail = str(msg) if msg else ""
            if code:
                detail = f"{detail} ({code})" if detail else str(code)
        elif isinstance(err, str):
            detail = err
    if not detail:
        detail = body.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
    head = f"HTTP {status} {reason or REASONS.get(status, '')}".rstrip()
    return f"{head}: {detail}" if detail else head


def _connect_failure(exc: Exception, url: str) -> LiveError:
    import httpx

    host = httpx.URL(url).host
    port = httpx.URL(url).port
    where = f"{host}:{port}" if port else host
    chain = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 6:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(c) for c in chain).lower()
    import socket

    if any(isinstance(c, socket.gaierror) for c in chain) or "name or service not known" in text or "name resolution" in text or "nodename nor servname" in text or "no address associated" in text:
        return LiveError("dns", f"could not resolve host {host!r} (DNS lookup failed)")
    if any(isinstance(c, ConnectionRefusedError) for c in chain) or "refused" in text:
        return LiveError("refused", f"connection refused by {where}: is the server running?")
    return LiveError("connect", f"could not connect to {where}: {exc}")


class LiveSource:
    """An async source of the response body's bytes, with the HTTP status and headers in ``meta``."""

    def __init__(self, request: LiveRequest, *, read_timeout: float = 60.0, connect_timeout: float = 10.0) -> None:
        self.request = request
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.meta = TranscriptMeta(recorded=True, request=f"POST {redact_url(request.url)}", request_body=json.dumps(request.body, ensure_ascii=False))
        self._t0 = time.monotonic()
        self._arrived: float | None = None  # when the chunk being read arrived (``time.monotonic``)
        self.bytes_received = 0
        self._proc: Any = None  # the reading process, once started (``start``), until ``chunks`` takes it

    def start(self) -> None:
        """Start the reading process now (``live_child``), to wait for the request: its start-up (Python and its
        imports, about 0.2 s) then runs beside the app's own, not before the request. ``chunks`` starts it if this
        was not called; where it cannot be started, ``chunks`` reads in a thread."""
        if READER == "process" and self._proc is None:
            try:
                self._proc = _spawn_reader()
            except OSError:
                self._proc = None

    def close(self) -> None:
        """A reading process started and never used (the app ended before the stream began) is stopped."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stop in (proc.kill, proc.stdin.close, proc.stdout.close):
                with _suppress(OSError):
                    stop()
            with _suppress(Exception):
                proc.wait(2)

    def elapsed(self) -> float:
        """Seconds from the request to when the bytes being read arrived (the reading thread notes when each chunk
        came): the arrival time of the events made of them. Before the first chunk, the time now."""
        at = self._arrived
        return round((at if at is not None else time.monotonic()) - self._t0, 4)

    def load_client(self) -> None:
        """Import what makes the request (httpx, and httpx-sse for an SSE protocol; 60 to 100 ms when not yet
        imported), before the stream's clock starts: the time to the first event is the server's, not the import's."""
        import httpx  # noqa: F401

        if self.request.framing == "sse":
            import httpx_sse  # noqa: F401

    def _open(self, client: Any):
        """The streamed POST, as a context manager of the response: through httpx-sse for an SSE protocol (it asks
        for an event stream), else httpx's own (the body is read as bytes either way, by the protocol's framer)."""
        req = self.request
        if req.framing == "sse":
            from contextlib import contextmanager

            from httpx_sse import connect_sse

            @contextmanager
            def sse():
                with connect_sse(client, "POST", req.url, json=req.body, headers=req.headers) as source:
                    yield source.response

            return sse()
        return client.stream("POST", req.url, json=req.body, headers=req.headers)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive, with when each came (``elapsed``); failures are raised here, as
        ``LiveError``. A process of its own (started by ``start``, or here) makes the request and reads the body
        (``live_child``): httpx's work for each chunk runs on another core, not in this process, where it held
        the interpreter's lock while the app had frames to draw. The loop takes what has come in one read (many
        chunks at once, each with its own arrival time, when it was busy), and at most ``QUEUE_BYTES`` wait
        unread (and the pipe's own buffer, 64 KB on Linux): past that the process waits to write, and reads the
        socket no more until the loop has taken them. When the consumer stops (or is cancelled), the process is
        killed, and the connection with it. Where no process can be started, or it ends before it has sent the
        request, a thread reads instead (``_chunks_in_thread``)."""
        import asyncio  # (here: `--help` and `print` do not import asyncio)

        from .live_child import HEAD

        proc, self._proc = self._proc, None
        if proc is None and READER == "process":
            try:
                proc = _spawn_reader()
            except OSError:  # (no process can be started here)
                proc = None
        if proc is None:
            async for chunk in self._chunks_in_thread():
                yield chunk
            return
        req = self.request
        spec = {"url": req.url, "body": req.body, "headers": req.headers, "secrets": req.secrets,
                "framing": req.framing, "read_timeout": self.read_timeout, "connect_timeout": self.connect_timeout}
        self._t0 = time.monotonic()
        self._arrived = None
        size = HEAD.size
        unpack = HEAD.unpack_from
        loop = asyncio.get_running_loop()
        stdout = asyncio.StreamReader(limit=max(1, QUEUE_BYTES // 2), loop=loop)  # (past twice this unread, the
        # pipe is read no more: the process waits to write, and reads the socket no more)
        transport = None
        try:
            transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdout, loop=loop),
                                                        proc.stdout)
            with _suppress(BrokenPipeError, ConnectionResetError, OSError):  # (it died at once: its end is read below)
                data = json.dumps(spec).encode()  # (a small write, read at once: the process reads all of it first)
                await asyncio.to_thread(_write_and_close, proc.stdin, data)
            buf = b""  # (what came after the last whole record: usually nothing, so a read is cut up as it came)
            started = False
            while True:
                data = await stdout.read(1 << 20)
                if not data:
                    code = await asyncio.to_thread(proc.wait)
                    if not started and not buf:  # it ended before the request went out (it could not import
                        # what it needs, say): a thread makes the request instead, once
                        async for chunk in self._chunks_in_thread():
                            yield chunk
                        return
                    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                    raise LiveError("protocol", f"the reading process ended before the body did ({how})")
                buf = buf + data if buf else data
                pos, end = 0, len(buf)
                while end - pos >= size:
                    kind, at, n = unpack(buf, pos)
                    if end - pos - size < n:
                        break
                    start = pos + size
                    pos = start + n
                    if kind == b"c":
                        self._arrived = at
                        self.bytes_received += n
                        yield buf[start:pos]
                    elif kind == b"s":
                        self._t0 = at
                        started = True
                    elif kind == b"m":
                        meta = json.loads(buf[start:pos])
                        self.meta.status = meta["status"]
                        self.meta.headers = [(k, v) for k, v in meta["headers"]]
                    elif kind == b"e":
                        err = json.loads(buf[start:pos])
                        raise LiveError(err["kind"], err["message"], err["status"])
                    elif kind == b"x":
                        why = buf[start:pos].decode("utf-8", "replace")
                        raise RuntimeError(f"the live reading process failed: {why}")
                    elif kind == b"z":
                        return
                    else:
                        raise LiveError("protocol", f"the reading process wrote a record of no known kind ({kind!r})")
                buf = buf[pos:]
        finally:
            if proc.poll() is None:
                with _suppress(OSError):
                    proc.kill()
            if transport is not None:
                transport.close()
            with _suppress(OSError):
                proc.stdin.close()
            with _suppress(BaseException):  # (killed: it ends at once; reaped so that no zombie is left)
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 2)

    async def _chunks_in_thread(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive, read by a thread of this process (where no process can be started).
        The thread makes the request and reads the body (httpx's blocking client), and hands each chunk to the
        loop with when it came: the loop is not woken and walked through httpx's async layers for each chunk
        (250 to 390 us of a core each, against 115 us in the thread: at 1,000 events a second, one a chunk, a
        quarter of a core; ``benchmarks/live_latency.py``), and an event's arrival time is when its bytes came,
        not when the loop was free to look (it was drawing). The chunks are yielded one by one, in order, as
        soon as the loop has its turn; failures are raised here, as ``LiveError``. When the consumer stops (or
        is cancelled), the connection is shut, and the thread ends."""
        import asyncio  # (here: `--help` and `print` do not import asyncio)
        import collections
        import contextlib
        import socket

        loop = asyncio.get_running_loop()
        queue: collections.deque = collections.deque()  # (kind, arrival, value) from the thread, in order
        ready = asyncio.Event()
        stop = threading.Event()
        room = threading.Event()  # set by the loop when it has taken chunks (the thread may be waiting)
        counts = [0, 0]  # bytes put by the thread, bytes taken by the loop (each written by one side only)
        sockets: list = []  # the connection's socket, to shut when the consumer stops

        def put(kind: str, value: Any) -> None:
            queue.append((kind, time.monotonic(), value))
            if len(queue) == 1:  # (the loop takes everything there is before it waits again)
                try:
                    loop.call_soon_threadsafe(ready.set)
                except RuntimeError:  # the loop has closed: nobody is reading
                    stop.set()

        def read() -> None:
            try:
                self.load_client()
                self._t0 = time.monotonic()  # (the stream's times start at the request, not before the imports)
                for chunk in self._read_body(sockets, stop):
                    if stop.is_set():
                        return
                    counts[0] += len(chunk)
                    put("chunk", chunk)
                    while counts[0] - counts[1] > QUEUE_BYTES:  # the loop is far behind: read on when it has
                        room.clear()  # taken them (looked at again after the clear: the loop may just have)
                        if counts[0] - counts[1] <= QUEUE_BYTES or stop.is_set():
                            break
                        room.wait(0.1)
            except BaseException as exc:  # (LiveError, or a bug: raised in the loop, never lost in the thread)
                if not stop.is_set():
                    put("error", exc)
                return
            put("end", None)

        self._t0 = time.monotonic()
        self._arrived = None
        thread = threading.Thread(target=read, name="streamview-live", daemon=True)
        thread.start()
        try:
            while True:
                if not queue:
                    ready.clear()
                    if not queue:
                        await ready.wait()
                    continue
                kind, at, value = queue.popleft()
                if kind == "chunk":
                    counts[1] += len(value)
                    if not room.is_set():  # (the thread clears it only to wait: a set per chunk is a lock and a
                        room.set()  # notify, 3 to 10 us each, at 10,000 chunks a second)
                    self._arrived = at
                    self.bytes_received += len(value)
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            stop.set()
            room.set()
            for sock in sockets:  # a read the thread is blocked in returns now, not at the read timeout
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _read_body(self, sockets: list, stop: threading.Event) -> Iterator[bytes]:
        """In the reading thread: the request, and the response body's chunks; every failure as ``LiveError``."""
        import httpx  # imported when a request is made: `--help` and `print` stay fast

        req = self.request
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        received = 0
        try:
            with httpx.Client(timeout=timeout) as client:
                with self._open(client) as response:
                    stream = response.extensions.get("network_stream")
                    sock = stream.get_extra_info("socket") if stream is not None else None
                    if sock is not None:
                        sockets.append(sock)
                    self.meta.status = response.status_code
                    self.meta.headers = public_headers(response.headers.items())
                    if response.status_code >= 400:
                        body = response.read()
                        message = http_error_message(response.status_code, response.reason_phrase, body)
                        raise LiveError("http", req.redact(message), response.status_code)
                    for chunk in response.iter_bytes():
                        received += len(chunk)
                        yield chunk
                        if stop.is_set():
                            return
        except LiveError:
            raise
        except httpx.ConnectTimeout:
            raise LiveError("timeout", f"connect timeout: no connection to {httpx.URL(req.url).host} within {self.connect_timeout:g}s") from None
        except httpx.ReadTimeout:
            what = "mid-stream" if received else "before the first byte"
            raise LiveError("timeout", f"read timeout: the server sent nothing for {self.read_timeout:g}s ({what})") from None
        except httpx.ConnectError as exc:
            raise _connect_failure(exc, req.url) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if received:
                raise LiveError("dropped", f"connection dropped mid-stream after {received:,} bytes ({req.redact(str(exc)) or type(exc).__name__})") from None
            raise LiveError("protocol", f"the server closed the connection without a response ({req.redact(str(exc)) or type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise LiveError("protocol", req.redact(f"{type(exc).__name__}: {exc}")) from None
