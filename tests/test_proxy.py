"""``streamview proxy`` (replay/proxy.py): pass-through that changes nothing, nothing buffered, every flow a
session and a transcript, no key anywhere. Real loopback sockets only: an upstream on 127.0.0.1 (``streamview
serve``, or a small server here that records what it was sent), the proxy in its own event loop, and real clients
(the openai and anthropic SDKs, httpx)."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from streamview.replay.proxy import CANCELLED, DONE, UNREACHABLE, UPSTREAM_ERROR, Proxy, Routes, strip_hop_by_hop
from streamview.replay.serve import serve_in_thread
from streamview.replay.server import EmbeddedServer
from streamview.session import read_session

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "tests" / "fixtures" / "chat" / "tool-calls-parallel.sse"
ANTHROPIC = ROOT / "tests" / "fixtures" / "anthropic" / "thinking-signature-text.sse"
KEY = "sk-test-SECRET-0123456789"


class RunningProxy:
    """The proxy on a free port, served by its own event loop in a thread (as the App's loop would)."""

    def __init__(self, overrides: dict[str, str], record: str | None, **kw) -> None:
        self.proxy = Proxy(Routes(overrides), record, **kw)
        self.loop = asyncio.new_event_loop()
        self.server = EmbeddedServer(self.proxy, "127.0.0.1", 0)
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.server.start())
            ready.set()
            self.loop.run_until_complete(self.server.wait())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)
        self.root = self.server.root

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.thread.join(10)

    def wait_flows(self, n: int, timeout: float = 10.0) -> list:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            flows = [f for f in self.proxy.flows if f.end]
            if len(flows) >= n:
                return sorted(flows, key=lambda f: f.n)
            time.sleep(0.02)
        raise AssertionError(f"{n} flows did not end: {[(f.n, f.end) for f in self.proxy.flows]}")


@pytest.fixture
def running(tmp_path):
    made = []

    def make(overrides: dict[str, str], record: bool = True, **kw) -> RunningProxy:
        p = RunningProxy(overrides, str(tmp_path / "rec") if record else None, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


# -- a scripted upstream: records what it was sent, answers as a test says ------------------------------------
class Upstream(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 clients connect at once (the default backlog of 5 refuses some)

    def __init__(self, script):
        self.script = script
        self.seen: list[dict] = []
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, *args) -> None:
        pass

    def _any(self) -> None:
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n) if n else b""
        self.server.seen.append({"method": self.command, "path": self.path, "headers": list(self.headers.items()),
                                 "body": body})
        self.server.script(self)

    do_GET = do_POST = do_PUT = do_DELETE = _any


def _sse_events(n: int) -> list[bytes]:
    chunks = [{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]} for i in range(n)]
    chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _chunked(handler, pieces: list[bytes], gap: float = 0.0, headers: dict | None = None, status: int = 200,
             drop_after: int | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    for i, piece in enumerate(pieces):
        if drop_after is not None and i == drop_after:
            handler.wfile.flush()
            handler.connection.shutdown(2)  # the upstream goes away mid-stream, no last chunk
            return
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.flush()
        if gap:
            time.sleep(gap)
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


# -- the SDKs through the proxy ------------------------------------------------------------------------------------
def _chat_chunks(base_url: str) -> list[dict]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], stream=True)
    return [c.to_dict() for c in stream]


def test_openai_sdk_gets_through_the_proxy_what_it_gets_directly(running, tmp_path):
    server, direct = serve_in_thread(str(CHAT), speed=8.0)
    try:
        p = running({"upstream": direct.removesuffix("/v1")})
        via = _chat_chunks(p.root + "/v1")
        assert via == _chat_chunks(direct)
        (flow,) = p.wait_flows(1)
        assert flow.end == DONE and flow.status == 200 and flow.api == "chat" and flow.model == "gpt-4.1"
        assert flow.session is not None and flow.session.state.text() == read_session(open(CHAT, "rb")).state.text()
        assert flow.usage is not None and flow.ttft is not None
        # the recording replays to the same state, and holds no key
        rec = tmp_path / "rec"
        recorded = read_session(open(rec / flow.file, "rb"))
        assert recorded.state.final() == flow.session.state.final()
        (entry,) = [json.loads(line) for line in (rec / "flows.jsonl").read_text().splitlines()]
        assert entry["file"] == flow.file and entry["end"] == "done" and entry["model"] == "gpt-4.1"
        for f in rec.iterdir():
            assert KEY not in f.read_text(encoding="utf-8", errors="replace")
    finally:
        server.shutdown()


def test_anthropic_sdk_through_its_own_route(running):
    import anthropic

    server, direct = serve_in_thread(str(ANTHROPIC), speed=8.0)
    try:
        p = running({"anthropic-upstream": direct})
        client = anthropic.Anthropic(base_url=p.root, api_key=KEY, max_retries=0)
        with client.messages.stream(model="test-model", max_tokens=100,
                                    messages=[{"role": "user", "content": "hi"}]) as stream:
            text = stream.get_final_text()
        (flow,) = p.wait_flows(1)
        assert flow.api == "anthropic" and flow.upstream == direct and text
        assert text in flow.session.state.text()
    finally:
        server.shutdown()


# -- pass-through that changes nothing ---------------------------------------------------------------------------
def test_the_upstream_sees_the_request_as_the_client_sent_it(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(2)))
    p = running({"upstream": up.root, "anthropic-upstream": up.root})
    body = gzip.compress(json.dumps({"model": "m", "stream": True}).encode())
    sent = {"anthropic-beta": "a-1,b-2", "x-stainless-lang": "python", "Idempotency-Key": "idem-7",
            "x-api-key": KEY, "Content-Encoding": "gzip", "Accept-Encoding": "identity", "Connection": "keep-alive, x-hop",
            "x-hop": "drop me", "Keep-Alive": "timeout=5", "content-type": "application/json", "User-Agent": "my-app/1.0"}
    with httpx.Client() as c:
        r = c.post(p.root + "/v1/messages?beta=true", content=body, headers=sent)
    assert r.status_code == 200
    (seen,) = up.seen
    assert seen["path"] == "/v1/messages?beta=true" and seen["body"] == body
    names = {k.lower(): v for k, v in seen["headers"]}
    for k, v in sent.items():
        if k.lower() in ("connection", "x-hop", "keep-alive"):
            assert k.lower() not in names or k.lower() == "connection"  # hop-by-hop: not forwarded
        else:
            assert names[k.lower()] == v, k
    assert names["host"] == up.root.removeprefix("http://")  # not the proxy's own address
    assert len([k for k, _ in seen["headers"] if k.lower() == "user-agent"]) == 1  # the client's, nothing added
    assert p.wait_flows(1)[0].request_body == json.dumps({"model": "m", "stream": True})  # decoded for the viewer


def test_hop_by_hop_headers_and_the_ones_connection_names_are_dropped():
    kept = strip_hop_by_hop([(b"Connection", b"close, X-Mine"), (b"X-Mine", b"1"), (b"TE", b"trailers"),
                             (b"Transfer-Encoding", b"chunked"), (b"Upgrade", b"h2c"), (b"X-Other", b"2")])
    assert kept == [(b"X-Other", b"2")]


def test_a_gzip_response_arrives_still_encoded_and_chunk_by_chunk(running):
    def script(h):
        z = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        pieces = [z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH) for e in _sse_events(5)] + [z.flush()]
        _chunked(h, pieces, gap=0.05, headers={"Content-Encoding": "gzip"})

    up = Upstream(script)
    p = running({"upstream": up.root})
    arrivals = []
    with httpx.Client() as c:
        with c.stream("POST", p.root + "/v1/chat/completions", json={"model": "m", "stream": True},
                      headers={"Accept-Encoding": "gzip"}) as r:
            assert r.headers["content-encoding"] == "gzip"
            raw = b""
            for chunk in r.iter_raw():
                arrivals.append(time.monotonic())
                raw += chunk
    assert len(arrivals) >= 5  # not one buffered body
    assert b"w4 " in gzip.decompress(raw)
    (flow,) = p.wait_flows(1)
    assert flow.session.state.text() == "w0 w1 w2 w3 w4 "  # the viewer's copy decoded


def test_events_sent_apart_reach_the_client_apart(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(4), gap=0.1))
    p = running({"upstream": up.root})
    times = []
    with httpx.Client() as c:
        with c.stream("POST", p.root + "/v1/chat/completions", json={"model": "m", "stream": True}) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    times.append(time.monotonic())
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 5 and min(gaps[:3]) > 0.07, gaps  # 100 ms apart upstream: no buffering in between
    # the flow folds each chunk just after forwarding it, its events stamped with the chunk's arrival time: the
    # flow and its recording show the same gaps
    flow = p.wait_flows(1)[0]
    stamps = [ev.t for ev in flow.session.events[:5]]
    assert all(0.07 < b - a < 0.5 for a, b in zip(stamps, stamps[1:4])), stamps
    with (Path(p.proxy.record) / flow.file).open("rb") as fp:
        recorded = read_session(fp, keep=True)
    assert [ev.t for ev in recorded.events[:5]] == pytest.approx(stamps, abs=0.002)


@pytest.mark.parametrize("status", [429, 500])
def test_error_statuses_pass_through_with_their_bodies(running, status):
    body = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()

    def script(h):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("retry-after", "7")
        h.end_headers()
        h.wfile.write(body)

    up = Upstream(script)
    p = running({"upstream": up.root})
    r = httpx.post(p.root + "/v1/chat/completions", json={"model": "m", "stream": True})
    assert (r.status_code, r.content, r.headers["retry-after"]) == (status, body, "7")
    (flow,) = p.wait_flows(1)
    assert flow.status == status and flow.end == DONE and flow.file.endswith(".json")


def test_an_upstream_drop_mid_stream_reaches_the_client_as_an_error(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(6), gap=0.02, drop_after=3))
    p = running({"upstream": up.root})
    got = b""
    with pytest.raises(httpx.HTTPError):
        with httpx.Client() as c:
            with c.stream("POST", p.root + "/v1/chat/completions", json={"model": "m", "stream": True}) as r:
                for chunk in r.iter_raw():
                    got += chunk
    assert b"w2 " in got
    (flow,) = p.wait_flows(1)
    assert flow.end == UPSTREAM_ERROR and flow.events == 3


def test_a_client_that_goes_away_closes_the_upstream_request(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(40), gap=0.05))
    p = running({"upstream": up.root})
    with httpx.Client() as c:
        with c.stream("POST", p.root + "/v1/chat/completions", json={"model": "m", "stream": True}) as r:
            for line in r.iter_lines():
                if "w1 " in line:
                    break
    (flow,) = p.wait_flows(1)
    assert flow.end == CANCELLED and flow.events < 40


def test_an_unreachable_upstream_is_a_502_the_sdk_reads(running):
    import openai

    p = running({"upstream": "http://127.0.0.1:9"})  # nothing listens on the discard port
    client = openai.OpenAI(base_url=p.root + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert info.value.status_code == 502
    assert "cannot reach the upstream http://127.0.0.1:9" in str(info.value) and KEY not in str(info.value)
    assert p.wait_flows(1)[0].end == UNREACHABLE


def test_a_websocket_upgrade_is_refused_with_426(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(1)))
    p = running({"upstream": up.root})
    r = httpx.get(p.root + "/v1/realtime", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                    "Sec-WebSocket-Version": "13"})
    assert r.status_code == 426 and "WebSocket" in r.json()["error"]["message"]
    assert up.seen == []


def test_fifty_concurrent_streams_all_arrive_whole(running):
    up = Upstream(lambda h: _chunked(h, _sse_events(10), gap=0.01))
    p = running({"upstream": up.root})

    async def one(client, i):
        async with client.stream("POST", p.root + "/v1/chat/completions", json={"model": f"m{i}", "stream": True}) as r:
            return b"".join([c async for c in r.aiter_raw()])

    async def all_of_them():
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=60)) as client:
            return await asyncio.gather(*(one(client, i) for i in range(50)))

    bodies = asyncio.run(all_of_them())
    assert all(b.count(b"data: ") == 12 for b in bodies)
    flows = p.wait_flows(50)
    assert {f.model for f in flows} == {f"m{i}" for i in range(50)}
    assert all(f.session.state.text() == "".join(f"w{i} " for i in range(10)) for f in flows)


def test_no_record_keeps_flows_in_memory_only(running, tmp_path):
    up = Upstream(lambda h: _chunked(h, _sse_events(2)))
    p = running({"upstream": up.root}, record=False)
    httpx.post(p.root + "/v1/chat/completions", json={"model": "m", "stream": True})
    assert p.wait_flows(1)[0].file == ""
    assert not (tmp_path / "rec").exists()


def test_headless_keeps_no_flow_once_it_has_ended(running, tmp_path):
    """Headless (``keep=False``): what a flow folds to is seen when it ends, its events are not kept, and the flow is
    let go: a proxy left running in CI holds only the flows in flight."""
    up = Upstream(lambda h: _chunked(h, _sse_events(3)))
    ended = []
    p = running({"upstream": up.root}, keep=False,
                on_flow=lambda flow, what: ended.append((flow.line(), flow.session)) if what == "ended" else None)
    for _ in range(3):
        httpx.post(p.root + "/v1/chat/completions", json={"model": "m", "stream": True})
    deadline = time.monotonic() + 10
    while len(ended) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [line.split(" · ")[1] for line, _ in ended] == ["#1", "#2", "#3"]
    assert all("· 5 events ·" in line and "· done" in line for line, _ in ended), ended
    assert all(s.events == [] and s.count == 5 and s.state.text() == "w0 w1 w2 " for _, s in ended)
    assert p.proxy.flows == []
    assert len((tmp_path / "rec" / "flows.jsonl").read_text().splitlines()) == 3


# -- the command line ------------------------------------------------------------------------------------------------
def test_proxy_command_prints_the_lines_to_paste_and_one_line_per_flow(tmp_path):
    up = Upstream(lambda h: _chunked(h, _sse_events(2)))
    rec = tmp_path / "flows"
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "proxy", "--port", "0", "--plain", "--upstream",
                             up.root, "--record", str(rec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        lines = []
        while not any("recording every flow" in line for line in lines):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        root = next(line for line in lines if "listening on" in line).split("listening on ")[1].split(";")[0]
        assert f"  export OPENAI_BASE_URL={root}/v1\n" in lines
        assert f"  export ANTHROPIC_BASE_URL={root}\n" in lines
        httpx.post(root + "/v1/chat/completions", json={"model": "m", "stream": True},
                   headers={"Authorization": f"Bearer {KEY}"})
        out = proc.stdout.readline()
        assert "· chat · m · POST /v1/chat/completions · 200 ·" in out and "· done ·" in out and "0001-chat.sse" in out
        assert KEY not in out
    finally:
        proc.terminate()
        proc.wait(10)
    assert KEY not in "".join(f.read_text() for f in rec.iterdir())


def test_a_port_in_use_is_one_line_and_exit_2():
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        done = subprocess.run([sys.executable, "-m", "streamview", "proxy", "--plain", "--no-record", "--port",
                               str(taken.getsockname()[1])], capture_output=True, text=True, cwd=ROOT, timeout=30)
    finally:
        taken.close()
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1:" in done.stderr


def test_ctrl_c_stops_the_proxy_with_exit_130(tmp_path):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "streamview", "proxy", "--plain", "--no-record", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        while "not recording" not in proc.stderr.readline():
            assert proc.poll() is None
        proc.send_signal(signal.SIGINT)  # the proxy never took the handler over: Python's own raises in the loop
        assert proc.wait(10) == 130
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
