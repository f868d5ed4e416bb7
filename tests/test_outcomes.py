"""First contact: the command line refuses what it cannot mean (a mistyped command sends no request), bad flags are
one line, the inputs people have are read (``curl -i`` captures, gzip, and a clear word for what is not a
stream), ``serve`` says what it serves, and one table of exit codes holds in every mode: the UI on quit,
``--plain``, ``print`` and ``check``."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES, FIXTURES, SEED_O4

KEY = "sk-test-outcomes-31c7a9e2f0"
SEED = SEED_O4.read_bytes()
TEXT = "Hello there! How can I assist you today?"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, env: dict[str, str] | None = None, tty: bool = False) -> tuple[int, str, str]:
    """The command line in this process; stdout is not a terminal (the UI modes print plainly) unless ``tty``."""
    from streamview.cli import main

    names = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "GOOGLE_API_KEY", "GEMINI_API_KEY")
    saved = {k: os.environ.pop(k) for k in names if k in os.environ}
    os.environ.update(env or {})
    out, err = (_Terminal() if tty else io.StringIO()), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for k in names:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def counting_server():
    """A loopback server that answers every POST with the seed transcript and counts the requests."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(SEED)))
            self.end_headers()
            self.wfile.write(SEED)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    httpd.seen = seen  # type: ignore[attr-defined]
    httpd.env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{httpd.server_address[1]}/v1"}  # type: ignore[attr-defined]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


# -- 1. a typo sends no request ------------------------------------------------------------------------------------
@pytest.mark.parametrize("word,means", [("dmeo", "demo"), ("chek", "check"), ("replya", "replay"), ("serv", "serve")])
def test_a_mistyped_command_is_refused_and_sends_nothing(counting_server, word, means):
    counting_server.seen.clear()
    code, out, err = run(word, env=counting_server.env)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"streamview: unknown command '{word}' (did you mean '{means}'?)")
    assert counting_server.seen == []  # no request was made
    code, _out, err = run(word, "some.sse", env=counting_server.env)  # with arguments after it: the same
    assert code == 2 and "unknown command" in err and counting_server.seen == []


def test_a_word_like_no_command_names_the_commands(counting_server):
    counting_server.seen.clear()
    code, _out, err = run("xyzzy", env=counting_server.env)
    assert code == 2 and "(commands: demo, replay, live, serve, proxy, check, print)" in one_line(err)
    assert counting_server.seen == []


def test_a_prompt_with_a_space_or_after_dashes_is_still_the_shorthand(counting_server):
    counting_server.seen.clear()
    code, out, err = run("say hello", "--plain", env=counting_server.env)
    assert code == 0, err
    assert out == TEXT + "\n" and counting_server.seen == ["/v1/responses"]
    code, out, err = run("--", "hello", env=counting_server.env)  # a one-word prompt, explicitly
    assert code == 0, err
    assert out == TEXT + "\n" and len(counting_server.seen) == 2


def test_usage_help_and_no_arguments():
    code, out, err = run()
    assert code == 2 and out == "" and err.startswith("usage: streamview") and "--help" in err
    for args in (["--help"], ["help"], ["-h"]):
        code, out, err = run(*args)
        assert code == 0 and out.startswith("usage: streamview") and "demo" in out and err == "", args


# -- 3. bad usage is one line, exit 2 -------------------------------------------------------------------------------
@pytest.mark.parametrize("args,says", [
    (["serve", str(SEED_O4), "--port", "99999"], "--port: '99999': must be at most 65535"),
    (["serve", str(SEED_O4), "--port", "http"], "--port: 'http' is not an integer"),
    (["serve", str(SEED_O4), "--speed", "0"], "--speed: '0': must be greater than 0"),
    (["replay", str(SEED_O4), "--speed", "nan"], "--speed: 'nan' is not a finite number"),
    (["live", "hi", "--base-url", "127.0.0.1:8000/v1"], "is not an http:// or https:// URL with a host"),
    (["live", "hi", "--base-url", "http://127.0.0.1:99999/v1"], "is not a URL: Port out of range"),
    (["live", "hi", "--timeout", "-3"], "--timeout: '-3': must be greater than 0"),
    (["live", "hi", "--max-output-tokens", "0"], "--max-output-tokens: '0': must be at least 1"),
    (["live", "hi", "--temperature", "inf"], "--temperature: 'inf' is not a finite number"),
    (["live", "hi", "--body", "{not json"], "--body is not JSON"),
    (["live", "hi", "--body", "[1]"], "--body must be a JSON object"),
    (["live", "hi", "--header", "no colon"], "--header 'no colon': expected 'Name: value'"),
    (["print", "/nonexistent/x.sse"], "/nonexistent/x.sse: no such file"),
    (["check", "/"], "/: is a directory"),
])
def test_bad_usage_is_one_line_and_exit_2(counting_server, args, says):
    counting_server.seen.clear()
    code, _out, err = run(*args, env=counting_server.env)
    assert code == 2, err
    assert says in one_line(err)
    assert counting_server.seen == []


def test_a_base_url_from_the_environment_is_checked_too(counting_server):
    code, _out, err = run("live", "hi", "--plain", env={"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "localhost:8000/v1"})
    assert code == 2 and "is not an http:// or https:// URL" in one_line(err)
    assert KEY not in err


# -- 2. one table of exit codes --------------------------------------------------------------------------------------
def inputs(tmp: Path) -> dict[str, tuple[Path, int]]:
    """name -> (file, the code every mode must give)."""
    cases = {
        "complete": (SEED, 0),
        "truncated": (SEED[: len(SEED) // 2], 1),
        "corrupt-json": (SEED.replace(b'"delta":" there"', b'"delta": there"', 1), 1),
        "empty": (b"", 2),
        "random": (bytes((i * 7919) % 251 for i in range(10000)), 2),
        "json-array": (b'[{"type": "response.created"}, {"type": "response.completed"}]\n', 2),
        "unknown-protocol": (b"".join(b'data: {"foo": %d}\n\n' % i for i in range(8)), 2),
        "gzip": (gzip.compress(SEED), 0),
    }
    out = {name: (tmp / f"{name}.sse", code) for name, (data, code) in cases.items()}
    for name, (data, _code) in cases.items():
        out[name][0].write_bytes(data)
    out["failed"] = (FIXTURES / "responses" / "failed-error-event-mid-output.sse", 1)
    return out


def test_print_check_and_plain_follow_one_table(tmp_path):
    for name, (path, code) in inputs(tmp_path).items():
        for args in (["print", str(path)], ["print", "--json", str(path)], ["check", str(path)],
                     ["replay", "--plain", "--instant", str(path)]):
            got, _out, err = run(*args)
            assert got == code, (name, args, got, err)
            assert "Traceback" not in err


def test_print_of_a_stream_that_lost_text_says_so_and_exits_1(tmp_path):
    """A corrupted JSON line lost the delta " there": print prints what it assembled and says why it may be
    incomplete (the bad line, and the done text that differs: two error anomalies)."""
    path = tmp_path / "lost.sse"
    path.write_bytes(SEED.replace(b'"delta":" there"', b'"delta": there"', 1))
    code, out, err = run("print", str(path))
    assert code == 1
    assert out == "Hello! How can I assist you today?\n"  # what the deltas assembled (the done event's text differs)
    lines = err.strip().splitlines()
    assert any("data is not JSON" in line for line in lines)
    assert any(line.startswith("streamview: the text may be incomplete: ") and "bad-json" in line for line in lines)


def test_check_says_what_an_empty_or_non_sse_file_is(tmp_path):
    cases = inputs(tmp_path)
    code, out, _err = run("check", str(cases["empty"][0]), str(cases["json-array"][0]), str(cases["complete"][0]))
    assert code == 2
    assert f"{cases['empty'][0]}: not checked (empty input: no events decoded) in 0 events" in out
    assert "not checked (this is a JSON array, not an SSE stream: no events decoded)" in out
    assert f"{cases['complete'][0]}: ok in 20 events" in out


def _run_ui(monkeypatch, path: Path, quit_at_end: bool = True) -> tuple[int, str]:
    """The UI (``streamview replay FILE``) run headless, quit with ``q`` once the stream has ended (or at once)."""
    from textual.app import App

    from streamview.tui.app import StreamviewApp

    original = App.run  # not StreamviewApp.run: an earlier call of this function in the same test patched that

    def headless(self, *args, **kwargs):
        async def pilot(p):
            deadline = time.monotonic() + 15
            while quit_at_end and not self.player.finished and time.monotonic() < deadline:
                await p.pause(0.05)
            await p.press("q")

        ran.append(True)
        return original(self, headless=True, size=(120, 40), auto_pilot=pilot)

    monkeypatch.setattr(StreamviewApp, "run", headless)
    ran.clear()
    code, out, err = run("replay", "--instant", str(path), tty=True)
    assert ran == [True] and out == "", "the UI did not run"  # not the plain mode: nothing printed to stdout
    return code, err


ran: list[bool] = []


def test_the_ui_exits_by_the_same_table_on_quit(tmp_path, monkeypatch):
    for name, (path, code) in inputs(tmp_path).items():
        got, err = _run_ui(monkeypatch, path)
        assert got == code, (name, got, err)
        if code:
            assert len([line for line in err.splitlines() if line.startswith("streamview: ")]) == 1, (name, err)


# -- 4. inputs people actually have ----------------------------------------------------------------------------------
CURL_HEAD = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200 \r\ncontent-type: text/event-stream; charset=utf-8\r\n"
             b"x-request-id: req_curl_42\r\nopenai-processing-ms: 123\r\nset-cookie: __cf_bm=secret-cookie; path=/\r\n\r\n")


def test_a_curl_i_capture_checks_clean_and_its_head_is_read(tmp_path):
    from streamview.render import response_rows, row_text
    from streamview.session import read_session

    path = tmp_path / "curl-i.sse"
    path.write_bytes(CURL_HEAD + SEED)
    code, out, _err = run("check", str(path))
    assert code == 0 and out.strip().endswith("ok in 20 events")
    code, out, _err = run("print", str(path))
    assert code == 0 and out == TEXT + "\n"
    session = read_session(open(path, "rb"))
    assert session.meta.status == 200
    assert ("x-request-id", "req_curl_42") in session.meta.headers
    assert not any(k.lower() == "set-cookie" for k, _ in session.meta.headers)  # a secret header is not kept
    shown = "\n".join(" ".join(row_text(r)) for r in response_rows(session))
    assert "req_curl_42" in shown and "200" in shown and "secret-cookie" not in shown
    assert session.first.line == 9  # line numbers still count the head


def test_a_gzip_transcript_is_read_as_it_is(tmp_path):
    path = tmp_path / "run.sse.gz"
    path.write_bytes(gzip.compress(SEED))
    for args in (["print", str(path)], ["replay", "--plain", "--instant", str(path)]):
        code, out, err = run(*args)
        assert code == 0 and out == TEXT + "\n", (args, err)
    cut = tmp_path / "cut.sse.gz"
    cut.write_bytes(gzip.compress(SEED)[:300])
    code, out, err = run("print", str(cut))
    assert code in (1, 2) and "gzip data cut off before its end" in err and "Traceback" not in err


@pytest.mark.parametrize("data,says", [
    (b'[{"a": 1}]', "this is a JSON array, not an SSE stream"),
    (b'{\n  "log": {\n    "version": "1.2",\n    "creator": {"name": "Firefox"},\n    "entries": []\n  }\n}\n', "this is a HAR file"),
    (b'{"error": {"message": "nope"}}', "this is a JSON object, not an SSE stream"),
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "this is an HTML page, not an SSE stream"),
    (bytes(range(256)) * 8, "this is binary data, not an SSE stream"),
])
def test_what_is_not_a_stream_is_named(tmp_path, data, says):
    path = tmp_path / "input"
    path.write_bytes(data)
    code, _out, err = run("print", str(path))
    assert code == 2 and says in one_line(err)


def test_serve_refuses_an_empty_or_non_sse_transcript(tmp_path):
    for data, says in ((b"", "empty input"), (b"[1, 2]", "JSON array")):
        path = tmp_path / "bad.sse"
        path.write_bytes(data)
        code, _out, err = run("serve", str(path), "--port", "0")
        assert code == 2 and says in one_line(err) and "nothing to serve" in err


# -- 5. serve says what it serves ------------------------------------------------------------------------------------
def test_serve_logs_one_line_per_request_and_no_header():
    from streamview.replay.serve import base_url, make_server

    lines: list[str] = []
    server = make_server(str(SEED_O4), speed=0.5, log=lines.append)  # slow: 20 events over 3 s
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = base_url(server)
    try:
        fast = make_server(str(SEED_O4), speed=1000, log=lines.append)
        threading.Thread(target=fast.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        r = httpx.post(base_url(fast) + "/responses?key=AIza-query-secret", json={}, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert r.status_code == 200
        httpx.post(base_url(fast) + "/nowhere", json={}, timeout=10)
        with httpx.stream("POST", base + "/responses", json={}, timeout=10) as resp:  # read two events, then hang up
            got = 0
            for _ in resp.iter_lines():
                got += 1
                if got > 6:
                    break
        deadline = time.monotonic() + 10
        while len(lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for s in (server, fast):
            s.shutdown()
            s.server_close()
    assert len(lines) == 3, lines
    complete, missing, dropped = lines
    assert complete.endswith("POST /v1/responses?key=[redacted] 200 · 20 events sent · complete")
    assert missing.split(" ", 1)[1].startswith("POST /v1/nowhere 404 · no route /v1/nowhere")
    assert " 200 · " in dropped and "the client disconnected" in dropped
    sent = int(dropped.split(" · ")[1].split()[0])
    assert 1 <= sent < 20
    assert all(len(line.split()[0]) == 8 and line[2] == ":" for line in lines)  # HH:MM:SS first
    blob = "\n".join(lines)
    assert KEY not in blob and "AIza-query-secret" not in blob and "Authorization" not in blob


def test_demo_list_names_every_example():
    code, out, _err = run("demo", "--list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert sorted(names) == sorted(p.stem for p in [*EXAMPLES.glob("*.sse"), *EXAMPLES.glob("*.ndjson")])
    assert all(len(line.split(None, 1)) == 2 for line in out.splitlines())  # a name and what it shows


def test_the_readme_table_is_the_code_table():
    from streamview import outcome

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for code in (outcome.OK, outcome.FAILED, outcome.UNREADABLE, outcome.INTERRUPTED):
        assert f"| {code} |" in readme, code
