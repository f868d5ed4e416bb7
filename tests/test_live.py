"""Live mode end to end against real HTTP servers on 127.0.0.1 (no mocked transport): awkward chunking, every
error status, refused / unresolvable / stalled / dropped connections, Ctrl-C, recording, `serve`, and the key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from streamview.session import Session
from streamview.source import read_events
from tests.conftest import FIXTURES, ROOT, SEED_O4, screen_text, wait_until
from tests.livefixtures import ERRORS, FaultServer, free_port

KEY = "sk-test-streamview-9f2c1e7d5b"
UNICODE = FIXTURES / "responses" / "markdown-unicode-obfuscation.sse"


def final_of(path) -> dict:
    with open(path, "rb") as fp:
        events, reader = read_events(fp)
    model = Session(meta=reader.meta)
    for ev in events:
        model.add(ev)
    return model.state.final() | {"text": model.state.text(), "events": len(events)}


def cli(*args: str, key: str | None = KEY, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    if key is not None:
        env["OPENAI_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "streamview", *args], capture_output=True, timeout=timeout, env=env, cwd=ROOT)


def one_line(err: bytes) -> str:
    text = err.decode()
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def server():
    srv = FaultServer(UNICODE)
    yield srv
    srv.close()


def test_chunked_stream_plain_save_and_replay(server, tmp_path):
    out = tmp_path / "out.sse"
    r = cli("live", "Say hello", "--base-url", server.url("chunked"), "--plain", "--save", str(out))
    assert r.returncode == 0, r.stderr
    expected = final_of(UNICODE)
    assert r.stdout.decode() == expected["text"] + "\n"  # split mid-line and mid-character, assembled whole
    summary = one_line(r.stderr)
    assert "completed" in summary and f"{expected['events']} events" in summary
    saved = out.read_text(encoding="utf-8")
    assert saved.startswith(": streamview transcript 1\n: request POST http://127.0.0.1:")
    assert ": status 200" in saved and ": header x-request-id: req_test_123" in saved
    assert saved.count(": t=") == expected["events"]
    replayed = final_of(out)
    for key in ("id", "model", "status", "usage", "output", "text", "events"):
        assert replayed[key] == expected[key], key
    for blob in (r.stdout.decode(), r.stderr.decode(), saved):
        assert KEY not in blob
    (request,) = server.requests
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = json.loads(request["body"])
    assert body["stream"] is True and body["input"] == "Say hello" and body["model"]
    assert "Authorization" not in saved and "Bearer" not in saved


def test_request_options_reach_the_body(server, tmp_path):
    extra = tmp_path / "extra.json"
    extra.write_text('{"store": false, "metadata": {"run": "t1"}}')
    r = cli("Say hi", "--base-url", server.url("plain"), "--plain", "--model", "gpt-test", "--instructions", "be terse",
            "--reasoning-effort", "low", "--max-output-tokens", "50", "--temperature", "0.2", "--body", f"@{extra}",
            "--header", "X-Trace: abc")
    assert r.returncode == 0, r.stderr
    (request,) = server.requests
    body = json.loads(request["body"])
    assert body == {"model": "gpt-test", "input": "Say hi", "instructions": "be terse", "reasoning": {"effort": "low"},
                    "max_output_tokens": 50, "temperature": 0.2, "store": False, "metadata": {"run": "t1"}, "stream": True}
    assert request["headers"]["X-Trace"] == "abc"


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_http_errors_say_status_and_server_message(server, tmp_path, code):
    out = tmp_path / "err.sse"
    r = cli("live", "hi", "--base-url", server.url(f"status/{code}"), "--plain", "--save", str(out))
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert f"HTTP {code}" in line
    assert ERRORS[code][1].split(":")[0].split("{")[0].strip() in line  # the server's own words
    assert KEY not in line
    if code == 401:
        assert "[redacted]" in line  # the server echoed the key: it does not reach the terminal
    saved = out.read_text()
    assert f": status {code}" in saved and KEY not in saved


def test_connection_refused():
    r = cli("live", "hi", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--plain")
    assert r.returncode == 1
    assert "connection refused" in one_line(r.stderr)


def test_dns_failure():
    r = cli("live", "hi", "--base-url", "http://streamview-no-such-host.invalid/v1", "--plain")
    assert r.returncode == 1
    assert "could not resolve host" in one_line(r.stderr)


def test_read_timeout(server):
    r = cli("live", "hi", "--base-url", server.url("stall"), "--plain", "--timeout", "0.5")
    assert r.returncode == 1
    assert "read timeout" in one_line(r.stderr)


def test_dropped_connection_keeps_everything_received(server, tmp_path):
    out = tmp_path / "dropped.sse"
    r = cli("live", "hi", "--base-url", server.url("drop"), "--plain", "--save", str(out))
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "dropped mid-stream" in line
    body = UNICODE.read_bytes()
    sent = body[: body.index(b"\n\n", len(body) // 2) + 2]
    sent_events = sent.count(b"\nevent: ") + 1
    assert f"{sent_events} events" in line
    saved = out.read_text()
    assert saved.count("\nevent: ") == sent_events  # every event received is on record
    assert final_of(out)["events"] == sent_events


def test_no_key_is_refused_before_any_request(server):
    r = cli("live", "hi", "--base-url", server.url("plain"), "--plain", key=None)
    assert r.returncode == 2
    assert "OPENAI_API_KEY is not set" in one_line(r.stderr)
    assert server.requests == []


def test_ctrl_c_stops_cleanly_and_keeps_the_recording(server, tmp_path):
    out = tmp_path / "interrupted.sse"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"} | {"OPENAI_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "live", "hi", "--base-url", server.url("slow"), "--plain", "--save", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count(": t=") < 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted by Ctrl-C" in one_line(stderr)
    saved = out.read_text()
    assert saved.count(": t=") >= 4
    assert final_of(out)["events"] == saved.count(": t=")


def test_ctrl_c_to_the_whole_process_group_stops_once(server, tmp_path):
    """Ctrl-C in a terminal signals the process group, the reading process too: the app stops as with Ctrl-C to it
    alone (exit 130, the recording kept), the server saw one request (no second one from a fallback reader), and
    no reading process is left behind."""
    out = tmp_path / "interrupted.sse"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"} | {"OPENAI_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "live", "hi", "--base-url", server.url("slow"), "--plain",
                             "--save", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count(": t=") < 4):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted by Ctrl-C" in one_line(stderr)
    assert out.read_text().count(": t=") >= 4
    time.sleep(0.5)
    assert len(server.requests) == 1
    with pytest.raises(ProcessLookupError):  # (the group is empty: no reader lingers)
        os.killpg(proc.pid, 0)


# -- the readers (LiveSource.chunks) -------------------------------------------------------------------

def live_source(server, kind: str, read_timeout: float = 30):
    from streamview.live import LiveSource, build_request

    return LiveSource(build_request("hi", base_url=server.url(kind), env={"OPENAI_API_KEY": KEY}), read_timeout=read_timeout)


def readers() -> list:
    """The live source's readers still running: its threads, and this process's children that run ``live_child``."""
    import threading

    found: list = [t for t in threading.enumerate() if t.name == "streamview-live"]
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open(f"/proc/{pid}/stat", "rb") as fp:
                ppid = int(fp.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fp:
                cmd = fp.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"streamview.live_child" in cmd:
            found.append(int(pid))
    return found


@pytest.fixture(params=["process", "thread"])
def reader(request, monkeypatch):
    """Each way the live source reads a body: a process of its own (the default), and a thread (where no process
    can be started)."""
    import streamview.live as live

    monkeypatch.setattr(live, "READER", request.param)
    return request.param


def test_an_events_time_is_when_its_bytes_came_not_when_the_loop_was_free(server, reader):
    """The loop is kept busy (0.9 s without a turn) after the first chunk of a stream that sends an event every
    0.2 s: the chunks that came meanwhile are timed as they came, 0.2 s apart, not all at the moment the loop
    looked (which is what the loop's own clock would have said)."""
    import asyncio

    async def main():
        source = live_source(server, "slow")
        times, looked = [], []
        chunks = source.chunks()
        async for _ in chunks:
            times.append(source.elapsed())
            looked.append(round(time.monotonic() - source._t0, 4))
            if len(times) == 1:
                time.sleep(0.9)  # (blocks the loop; the reader reads on)
            if len(times) == 5:
                break
        await chunks.aclose()
        return times, looked

    times, looked = asyncio.run(main())
    assert len(times) == 5
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(g > 0.1 for g in gaps[1:]), gaps  # each chunk when it came, 0.2 s after the one before
    assert looked[1] - times[1] > 0.4  # the second chunk waited while the loop was busy: its time is not the wait's


def test_a_consumer_that_stops_ends_the_reader_at_once(server, reader):
    """A stream that stalls for 3 s after its first event, read with a 30 s timeout: when the consumer stops (the
    generator closed, or the task cancelled while it waits), the connection is shut and the reader (thread or
    process) ends within a second, not at the stall's end or the read timeout."""
    if reader == "process" and not os.path.isdir("/proc"):
        pytest.skip("this test finds the reading process in /proc, which this system does not have")
    import asyncio

    async def closed():
        source = live_source(server, "stall")
        chunks = source.chunks()
        await chunks.__anext__()
        assert len(readers()) == 1
        await chunks.aclose()

    async def cancelled():
        source = live_source(server, "stall")
        chunks = source.chunks()
        await chunks.__anext__()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(chunks.__anext__(), 0.3)  # (cancelled while it waits for the next chunk)

    for run in (closed, cancelled):
        asyncio.run(run())
        t0 = time.monotonic()
        while readers() and time.monotonic() - t0 < 1.0:
            time.sleep(0.02)
        assert readers() == [], run.__name__


def test_a_loop_far_behind_the_reader_loses_nothing(server, monkeypatch, reader):
    """With room for only 64 bytes read ahead of the loop, a body that comes in thousands of chunks of 1 to 7
    bytes, read by a loop that dawdles: every byte arrives, in order (the reader waits for room and goes on; a
    reading process has the pipe's own buffer besides)."""
    import asyncio

    import streamview.live as live

    monkeypatch.setattr(live, "QUEUE_BYTES", 64)

    async def main():
        source = live_source(server, "chunked")
        got = []
        async for chunk in source.chunks():
            got.append(chunk)
            if len(got) % 200 == 0:
                time.sleep(0.01)  # (the loop busy: the reader fills its 64 bytes and waits)
        return b"".join(got), len(got)

    body, n = asyncio.run(asyncio.wait_for(main(), 60))
    assert body == UNICODE.read_bytes() and n > 500


def test_a_reader_started_early_is_the_one_that_reads_and_close_stops_an_unused_one(server):
    """``start`` (the command line calls it as the app starts) leaves a reading process waiting with no request
    made; ``chunks`` then reads through that same process, and one request is made. A source started and never
    read is stopped by ``close``: no process is left."""
    import asyncio

    if not os.path.isdir("/proc"):
        pytest.skip("this test finds the reading process in /proc, which this system does not have")

    async def main():
        source = live_source(server, "chunked")
        source.start()
        (early,) = readers()
        time.sleep(0.5)
        assert server.requests == []  # (waiting for its request)
        chunks = source.chunks()
        got = [await chunks.__anext__()]
        assert readers() == [early]
        got += [chunk async for chunk in chunks]
        return b"".join(got)

    assert asyncio.run(asyncio.wait_for(main(), 60)) == UNICODE.read_bytes()
    assert len(server.requests) == 1 and readers() == []
    unused = live_source(server, "chunked")
    unused.start()
    assert len(readers()) == 1
    unused.close()
    assert readers() == [] and len(server.requests) == 1


@pytest.mark.parametrize("fault", ["no process can start", "the process dies before a word"])
def test_a_reading_process_that_cannot_run_means_a_thread_reads_once(server, monkeypatch, fault):
    """Where the reading process cannot be started (OSError), or ends before it has sent the request (it could not
    import, say), a thread makes the request instead: the whole body arrives, and the server saw one request."""
    import asyncio

    import streamview.live as live

    def broken():
        if fault == "no process can start":
            raise OSError("no processes here")
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)

    monkeypatch.setattr(live, "_spawn_reader", broken)

    async def main():
        source = live_source(server, "chunked")
        return b"".join([chunk async for chunk in source.chunks()]), source

    body, source = asyncio.run(asyncio.wait_for(main(), 60))
    assert body == UNICODE.read_bytes()
    assert source.meta.status == 200 and len(server.requests) == 1


def test_a_record_of_no_known_kind_is_a_one_line_error_not_an_end(server, monkeypatch):
    """A reading process that writes a record the app does not know (a start, then kind ``q``): the stream fails
    with a LiveError that names it, rather than ending as if the body were whole."""
    import asyncio

    import streamview.live as live
    from streamview.live import LiveError

    script = ("import struct, sys; sys.stdin.buffer.read(); h = struct.Struct('<cdI');"
              "sys.stdout.buffer.write(h.pack(b's', 0.0, 0) + h.pack(b'q', 0.0, 0))")
    monkeypatch.setattr(live, "_spawn_reader", lambda: subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE))

    async def main():
        return [chunk async for chunk in live_source(server, "chunked").chunks()]

    with pytest.raises(LiveError, match="no known kind"):
        asyncio.run(asyncio.wait_for(main(), 30))
    assert server.requests == []  # (the fake process made none, and no thread stood in for it)


def test_a_reading_process_that_dies_mid_stream_is_a_one_line_error(server, monkeypatch):
    """The reading process killed after the first chunk: the stream ends with a LiveError that says so (exit code
    and all), not a hang, a traceback or a second request."""
    import asyncio
    import signal as _signal

    from streamview.live import LiveError

    async def main():
        source = live_source(server, "stall")
        chunks = source.chunks()
        first = await chunks.__anext__()
        (pid,) = [p for p in readers() if isinstance(p, int)]
        os.kill(pid, _signal.SIGKILL)
        with pytest.raises(LiveError) as err:
            await asyncio.wait_for(chunks.__anext__(), 10)
        return first, str(err.value)

    if not os.path.isdir("/proc"):
        pytest.skip("this test finds the reading process in /proc, which this system does not have")
    first, message = asyncio.run(main())
    assert first and "reading process ended" in message and "\n" not in message
    assert len(server.requests) == 1


# -- serve -----------------------------------------------------------------------------------------------------

def test_serve_answers_as_a_responses_endpoint():
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "serve", str(SEED_O4), "--port", "0", "--speed", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        line = proc.stdout.readline()
        assert "serving" in line
        base = line.split(" at ")[1].split()[0]
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
        for path in ("/responses",):
            r = httpx.post(base + path, json={"model": "x", "input": "y", "stream": True}, timeout=10)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            assert r.content == SEED_O4.read_bytes()
        root = base.removesuffix("/v1")
        assert httpx.post(root + "/responses", json={}, timeout=10).status_code == 200
        missing = httpx.post(base + "/chat/completions", json={}, timeout=10)
        assert missing.status_code == 404 and "error" in missing.json()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_openai_sdk_against_serve_yields_the_transcript_events():
    import openai

    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(SEED_O4), speed=50)
    try:
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
        got = [e.model_dump(mode="json", exclude_unset=True) for e in client.responses.create(model="x", input="y", stream=True)]
        with open(SEED_O4, "rb") as fp:
            expected = [ev.payload for ev in read_events(fp)[0]]
        assert [e["type"] for e in got] == [e["type"] for e in expected]
        assert [e["sequence_number"] for e in got] == list(range(20))
        assert [e.get("delta") for e in got] == [e.get("delta") for e in expected]
        with client.responses.stream(model="x", input="y") as stream:
            final = stream.get_final_response()
        assert final.output_text == "Hello there! How can I assist you today?"
        assert final.usage.total_tokens == 34
    finally:
        srv.shutdown()
        srv.server_close()


def test_live_against_serve_matches_the_replay(tmp_path):
    """`live` against `serve` of each seed gives what `print` gives for the seed itself."""
    from streamview.replay.serve import serve_in_thread

    for seed in (SEED_O4, FIXTURES / "responses" / "reasoning-summary-then-message.sse"):
        srv, base = serve_in_thread(str(seed), speed=50)
        try:
            r = cli("live", "hi", "--base-url", base, "--plain")
            assert r.returncode == 0, r.stderr
            assert r.stdout.decode() == final_of(seed)["text"] + "\n"
        finally:
            srv.shutdown()
            srv.server_close()


# -- the UI on a live source -------------------------------------------------------------------------------------

def _live_app(url: str):
    from streamview.replay.player import Player
    from streamview.live import LiveSource, build_request
    from streamview.tui.app import StreamviewApp

    request = build_request("Say hello", base_url=url, env={"OPENAI_API_KEY": KEY})
    return StreamviewApp(Player(live=LiveSource(request)), label="live test")


async def test_tui_shows_a_live_stream_with_http_metadata(server, tmp_path, monkeypatch):
    app = _live_app(server.url("chunked"))
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.player.finished, timeout=20)
        text = screen_text(app)
        assert "completed" in text and "req_test_123" in text and "openai-processing-ms" in text
        first_line = final_of(UNICODE)["text"].split("\n")[0]
        assert first_line[:30] in text
        assert KEY not in text and KEY not in app.export_screenshot()
        monkeypatch.chdir(tmp_path)
        await pilot.press("s")
        await pilot.pause(0.2)
        await pilot.press("enter")  # the prompt's default name
        await wait_until(pilot, lambda: getattr(app, "saved_path", None) is not None)
        assert app.saved_path.startswith(str(tmp_path)) and app.saved_path.endswith(".sse")
        saved = (tmp_path / app.saved_path).read_text()
        assert KEY not in saved
        assert final_of(tmp_path / app.saved_path)["text"] == final_of(UNICODE)["text"]


async def test_tui_shows_an_http_error_without_the_key(server):
    app = _live_app(server.url("status/401"))
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished, timeout=20)
        text = screen_text(app)
        assert "HTTP 401" in text and "failed" in text and "[redacted]" in text
        assert KEY not in text and KEY not in app.export_screenshot()
        assert app.is_running
