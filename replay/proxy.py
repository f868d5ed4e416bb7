"""``streamview proxy``: a reverse proxy by base URL that forwards each request to the real server, streams the
answer back untouched and as it arrives, and makes every request a flow: a ``Session`` fed as its bytes arrive
(the panes, the checks, time travel work on it as on a replay), recorded as a transcript as it arrives.

Pass-through changes nothing:

- the request goes upstream with its method, path, query string and body bytes unchanged (a compressed body
  too), and every header byte for byte except the hop-by-hop set (RFC 9110 7.6.1: ``Connection`` and the fields it
  names, ``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``,
  ``Proxy-Authorization``), ``Host`` and ``Content-Length`` (httpx sets both); nothing is added (httpx's own
  ``Accept``, ``Accept-Encoding`` and ``User-Agent`` are removed), so the client's ``Accept-Encoding`` decides;
- the response reaches the client as the upstream sent it, encoded if it was: each chunk is written to the client
  before the next one is awaited; a decoded copy feeds the flow;
- no read timeout upstream (a reasoning model may be silent for minutes before its first token); an upstream that
  drops mid-stream aborts the client's connection (the SDK sees a truncated stream, not a clean end); a client
  that goes away closes the upstream request; an upstream that cannot be reached is a 502 with a JSON error in the
  shape the route's SDK reads, naming the upstream and the fault; a WebSocket upgrade is answered 426.

Routing is the protocols' (``ServeRoute.matches``, ``upstream``, ``upstream_option``): each request goes to the
upstream of the protocol whose route matches its path, any other path (models, files, embeddings) to the
default upstream (the option ``upstream``) as a plain flow. Keys are forwarded and nowhere else: the recording
keeps no request header, the public response headers only, and URLs with ``key=`` values redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from streamview.protocols import Protocol, registered, upstream_options
from streamview.sanitize import visible_line
from streamview.secrets import public_headers, redact_url
from streamview.session import Session
from streamview.source import EventReader
from streamview.sse import TranscriptMeta

from .recorder import Recorder

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "proxy-authorization", "proxy-authenticate"})
DEFAULT_OPTION = "upstream"
STARTED, UPDATED, ENDED = "started", "updated", "ended"
# how a flow ended
DONE, CANCELLED, UPSTREAM_ERROR, UNREACHABLE, INTERRUPTED, REFUSED = (
    "done", "client cancelled", "upstream error", "upstream unreachable", "interrupted", "refused")


def strip_hop_by_hop(headers: list[tuple[bytes, bytes]], also: tuple[bytes, ...] = ()) -> list[tuple[bytes, bytes]]:
    """``headers`` without the hop-by-hop set, the fields ``Connection`` names, and ``also`` (lower-case names)."""
    named = set()
    for k, v in headers:
        if k.lower() == b"connection":
            named.update(t.strip().lower() for t in v.split(b",") if t.strip())
    drop = {h.encode() for h in HOP_BY_HOP} | named | set(also)
    return [(k, v) for k, v in headers if k.lower() not in drop]


class Routes:
    """Which upstream a path goes to, and which protocol its flow speaks (None: a plain flow)."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        overrides = {k: v.rstrip("/") for k, v in (overrides or {}).items() if v}
        self.table: list[tuple[Protocol, str]] = []
        self.default = ""
        for proto in registered():
            route = proto.serve
            if route is None or not route.upstream:
                continue
            upstream = overrides.get(route.upstream_option, route.upstream).rstrip("/")
            self.table.append((proto, upstream))
            if route.upstream_option == DEFAULT_OPTION and not self.default:
                self.default = upstream
        self.default = overrides.get(DEFAULT_OPTION, self.default)

    def route(self, path: str) -> tuple[Protocol | None, str]:
        for proto, upstream in self.table:
            if proto.serve is not None and proto.serve.matches(path):
                return proto, upstream
        return None, self.default

    @staticmethod
    def options() -> list[tuple[str, str]]:
        """``(option, default upstream)`` for each option the registered protocols name, in registry order."""
        return upstream_options()

    @staticmethod
    def exports(root: str) -> list[str]:
        """The lines to paste: each SDK's base-URL variable pointed at the proxy (``root``)."""
        lines: dict[str, str] = {}
        for proto in registered():
            route = proto.serve
            if route is not None and route.base_env and route.base_env not in lines:
                lines[route.base_env] = f"export {route.base_env}={route.base_url(root)}"
        return list(lines.values())


class Decoder:
    """The response body decoded for the viewer (gzip, deflate; br and zstd when their module is installed),
    incrementally: what the client receives stays as the upstream sent it."""

    def __init__(self, encoding: str) -> None:
        enc = encoding.strip().lower()
        self.encoding = enc
        self.error = ""
        self._z: Any = None
        if enc in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._z = zlib.decompressobj()
        elif enc == "br":
            try:
                import brotli  # type: ignore[import-not-found]

                self._z = brotli.Decompressor()
            except ImportError:
                self.error = "br-encoded (install brotli to decode it)"
        elif enc == "zstd":
            try:
                import zstandard  # type: ignore[import-not-found]

                self._z = zstandard.ZstdDecompressor().decompressobj()
            except ImportError:
                self.error = "zstd-encoded (install zstandard to decode it)"
        elif enc not in ("", "identity"):
            self.error = f"{enc}-encoded: not decoded"

    def feed(self, chunk: bytes) -> bytes:
        if self.error:
            return b""
        if self._z is None:
            return chunk
        try:
            if hasattr(self._z, "decompress"):
                return self._z.decompress(chunk)
            return self._z.process(chunk)
        except Exception as exc:  # a corrupt body: the client still gets it as sent
            self.error = f"cannot decode the {self.encoding} body: {exc}"
            return b""


def decoded_request(body: bytes, encoding: str) -> str:
    """The request body as text for the viewer (decoded if compressed; the bytes sent upstream are the original)."""
    if encoding:
        d = Decoder(encoding)
        out = d.feed(body)
        if d.error:
            return f"({len(body):,} bytes, {d.error})"
        body = out + (d._z.flush() if hasattr(d._z, "flush") else b"")
    return body.decode("utf-8", "replace")


def framing_of_type(content_type: str) -> str | None:
    ct = content_type.split(";")[0].strip().lower()
    if ct == "text/event-stream":
        return "sse"
    if ct in ("application/x-ndjson", "application/jsonl", "application/json-lines"):
        return "ndjson"
    return None


@dataclass
class Flow:
    """One request through the proxy, and what its answer added up to so far."""

    n: int
    method: str
    path: str  # path and query string, ``key=`` values redacted
    upstream: str
    protocol: Protocol | None
    started: float = field(default_factory=time.time)  # wall clock
    t0: float = field(default_factory=time.monotonic)
    request_body: str = ""
    model: str = ""
    stream: bool | None = None
    status: int | None = None
    first_byte: float | None = None  # seconds after the request
    ended_at: float | None = None
    end: str = ""  # "" while in flight
    ending: str = ""  # how it is ending, when the client went away (the upstream request is being closed)
    error: str = ""
    bytes: int = 0
    file: str = ""
    session: Session | None = None
    body: bytearray = field(default_factory=bytearray)  # a plain (not streamed) response, decoded, up to PLAIN_LIMIT
    # decoded chunks forwarded and not folded yet, each with its arrival time (``Proxy._fold``), and the arrival
    # time of the chunk being folded (the clock its events are stamped with)
    pending: list = field(default_factory=list)
    arrived: float = 0.0
    framing: str | None = None  # a streamed response's ("sse", "ndjson"); None: a plain one (or none yet)
    opening: tuple | None = None  # (url, response headers) until its session is made (``Proxy._open``)
    reader: EventReader | None = None  # what the decoded body is read with
    recorder: Recorder | None = None

    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 4)

    @property
    def api(self) -> str:
        return self.protocol.name if self.protocol is not None else ""

    @property
    def duration(self) -> float | None:
        return self.ended_at

    @property
    def ttft(self) -> float | None:
        s = self.session
        return s.time_to_first_delta if s is not None else None

    @property
    def events(self) -> int:
        return self.session.count if self.session is not None else 0

    @property
    def usage(self) -> tuple[Any, Any] | None:
        u = self.session.state.usage if self.session is not None else None
        if isinstance(u, dict):
            return u.get("input_tokens"), u.get("output_tokens")
        return None

    @property
    def anomalies(self) -> int:
        s = self.session
        return sum(1 for a in s.anomalies if a.severity == "error") if s is not None else 0

    def index_entry(self) -> dict[str, Any]:
        usage = self.usage
        return {"n": self.n, "started": round(self.started, 3), "method": self.method, "path": self.path,
                "upstream": self.upstream, "api": self.api or None, "model": self.model or None,
                "stream": self.stream, "status": self.status, "ttft": self.ttft, "duration": self.duration,
                "events": self.events, "input_tokens": usage[0] if usage else None,
                "output_tokens": usage[1] if usage else None, "end": self.end or None, "error": self.error or None,
                "anomalies": self.anomalies, "file": self.file or None}

    def line(self) -> str:
        """One line for ``--plain``: time, API, model, status, TTFT, duration, tokens, end, file."""
        usage = self.usage
        tokens = f"{usage[0]} in / {usage[1]} out" if usage else "tokens -"
        if not usage and self.session is not None and self.protocol is not None:
            tokens += f" (its usage {self.protocol.usage_hint})"  # never a 0 for a stream that carried none
        bits = [time.strftime("%H:%M:%S", time.localtime(self.started)), f"#{self.n}", self.api or "http",
                self.model or "-", f"{self.method} {self.path}", str(self.status or "-"),
                f"ttft {self.ttft:.2f}s" if self.ttft is not None else "ttft -",
                f"{self.duration:.2f}s" if self.duration is not None else "-", tokens,
                f"{self.events} events", self.end + (f": {self.error}" if self.error else "")]
        if self.anomalies:
            bits.append(f"{self.anomalies} error anomalies")
        if self.file:
            bits.append(self.file)
        return "streamview proxy: " + " · ".join(bits)


PLAIN_LIMIT = 1 << 20  # bytes of a plain response body kept for the viewer (the client always gets all of it)
FOLD_SLICE = 0.002  # seconds of folding at a go before the loop's I/O is let in (``Proxy._fold_some``)


class Proxy:
    """The ASGI application. ``on_flow(flow, what)`` is called when a flow starts, updates (an event arrived) and
    ends; ``record``: the folder each flow's transcript and the ``flows.jsonl`` index go to (None: memory only)."""

    def __init__(self, routes: Routes, record: str | None = None,
                 on_flow: Callable[[Flow, str], None] | None = None, keep: bool = True) -> None:
        """``keep``: the flows stay, each session with its events, for a viewer (the flow list); False (headless):
        a session keeps only what it folds to, and a flow is let go once it has ended and ``on_flow`` has seen it,
        so that a proxy left running in CI holds only the flows in flight."""
        self.routes = routes
        self.record = record
        self.on_flow = on_flow or (lambda flow, what: None)
        self.keep = keep
        self.flows: list[Flow] = []
        self.started = 0  # flows started, in all (the next one's number is one more)
        self.events = 0  # events folded into the flows, in all
        self._client: Any = None
        self._index: Any = None  # flows.jsonl, open while the proxy runs
        self._folding: deque[Flow] = deque()  # flows with chunks not folded yet, in the order they came
        self._folder: asyncio.Task | None = None
        if record:
            os.makedirs(record, exist_ok=True)

    # -- the upstream client ---------------------------------------------------------------------------------
    def client(self):
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=httpx.Timeout(connect=10.0, read=None, write=60.0, pool=None),
                                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
                                             follow_redirects=False)
            self._client.headers.clear()  # its own Accept, Accept-Encoding, Connection, User-Agent: none
        return self._client

    async def start(self) -> None:
        """Make the upstream client before the first request: its TLS context (the CA bundle read and parsed) takes
        tens of milliseconds, in a thread here rather than in the event loop while the first streams flow. The
        routed protocols' modules are imported now too, not by the first flow of each."""
        await asyncio.to_thread(self._warm)
        for proto, _ in self.routes.table:
            Session("", None, proto.name)

    def _warm(self) -> None:
        self.client()
        import importlib

        # what httpcore's async path imports at its first request (anyio loads these lazily: 20 ms of imports)
        for name in ("anyio._backends._asyncio", "anyio._core._sockets", "anyio._core._synchronization",
                     "anyio.streams.memory", "anyio.streams.stapled", "anyio.streams.tls"):
            try:
                importlib.import_module(name)
            except ImportError:  # another anyio: only the first request is slower
                pass

    async def aclose(self) -> None:
        while self._folding:  # nothing received is left unfolded (or unrecorded)
            self._fold(self._folding.popleft())
        if self._folder is not None:
            self._folder.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- ASGI ----------------------------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        target = raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
        proto, upstream = self.routes.route(scope["path"])
        self.started += 1
        flow = Flow(self.started, scope["method"], redact_url(target), upstream, proto)
        self.flows.append(flow)
        headers = [(k, v) for k, v in scope["headers"]]
        if any(k.lower() == b"upgrade" and b"websocket" in v.lower() for k, v in headers):
            await self._refuse_websocket(flow, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._end(flow, CANCELLED)
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        encoding = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-encoding"), "")
        flow.request_body = decoded_request(bytes(body), encoding)
        self._request_facts(flow)
        self.on_flow(flow, STARTED)
        forward = strip_hop_by_hop(headers, also=(b"host", b"content-length"))
        stream = asyncio.ensure_future(self._forward(flow, upstream + target, forward, bytes(body), send))
        watch = asyncio.ensure_future(self._watch_disconnect(receive))
        try:
            done, _ = await asyncio.wait({stream, watch}, return_when=asyncio.FIRST_COMPLETED)
            if stream not in done:  # the client went away first: close the upstream request
                # (an SDK closes its connection once the stream's terminal event is read: that flow is done)
                self._fold(flow)
                ended = flow.session is not None and flow.session.state.terminal_event is not None
                flow_end = DONE if ended else CANCELLED
                flow.ending = flow_end
                stream.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await stream
                self._end(flow, flow_end)
                return
            stream.result()  # an upstream drop mid-stream raises here: uvicorn aborts the client's connection
        finally:
            watch.cancel()

    @staticmethod
    async def _watch_disconnect(receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    async def _refuse_websocket(self, flow: Flow, send) -> None:
        message = ("streamview proxy forwards HTTP only: a WebSocket upgrade is refused (426). Make the client use "
                   "HTTP streaming (see the README: Watch your own application)")
        await self._json(send, 426, self._error_body(flow, message, 426))
        flow.status = 426
        self._end(flow, REFUSED, message)

    def _error_body(self, flow: Flow, message: str, status: int) -> dict:
        if flow.protocol is not None and flow.protocol.serve is not None:
            return flow.protocol.serve.error_body(message, status)
        return {"error": {"message": message, "type": "proxy_error", "code": status}}

    @staticmethod
    async def _json(send, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    def _request_facts(flow: Flow) -> None:
        try:
            data = json.loads(flow.request_body) if flow.request_body[:1] == "{" else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("model"), str):
                flow.model = data["model"]
            if isinstance(data.get("stream"), bool):
                flow.stream = data["stream"]
        route = flow.protocol.serve if flow.protocol is not None else None
        if not flow.model and route is not None:
            flow.model = route.model_of(flow.path.split("?", 1)[0]) or ""  # a protocol that names it in the path

    async def _forward(self, flow: Flow, url: str, headers: list[tuple[bytes, bytes]], body: bytes, send) -> None:
        import httpx

        client = self.client()
        request = client.build_request(flow.method, url, headers=headers, content=body)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            message = f"streamview proxy: cannot reach the upstream {redact_url(flow.upstream)}: {_fault(exc)}"
            await self._json(send, 502, self._error_body(flow, message, 502))
            flow.status = 502
            self._end(flow, UNREACHABLE, _fault(exc))
            return
        try:
            flow.status = response.status_code
            out_headers = strip_hop_by_hop(list(response.headers.raw))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            framing = framing_of_type(response.headers.get("content-type", ""))
            decoder = Decoder(response.headers.get("content-encoding", ""))
            if flow.stream is None:
                flow.stream = framing is not None  # the request did not say: the answer does
            if framing is not None:  # its session, reader and recorder are made when it is first folded (_open)
                flow.framing = framing
                flow.opening = (url, list(response.headers.raw))
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if flow.first_byte is None:
                    flow.first_byte = flow.elapsed()
                flow.bytes += len(chunk)
                self._take(flow, decoder.feed(chunk))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            self._take(flow, _flush(decoder))
            self._finish(flow, DONE, decoder.error)
        except (httpx.HTTPError, OSError) as exc:
            self._finish(flow, UPSTREAM_ERROR, _fault(exc))
            raise  # after the response started: uvicorn aborts the connection, the client sees it cut
        except asyncio.CancelledError:
            self._finish(flow, flow.ending or CANCELLED, "")
            raise
        finally:
            await response.aclose()
            if flow.recorder is not None:
                flow.recorder.close()

    def _take(self, flow: Flow, data: bytes) -> None:
        """A chunk the client has been sent, decoded: folded into the flow (and recorded) just after, off the
        forwarding path, so that the chunks of other flows that arrived with it are forwarded first."""
        if not data:
            return
        if flow.framing is None:
            if len(flow.body) < PLAIN_LIMIT:
                flow.body += data[: PLAIN_LIMIT - len(flow.body)]
            return
        flow.pending.append((flow.elapsed(), data))
        if len(flow.pending) == 1:
            self._folding.append(flow)
            if self._folder is None or self._folder.done():
                self._folder = asyncio.get_running_loop().create_task(self._fold_some())

    async def _fold_some(self) -> None:
        """Fold the flows that have chunks waiting, a slice of time at a go, the loop's I/O let in between: 50
        flows starting at once (each one's session made and its transcript opened) would otherwise hold every
        stream's next chunk for tens of milliseconds."""
        folding = self._folding
        while folding:
            until = time.perf_counter() + FOLD_SLICE
            while folding and time.perf_counter() < until:
                self._fold(folding.popleft())
            await asyncio.sleep(0)

    def _open(self, flow: Flow) -> None:
        """A streamed flow's session, the reader of its decoded body and its recorder (the transcript's header
        written), made once, at its first fold: the response's first chunk has been forwarded by then."""
        url, raw = flow.opening
        flow.opening = None
        text_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
        meta = TranscriptMeta(recorded=True, request=f"{flow.method} {redact_url(url)}",
                              request_body=flow.request_body, status=flow.status, headers=public_headers(text_headers))
        recorder = flow.recorder = self._recorder(flow, meta, flow.framing)
        flow.reader = EventReader(clock=lambda: flow.arrived, on_frame=recorder.on_frame if recorder else None,
                                  framing=flow.framing)
        flow.session = Session(f"flow {flow.n}", meta, flow.api or None, framing=flow.framing, keep=self.keep)

    def _fold(self, flow: Flow) -> None:
        """Fold the flow's pending chunks into its session, each event stamped with its chunk's arrival time."""
        pending, flow.pending = flow.pending, []
        if flow.opening is not None:
            self._open(flow)
        reader, session = flow.reader, flow.session
        if not pending or reader is None or session is None:
            return
        added = 0
        for flow.arrived, data in pending:
            events = reader.feed(data)
            for ev in events:
                session.add(ev)
            added += len(events)
        if added:
            self.events += added
            self.on_flow(flow, UPDATED)

    def _finish(self, flow: Flow, end: str, error: str) -> None:
        if flow.end:
            return
        if flow.framing is not None:
            self._fold(flow)
            if flow.reader is not None and flow.session is not None:
                flow.arrived = flow.elapsed()
                for ev in flow.reader.finish():
                    flow.session.add(ev)
                flow.session.finish()
        elif self.record:
            self._write_plain(flow)
        self._end(flow, end, error)

    def _end(self, flow: Flow, end: str, error: str = "") -> None:
        if flow.end:
            return
        flow.end = end
        flow.error = error
        flow.ended_at = flow.elapsed()
        if flow.session is not None and not flow.session.finished:
            flow.session.finish()
        if self.record:
            if self._index is None:
                self._index = open(os.path.join(self.record, "flows.jsonl"), "a", encoding="utf-8")
            self._index.write(json.dumps(flow.index_entry(), ensure_ascii=False) + "\n")
            self._index.flush()  # a killed proxy loses no line
        self.on_flow(flow, ENDED)
        if not self.keep:
            self.flows.remove(flow)

    # -- recording -----------------------------------------------------------------------------------------------
    def _name(self, flow: Flow, ext: str) -> str:
        return f"{flow.n:04d}-{flow.api or 'http'}{ext}"

    def _recorder(self, flow: Flow, meta: TranscriptMeta, framing: str) -> Recorder | None:
        if not self.record:
            return None
        flow.file = self._name(flow, ".ndjson" if framing == "ndjson" else ".sse")
        return Recorder(os.path.join(self.record, flow.file), meta, redact_url, framing)

    def _write_plain(self, flow: Flow) -> None:
        """A response that is not a stream (JSON, an error page): its body as decoded, in its own form."""
        flow.file = self._name(flow, ".json" if flow.body[:1] in (b"{", b"[") else ".txt")
        with open(os.path.join(self.record, flow.file), "wb") as fh:
            fh.write(bytes(flow.body))


def _flush(decoder: Decoder) -> bytes:
    z = decoder._z
    if z is None or decoder.error or not hasattr(z, "flush"):
        return b""
    try:
        return z.flush()
    except Exception:
        return b""


def _fault(exc: BaseException) -> str:
    """An httpx failure in a few words."""
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name


async def run_headless(routes: Routes, host: str, port: int, record: str | None, say: Callable[[str], None],
                       out=None) -> int:
    """``streamview proxy --plain``: listen, print the lines to paste and the record folder (stderr), then one line
    per flow on stdout as it ends; until cancelled (Ctrl-C)."""
    import sys

    from .server import EmbeddedServer

    out = out or sys.stdout

    def on_flow(flow: Flow, what: str) -> None:
        if what == ENDED:
            out.write(visible_line(flow.line()) + "\n")
            out.flush()

    proxy = Proxy(routes, record, on_flow, keep=False)
    server = EmbeddedServer(proxy, host, port)
    await proxy.start()
    await server.start()
    import gc

    # what is alive now (modules, classes, the server) lives as long as the proxy: frozen, so that the collector's
    # full passes walk only the flows' objects (a full pass over it all held every stream for 20 ms and more)
    gc.collect()
    gc.freeze()
    say(f"streamview proxy: listening on {server.root}; point your application at it:")
    for line in Routes.exports(server.root):
        say(f"  {line}")
    say(f"streamview proxy: recording every flow to {os.path.abspath(record)}" if record else
        "streamview proxy: not recording (--no-record): flows are kept in memory only")
    try:
        await server.wait()
    finally:
        await server.stop()
        await proxy.aclose()
    return 0


class FlowPlayer:
    """A flow, with the face of a ``Player`` that the App reads: it arrives in real time (the proxy feeds its
    session), so there is nothing to pace, pause or restart; it is finished when the flow has ended."""

    instant = True
    paused = False
    speed = 1.0
    follow = False
    total = None
    interrupted = False
    cursor = 0
    buffer: list = []

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.live = flow  # not a file: the App offers no speed keys

    @property
    def finished(self) -> bool:
        return bool(self.flow.end)

    @property
    def read_error(self) -> str | None:
        f = self.flow
        return f"{f.end}: {f.error}" if f.end in (UPSTREAM_ERROR, UNREACHABLE) and f.error else None

    @property
    def meta(self) -> TranscriptMeta:
        return self.flow.session.meta if self.flow.session is not None else TranscriptMeta()

    async def run(self, emit, on_finish=None, *, until_finished: bool = False, emit_many=None) -> None:
        while not self.flow.end:
            await asyncio.sleep(0.05)
        if on_finish is not None:
            on_finish()

    def toggle_pause(self) -> None: ...
    def step(self) -> None: ...
    def faster(self) -> None: ...
    def slower(self) -> None: ...
    def to_end(self) -> None: ...
    def restart(self) -> None: ...


class RecordedFlows:
    """A folder the proxy recorded, read back (``streamview replay DIR``): its flows, each with the Session its
    transcript folds to, for the flow list."""

    routes = None
    events = 0  # none arrive: the flows were read before the App started

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.flows: list[Flow] = load_flows(folder)

    async def aclose(self) -> None:
        pass


def load_flows(folder: str) -> list[Flow]:
    """The flows of a recorded folder, from its ``flows.jsonl`` index (one line per flow), each streamed flow's
    transcript read into a finished Session. A line that cannot be read is skipped; a transcript that is gone
    leaves its flow without a session (its row still shows)."""
    from streamview.protocols import get

    flows: list[Flow] = []
    with open(os.path.join(folder, "flows.jsonl"), encoding="utf-8") as fh:
        for line in fh:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if not isinstance(e, dict) or not isinstance(e.get("n"), int):
                continue
            try:
                proto = get(e["api"]) if e.get("api") else None
            except ValueError:
                proto = None
            flow = Flow(e["n"], str(e.get("method") or ""), str(e.get("path") or ""), str(e.get("upstream") or ""),
                        proto, started=float(e.get("started") or 0), model=str(e.get("model") or ""),
                        stream=e.get("stream"), status=e.get("status"), ended_at=e.get("duration"),
                        end=str(e.get("end") or INTERRUPTED), error=str(e.get("error") or ""),
                        file=str(e.get("file") or ""))
            path = os.path.join(folder, flow.file) if flow.file else ""
            if path and path.endswith((".sse", ".ndjson")) and os.path.isfile(path):
                flow.session = _read_flow(path, flow)
                flow.request_body = flow.session.meta.request_body
            flows.append(flow)
    return sorted(flows, key=lambda f: f.n)


def _read_flow(path: str, flow: Flow) -> Session:
    """A flow's transcript read into a Session that keeps its events (the panes show them)."""
    from streamview.session import read_session

    with open(path, "rb") as fp:
        return read_session(fp, flow.api or None, keep=True, source=f"flow {flow.n}")


def is_recorded_folder(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "flows.jsonl"))
