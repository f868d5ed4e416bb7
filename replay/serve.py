"""Serving a transcript as the endpoint of its protocol (sniffed from its events, or given): ``POST`` on the route
that protocol's SDK calls (``Protocol.serve``) answers with the transcript's events at their recorded timing, and
any other path is a 404 with a JSON error, in the shape that SDK reads, that names the route.

Each request plays the transcript through the same ``Player`` the UI uses (its pacing: recorded ``: t=`` times,
scaled by ``--speed``, or a steady pace for a transcript without timing), and writes each event's lines as they
were read (the framing's own line endings). Comment lines are left out for a protocol whose SDK cannot read them
(``ServeRoute.comments``). Served by uvicorn (``replay.server``, as the proxy is): keep-alive, chunked encoding and
many clients at once, as a real endpoint; each request's player runs in the server's event loop. The request body
is read and ignored, and no request header is ever logged."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import threading
import time
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
from .server import ThreadedServer

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


class Served:
    """One transcript a server answers with: its protocol, framing and route."""

    def __init__(self, path: str, protocol: str | None) -> None:
        self.path = path
        self.opener = transcript_opener(path)
        refuse_unreadable(path, self.opener(), protocol)
        if protocol:
            self.proto, self.framing = get(protocol), framing_of(protocol)
        else:
            self.proto, self.framing = sniff_framed(self.opener())
        self.known = protocol or (self.proto.name if self.proto.serve is not None else None)
        self.route = route_of(self.proto)
        self.answers = self.route.describe_paths()
        self.media_type = FRAMINGS[self.framing].media_type.encode()


def make_server(path: str | list[str], host: str = "127.0.0.1", port: int = 0, speed: float = 1.0,
                protocol: str | None = None, log: Callable[[str], None] | None = None) -> ThreadedServer:
    """The server (bound, not yet serving: ``serve_forever``). ``path``: a transcript, or several of different
    protocols, each answering on its own route (a request goes to the first whose route matches it; a transcript
    of no known protocol answers any route the others do not). ``log``: called with one line per request (time,
    method, path, status, events sent, how it ended); never with a header (they may hold keys), and a ``key=`` in
    the path is redacted."""
    served = [Served(p, protocol) for p in ([path] if isinstance(path, str) else path)]
    names: dict[str, str] = {}
    for t in served:
        if (t.known or "") in names:
            raise SourceError(f"{names[t.known]} and {t.path} are both {t.proto.title} transcripts: serve answers "
                              "each route with one transcript")
        names[t.known or ""] = t.path
    order = [t for t in served if t.known] + [t for t in served if not t.known]
    answers = " or ".join(t.answers for t in served)
    described = ", ".join(f"{t.answers} ({t.proto.title} transcript)" for t in served)

    def say(method: str, target: str, status: int, how: str) -> None:
        if log is not None:
            log(f"{time.strftime('%H:%M:%S')} {method} {redact_url(target)} {status} · {how}")

    async def app(scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        query = scope.get("query_string") or b""
        target = scope["path"] + (("?" + query.decode("latin-1")) if query else "")
        while True:  # the request body: read and ignored
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break

        async def json_answer(status: int, payload: dict) -> None:
            err = payload.get("error")  # {"error": {"message"}} or, for an API whose errors are flat, {"message"}
            say(method, target, status, str((err if isinstance(err, dict) else payload).get("message", "")))
            body = json.dumps(payload).encode()
            await send({"type": "http.response.start", "status": status, "headers": [
                *_own_headers(), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        t = next((t for t in order if t.route.matches(target) or t.route.matches(scope["path"])), None)
        route = (t or served[0]).route  # an error in the shape the caller's SDK reads
        if method != "POST":
            await json_answer(405, route.error_body(f"use {answers}", 405))
            return
        if t is None:
            await json_answer(404, route.error_body(f"no route {redact_url(target)}: this server answers {described}", 404))
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            *_own_headers(), (b"content-type", t.media_type), (b"cache-control", b"no-cache"),
            (route.request_id_header.encode(), f"req_streamview_serve_{int(time.time() * 1000)}".encode())]})
        queue: asyncio.Queue = asyncio.Queue()
        wire: dict[int, bytes] = {}  # an event's lines, from when it is read until it is played

        def keep(frame: Frame, ev: StreamEvent) -> None:
            if route.comments or frame.kind != "comment":
                wire[ev.index] = (frame.raw + player.framer.wire_end(frame)).encode("utf-8")

        def emit(ev: StreamEvent) -> None:
            data = wire.pop(ev.index, None)
            if data is not None:
                queue.put_nowait(data)

        try:
            fp = t.opener()
        except OSError as exc:
            await send({"type": "http.response.body", "body": b""})
            say(method, target, 200, f"0 events sent · the transcript could not be read: {exc}")
            return
        player = Player(fp, on_frame=keep, speed=speed, protocol=t.known)
        playing = asyncio.ensure_future(player.run(emit, until_finished=True))
        playing.add_done_callback(lambda _: queue.put_nowait(None))
        gone = asyncio.ensure_future(_disconnected(receive))
        sent = 0
        how = "complete"
        try:
            while True:
                getting = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getting, gone}, return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    how = "the client disconnected"
                    break
                data = getting.result()
                if data is None:
                    break
                await send({"type": "http.response.body", "body": data, "more_body": True})
                sent += 1
            if how == "complete":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                if player.read_error:
                    how = f"the transcript could not be read: {player.read_error}"
        finally:
            playing.cancel()
            gone.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await playing
            fp.close()
        say(method, target, 200, f"{events_text(sent)} sent · {how}")

    server = ThreadedServer(app, host, port)
    server.served = served  # type: ignore[attr-defined]
    server.protocol = served[0].proto.name  # type: ignore[attr-defined]
    server.route = served[0].route  # type: ignore[attr-defined]
    server.answers = answers  # type: ignore[attr-defined]
    return server


def _own_headers() -> list[tuple[bytes, bytes]]:
    from email.utils import formatdate

    return [(b"server", b"streamview-serve"), (b"date", formatdate(usegmt=True).encode())]


async def _disconnected(receive) -> None:
    while True:
        if (await receive())["type"] == "http.disconnect":
            return


def refuse_unreadable(path: str, fp: BinaryIO, protocol: str | None) -> None:
    """SourceError, before the server starts, for a transcript with no event to serve (empty, not SSE, a gzip file
    cut off before any event): a client would get an empty 200."""
    from streamview.outcome import UNREADABLE, judge
    from streamview.session import read_session

    session = read_session(fp, protocol, check=False)
    verdict = judge(session, read_error=session.read_error, anomalies=False)
    if verdict.code == UNREADABLE and not session.events_seen:
        raise SourceError(f"{path}: {verdict.reason}; nothing to serve")


def base_url(server: ThreadedServer) -> str:
    """The base URL a client of the transcript's protocol is given (``ServeRoute.base_url``: the one its SDK
    expects, to which it adds its own path)."""
    host, port = server.server_address[:2]
    return server.route.base_url(f"http://{host}:{port}")  # type: ignore[attr-defined]


def serve(path: str | list[str], host: str, port: int, speed: float, protocol: str | None = None) -> int:
    from streamview.sanitize import visible_line

    server = make_server(path, host, port, speed, protocol, log=lambda line: print(visible_line(line), file=sys.stderr, flush=True))
    host_, port_ = server.server_address[:2]
    served = server.served  # type: ignore[attr-defined]
    for n, t in enumerate(served, 1):
        print(f"streamview: serving {t.path} ({t.proto.name}) at {t.route.base_url(f'http://{host_}:{port_}')} "
              f"({t.answers})" + ("; Ctrl-C stops" if n == len(served) else ""), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def serve_in_thread(path: str, speed: float = 1.0, protocol: str | None = None) -> tuple[ThreadedServer, str]:
    """For tests and scripts: a server on a free loopback port, running in a daemon thread; returns its base URL
    (``base_url``: the base the protocol's SDK expects)."""
    server = make_server(path, "127.0.0.1", 0, speed, protocol)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # quick to shut down
    return server, base_url(server)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(sys.argv[1], "127.0.0.1", 0, 1.0))
