"""`live --api chat`, `live --api anthropic` and `live --api gemini` end to end against real HTTP servers on 127.0.0.1 (no mocked
transport): the request each server saw (path, headers, body), the streamed text, recording and replaying it, HTTP
errors in each API's own shape, a dropped connection, a missing key, and `serve` answering the new routes for the
official SDKs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from streamview.source import read_events
from tests.conftest import FIXTURES, ROOT
from tests.livefixtures import ERRORS, FaultServer

KEY = "sk-test-streamview-9f2c1e7d5b"
ANT_KEY = "sk-ant-test-streamview-4e1a77c0d2"
CHAT = FIXTURES / "chat" / "tool-calls-parallel.sse"
CHAT_TEXT = FIXTURES / "chat" / "markup-unicode.sse"
ANTHROPIC = FIXTURES / "anthropic" / "tool-use-ping.sse"
ANTHROPIC_THINKING = FIXTURES / "anthropic" / "thinking-signature-text.sse"
GEMINI = FIXTURES / "gemini" / "thinking-text.sse"  # CRLF line endings, as Google sends them
GOOGLE_KEY = "AIza-test-streamview-7c3e9a1b55"
GEMINI_ERRORS = {  # status -> (status word, message): Google's error shape, {"error": {"code", "message", "status"}}
    400: ("INVALID_ARGUMENT", "API key not valid: {key}. Please pass a valid API key."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
}

ANTHROPIC_ERRORS = {  # status -> (error type, message): Anthropic's error shape, {"type": "error", "error": {...}}
    401: ("authentication_error", "invalid x-api-key: {key}"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    529: ("overloaded_error", "Overloaded"),
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command line in this process with ``env`` as the only API variables (fast: no interpreter start)."""
    from streamview.cli import main

    names = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "GOOGLE_API_KEY", "GEMINI_API_KEY",
             "GOOGLE_GEMINI_BASE_URL")
    saved = {k: os.environ.pop(k) for k in names if k in os.environ}
    os.environ.update(env or {})
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        for k in names:
            os.environ.pop(k, None)
        os.environ.update(saved)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


OPENAI_ENV = {"OPENAI_API_KEY": KEY}
ANTHROPIC_ENV = {"ANTHROPIC_API_KEY": ANT_KEY, "OPENAI_API_KEY": KEY}
GEMINI_ENV = {"GEMINI_API_KEY": GOOGLE_KEY, "OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": ANT_KEY}


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def printed(path: Path) -> str:
    r = run("print", str(path))
    assert r.stdout
    return r.stdout


def final(path: Path) -> dict:
    return json.loads(run("print", "--json", str(path)).stdout)


def no_secret(*blobs: str) -> None:
    for blob in blobs:
        assert KEY not in blob and ANT_KEY not in blob and GOOGLE_KEY not in blob


@pytest.fixture(scope="module")
def servers():
    """One server per transcript for the whole module (a server takes half a second to shut down)."""
    made = {path: FaultServer(path) for path in (CHAT, CHAT_TEXT, ANTHROPIC, ANTHROPIC_THINKING, GEMINI)}
    yield made
    for srv in made.values():
        srv.close()


@pytest.fixture
def chat_server(servers):
    srv = servers[CHAT]
    srv.requests.clear()
    return srv


@pytest.fixture
def anthropic_server(servers):
    srv = servers[ANTHROPIC]
    srv.requests.clear()
    return srv


@pytest.fixture(scope="module")
def error_server():
    srv = AnthropicErrorServer()
    yield srv
    srv.close()


def anthropic_base(srv: FaultServer, kind: str) -> str:
    return f"http://127.0.0.1:{srv.port}/{kind}"  # Anthropic's base has no /v1: the client adds /v1/messages


def gemini_base(srv, kind: str) -> str:
    return f"http://127.0.0.1:{srv.port}/{kind}"  # Google's base has no version: the client adds /v1beta/models/...


@pytest.fixture(scope="module")
def google_error_server():
    """Answers every POST with Google's error for the status in its path (``/CODE/v1beta/models/...``); a 400
    echoes the key it was sent, so the redaction is tested."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append({"path": self.path, "headers": dict(self.headers)})
            code = int(self.path.strip("/").split("/")[0])
            status, message = GEMINI_ERRORS[code]
            body = json.dumps({"error": {"code": code, "message": message.format(key=self.headers.get("x-goog-api-key", "")),
                                         "status": status}}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = requests  # type: ignore[attr-defined]
    httpd.port = httpd.server_address[1]  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class AnthropicErrorServer:
    """Answers every POST with the Anthropic error of the status in its path (``/CODE/v1/messages``); a 401 echoes
    the key it was sent, as some gateways do, so the redaction is tested."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                code = int(self.path.strip("/").split("/")[0])
                etype, message = ANTHROPIC_ERRORS[code]
                body = json.dumps({"type": "error", "error": {"type": etype, "message": message.format(key=self.headers.get("x-api-key", ""))},
                                   "request_id": "req_011CTest"}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("request-id", "req_011CTest")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the requests and the stream -----------------------------------------------------------------------------------
def test_chat_streams_records_and_replays(chat_server, tmp_path):
    out = tmp_path / "chat.sse"
    r = run("live", "--api", "chat", "What is the weather?", "--base-url", chat_server.url("chunked"), "--plain", "--save", str(out), env=OPENAI_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(CHAT)  # split every 1 to 7 bytes on the wire, assembled whole
    summary = one_line(r.stderr)
    expected = final(CHAT)
    assert summary.startswith(f"streamview: completed · {expected['model']} · chat · ")
    assert f"{expected['events']} events" in summary
    (request,) = chat_server.requests
    assert request["path"] == "/chunked/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert json.loads(request["body"]) == {"model": "gpt-4.1-nano", "messages": [{"role": "user", "content": "What is the weather?"}],
                                           "stream": True, "stream_options": {"include_usage": True}}
    saved = out.read_text(encoding="utf-8")
    assert saved.startswith(f": streamview transcript 1\n: request POST {chat_server.url('chunked')}/chat/completions\n")
    assert ": status 200" in saved and saved.count(": t=") == expected["events"]
    assert printed(out) == r.stdout
    assert final(out) == expected
    no_secret(r.stdout, r.stderr, saved)


def test_anthropic_streams_records_and_replays(anthropic_server, tmp_path):
    out = tmp_path / "anthropic.sse"
    r = run("live", "--api", "anthropic", "Weather in Paris?", "--base-url", anthropic_base(anthropic_server, "chunked"), "--plain", "--save", str(out), env=ANTHROPIC_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(ANTHROPIC)
    expected = final(ANTHROPIC)
    summary = one_line(r.stderr)
    assert summary.startswith(f"streamview: completed · {expected['model']} · anthropic · ")
    assert f"stop {expected['stop_reason']}" in summary and f"{expected['events']} events" in summary
    (request,) = anthropic_server.requests
    assert request["path"] == "/chunked/v1/messages"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-api-key"] == ANT_KEY and headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers  # the OpenAI key in the environment is not sent to Anthropic
    assert json.loads(request["body"]) == {"model": "claude-sonnet-4-5", "max_tokens": 1024,
                                           "messages": [{"role": "user", "content": "Weather in Paris?"}], "stream": True}
    saved = out.read_text(encoding="utf-8")
    assert f": request POST {anthropic_base(anthropic_server, 'chunked')}/v1/messages\n" in saved
    assert saved.count(": t=") == expected["events"] and "event: ping" in saved
    assert printed(out) == r.stdout and final(out) == expected
    no_secret(r.stdout, r.stderr, saved)


def test_gemini_streams_records_and_replays(servers, tmp_path):
    srv = servers[GEMINI]
    srv.requests.clear()
    out = tmp_path / "gemini.sse"
    r = run("live", "--api", "gemini", "Why is the sky blue?", "--base-url", gemini_base(srv, "chunked"), "--plain", "--save", str(out),
            "--instructions", "Be brief.", "--max-output-tokens", "256", "--temperature", "0.3", env=GEMINI_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(GEMINI)  # CRLF events split every 1 to 7 bytes on the wire, assembled whole
    assert "[reasoning]" in r.stdout
    expected = final(GEMINI)
    summary = one_line(r.stderr)
    assert summary.startswith(f"streamview: completed · {expected['model']} · gemini · ")
    assert f"{expected['events']} events" in summary and "stop STOP" in summary
    (request,) = srv.requests
    assert request["path"] == "/chunked/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-goog-api-key"] == GOOGLE_KEY
    assert "authorization" not in headers and "x-api-key" not in headers  # no other provider's key goes to Google
    assert json.loads(request["body"]) == {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}],
                                           "systemInstruction": {"parts": [{"text": "Be brief."}]},
                                           "generationConfig": {"maxOutputTokens": 256, "temperature": 0.3}}
    saved = out.read_text(encoding="utf-8")
    base = gemini_base(srv, "chunked")
    assert saved.startswith(f": streamview transcript 1\n: request POST {base}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse\n")
    assert ": status 200" in saved and saved.count(": t=") == expected["events"]
    assert printed(out) == r.stdout and final(out) == expected
    no_secret(r.stdout, r.stderr, saved)


def test_gemini_key_and_base_from_the_environment(servers):
    srv = servers[GEMINI]
    srv.requests.clear()
    env = {"GOOGLE_API_KEY": GOOGLE_KEY, "GEMINI_API_KEY": "AIza-the-other-one", "GOOGLE_GEMINI_BASE_URL": gemini_base(srv, "plain")}
    r = run("live", "--api", "gemini", "hi", "--plain", "--model", "gemini-2.0-flash", env=env)
    assert r.returncode == 0, r.stderr
    (request,) = srv.requests
    assert request["path"] == "/plain/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    assert request["headers"]["x-goog-api-key"] == GOOGLE_KEY  # google-genai's order: GOOGLE_API_KEY first
    no_secret(r.stdout, r.stderr)


@pytest.mark.parametrize("code", sorted(GEMINI_ERRORS))
def test_gemini_http_errors_say_status_and_server_message(google_error_server, tmp_path, code):
    srv = google_error_server
    srv.requests.clear()
    out = tmp_path / "err.sse"
    r = run("live", "--api", "gemini", "hi", "--base-url", f"http://127.0.0.1:{srv.port}/{code}", "--plain", "--save", str(out), env=GEMINI_ENV)
    assert r.returncode == 1
    status, message = GEMINI_ERRORS[code]
    reason = {400: "Bad Request", 429: "Too Many Requests"}[code]
    assert one_line(r.stderr) == f"streamview: HTTP {code} {reason}: {message.format(key='[redacted]')} ({status})"
    saved = out.read_text()
    assert f": status {code}" in saved
    assert srv.requests[0]["headers"]["x-goog-api-key"] == GOOGLE_KEY
    no_secret(r.stdout, r.stderr, saved)


def test_request_options_reach_each_body(chat_server, anthropic_server):
    r = run("live", "--api", "chat", "Hi", "--base-url", chat_server.url("plain"), "--plain", "--model", "gpt-test", "--instructions", "be terse",
            "--reasoning-effort", "low", "--max-output-tokens", "50", "--temperature", "0.2",
            "--body", '{"seed": 7, "stream_options": {"include_obfuscation": false}}', "--header", "X-Trace: abc", env=OPENAI_ENV)
    assert r.returncode == 0, r.stderr
    (request,) = chat_server.requests
    assert json.loads(request["body"]) == {
        "model": "gpt-test", "messages": [{"role": "system", "content": "be terse"}, {"role": "user", "content": "Hi"}],
        "reasoning_effort": "low", "max_completion_tokens": 50, "temperature": 0.2, "seed": 7,
        "stream": True, "stream_options": {"include_obfuscation": False, "include_usage": True}}
    assert request["headers"]["X-Trace"] == "abc"
    r = run("live", "--api", "anthropic", "Hi", "--plain", "--model", "claude-test", "--instructions", "be terse", "--max-output-tokens", "99",
            "--temperature", "0.5", "--body", '{"metadata": {"user_id": "u1"}}', "--header", "anthropic-beta: x",
            env=ANTHROPIC_ENV | {"ANTHROPIC_BASE_URL": anthropic_base(anthropic_server, "plain")})
    assert r.returncode == 0, r.stderr
    (request,) = anthropic_server.requests
    assert request["path"] == "/plain/v1/messages"  # the base from $ANTHROPIC_BASE_URL
    assert json.loads(request["body"]) == {"model": "claude-test", "max_tokens": 99, "system": "be terse",
                                           "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.5,
                                           "metadata": {"user_id": "u1"}, "stream": True}
    assert request["headers"]["anthropic-beta"] == "x"
    r = run("live", "--api", "anthropic", "Hi", "--plain", "--reasoning-effort", "low", "--base-url", anthropic_base(anthropic_server, "plain"), env=ANTHROPIC_ENV)
    assert r.returncode == 2 and "not an Anthropic parameter" in one_line(r.stderr)
    assert len(anthropic_server.requests) == 1


def test_the_shorthand_takes_live_options(chat_server):
    r = run("--api", "chat", "Hi", "--base-url", chat_server.url("plain"), "--plain", env=OPENAI_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout == printed(CHAT)
    assert chat_server.requests[0]["path"] == "/plain/v1/chat/completions"


# -- faults ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [401, 429])
def test_chat_http_errors_say_status_and_server_message(chat_server, tmp_path, code):
    out = tmp_path / "err.sse"
    r = run("live", "--api", "chat", "hi", "--base-url", chat_server.url(f"status/{code}"), "--plain", "--save", str(out), env=OPENAI_ENV)
    assert r.returncode == 1
    line = one_line(r.stderr)
    etype, message, ecode = ERRORS[code]
    assert line.startswith(f"streamview: HTTP {code} ")
    assert message.split("{")[0].split(":")[0] in line and f"({ecode})" in line
    if code == 401:
        assert "[redacted]" in line  # the server echoed the key
    saved = out.read_text()
    assert f": status {code}" in saved
    assert chat_server.requests[0]["path"] == f"/status/{code}/v1/chat/completions"
    no_secret(r.stdout, r.stderr, saved)


@pytest.mark.parametrize("code", sorted(ANTHROPIC_ERRORS))
def test_anthropic_http_errors_say_status_and_server_message(error_server, tmp_path, code):
    srv = error_server
    srv.requests.clear()
    out = tmp_path / "err.sse"
    r = run("live", "--api", "anthropic", "hi", "--base-url", f"http://127.0.0.1:{srv.port}/{code}", "--plain", "--save", str(out), env=ANTHROPIC_ENV)
    assert r.returncode == 1
    line = one_line(r.stderr)
    etype, message = ANTHROPIC_ERRORS[code]
    words = message.format(key="[redacted]")
    reason = {401: "Unauthorized", 429: "Too Many Requests", 529: "Overloaded"}[code]
    assert line == f"streamview: HTTP {code} {reason}: {words} ({etype})"
    saved = out.read_text()
    assert f": status {code}" in saved and ": header request-id: req_011CTest" in saved
    assert srv.requests[0]["headers"]["x-api-key"] == ANT_KEY
    no_secret(r.stdout, r.stderr, saved)


@pytest.mark.parametrize("api,path", [("chat", CHAT_TEXT), ("anthropic", ANTHROPIC_THINKING), ("gemini", GEMINI)])
def test_dropped_mid_stream_keeps_everything_received(servers, tmp_path, api, path):
    srv = servers[path]
    out = tmp_path / "dropped.sse"
    base = {"chat": srv.url("drop"), "anthropic": anthropic_base(srv, "drop"), "gemini": gemini_base(srv, "drop")}[api]
    env = {"chat": OPENAI_ENV, "anthropic": ANTHROPIC_ENV, "gemini": GEMINI_ENV}[api]
    r = run("live", "--api", api, "hi", "--base-url", base, "--plain", "--save", str(out), env=env)
    assert r.returncode == 1
    line = one_line(r.stderr)
    assert "connection dropped mid-stream" in line
    body = path.read_bytes()
    sep = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    sent = body[: body.index(sep, len(body) // 2) + len(sep)]
    sent_events = len(read_events(io.BytesIO(sent))[0])
    assert f"{sent_events} events" in line
    whole = printed(path)
    assert r.stdout and whole.startswith(r.stdout.rstrip("\n")) and len(r.stdout) < len(whole)
    saved = out.read_text(encoding="utf-8")
    assert saved.count(": t=") == sent_events  # every event received is on record
    assert printed(out) == r.stdout


@pytest.mark.parametrize("api,var", [("chat", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("gemini", "neither GOOGLE_API_KEY nor GEMINI_API_KEY")])
def test_no_key_is_refused_before_any_request(chat_server, api, var):
    env = {} if api == "chat" else {"OPENAI_API_KEY": KEY}  # an OpenAI key is no Anthropic or Google key
    base = chat_server.url("plain") if api == "chat" else anthropic_base(chat_server, "plain")
    r = run("live", "--api", api, "hi", "--base-url", base, "--plain", env=env)
    assert r.returncode == 2
    said = f"{var} is set" if var.startswith("neither") else f"{var} is not set"
    assert said in one_line(r.stderr)
    assert chat_server.requests == []


def test_a_key_given_as_a_header_is_used_and_redacted(error_server):
    srv = error_server
    srv.requests.clear()
    r = run("live", "--api", "anthropic", "hi", "--base-url", f"http://127.0.0.1:{srv.port}/401", "--plain", "--header", f"x-api-key: {ANT_KEY}")
    assert r.returncode == 1
    assert srv.requests[0]["headers"]["x-api-key"] == ANT_KEY
    assert "[redacted]" in one_line(r.stderr)
    no_secret(r.stdout, r.stderr)


# -- serve ---------------------------------------------------------------------------------------------------------
def _payloads(path: Path) -> list:
    return [ev.payload for ev in read_events(io.BytesIO(path.read_bytes()))[0]]


def test_openai_sdk_streams_a_chat_transcript_from_serve():
    import openai

    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(CHAT), speed=100)
    try:
        assert base.endswith("/v1")
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
        got = [c.model_dump(mode="json", exclude_unset=True) for c in client.chat.completions.create(model="x", messages=[{"role": "user", "content": "y"}], stream=True)]
        expected = [p for p in _payloads(CHAT) if isinstance(p, dict)]  # the SDK stops at [DONE]
        assert got == expected
        with client.chat.completions.stream(model="x", messages=[{"role": "user", "content": "y"}]) as stream:
            completion = stream.get_final_completion()
        calls = [(t.function.name, t.function.arguments) for t in completion.choices[0].message.tool_calls]
        data = final(CHAT)
        assert calls == [(t["name"], t["arguments"]) for t in data["choices"][0]["tool_calls"]]
        root = base.removesuffix("/v1")
        assert httpx.post(root + "/chat/completions", json={}, timeout=10).status_code == 200
        missing = httpx.post(base + "/responses", json={}, timeout=10)
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "no route /v1/responses: this server answers POST /v1/chat/completions (Chat Completions transcript)"
        with pytest.raises(openai.NotFoundError):
            client.responses.create(model="x", input="y", stream=True)
    finally:
        srv.shutdown()
        srv.server_close()


def test_anthropic_sdk_streams_an_anthropic_transcript_from_serve():
    import anthropic

    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(ANTHROPIC_THINKING), speed=100)
    try:
        assert not base.endswith("/v1")
        client = anthropic.Anthropic(base_url=base, api_key=ANT_KEY, max_retries=0)
        events = list(client.messages.create(model="x", max_tokens=10, messages=[{"role": "user", "content": "y"}], stream=True))
        expected = _payloads(ANTHROPIC_THINKING)
        assert [e.type for e in events] == [p["type"] for p in expected if p["type"] != "ping"]  # the SDK drops pings
        with client.messages.stream(model="x", max_tokens=10, messages=[{"role": "user", "content": "y"}]) as stream:
            message = stream.get_final_message()
        data = final(ANTHROPIC_THINKING)
        assert (message.id, message.stop_reason, message.usage.output_tokens) == (data["id"], data["stop_reason"], data["usage"]["output_tokens"])
        assert "".join(b.text for b in message.content if b.type == "text") in printed(ANTHROPIC_THINKING)
        missing = httpx.post(base + "/v1/chat/completions", json={}, timeout=10)
        assert missing.status_code == 404
        assert missing.json() == {"type": "error", "error": {"type": "not_found_error", "message": "no route /v1/chat/completions: this server answers POST /v1/messages (Anthropic Messages transcript)"}}
        with pytest.raises(anthropic.NotFoundError):
            anthropic.Anthropic(base_url=base + "/v1", api_key=ANT_KEY, max_retries=0).messages.create(model="x", max_tokens=1, messages=[{"role": "user", "content": "y"}])
    finally:
        srv.shutdown()
        srv.server_close()


def test_live_against_serve_matches_print():
    from streamview.replay.serve import serve_in_thread

    for api, path, env in (("chat", CHAT_TEXT, OPENAI_ENV), ("anthropic", ANTHROPIC_THINKING, ANTHROPIC_ENV), ("gemini", GEMINI, GEMINI_ENV)):
        srv, base = serve_in_thread(str(path), speed=100)
        try:
            r = run("live", "--api", api, "hi", "--base-url", base, "--plain", env=env)
        finally:
            srv.shutdown()
            srv.server_close()
        assert r.returncode == 0, r.stderr
        assert r.stdout == printed(path)


def test_serve_command_names_its_protocol_and_route():
    proc = subprocess.Popen([sys.executable, "-m", "streamview", "serve", str(ANTHROPIC), "--port", "0", "--speed", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        line = proc.stdout.readline()
        base = line.split(" at ")[1].split()[0]
        assert line.startswith(f"streamview: serving {ANTHROPIC} (anthropic) at http://127.0.0.1:") and "(POST /v1/messages)" in line
        r = httpx.post(base + "/v1/messages", json={"model": "x", "stream": True}, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.content == ANTHROPIC.read_bytes()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0



def test_serve_answers_each_route_with_its_own_transcript(tmp_path):
    """Several transcripts of different protocols: each SDK gets its own on its own route, in one server; a path
    none answers is a 404 naming them all; two of one protocol are refused in one line, before serving."""
    import anthropic
    import openai

    from streamview.replay.serve import make_server
    from streamview.source import SourceError

    responses = ROOT / "streamview" / "examples" / "o4-mini-hello.sse"
    srv = make_server([str(CHAT_TEXT), str(ANTHROPIC), str(responses)], speed=1000)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    root = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        oai = openai.OpenAI(base_url=root + "/v1", api_key=KEY, max_retries=0)
        chunks = list(oai.chat.completions.create(model="x", messages=[{"role": "user", "content": "y"}], stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == final(CHAT_TEXT)["choices"][0]["content"]
        with oai.responses.stream(model="x", input="y") as stream:
            text = stream.get_final_response().output_text
        assert text and text == next(o["text"] for o in final(responses)["output"] if o["type"] == "message")
        ant = anthropic.Anthropic(base_url=root, api_key=ANT_KEY, max_retries=0)
        with ant.messages.stream(model="x", max_tokens=10, messages=[{"role": "user", "content": "y"}]) as stream:
            names = [b.name for b in stream.get_final_message().content if b.type == "tool_use"]
        assert names and names == [b["name"] for b in final(ANTHROPIC)["content"] if b["type"] == "tool_use"]
        missing = httpx.post(root + "/v1/embeddings", json={}, timeout=10)
        assert missing.status_code == 404
        message = missing.json()["error"]["message"]
        assert message.startswith("no route /v1/embeddings: this server answers POST /v1/chat/completions (Chat "
                                  "Completions transcript), POST /v1/messages (Anthropic Messages transcript), "
                                  "POST /v1/responses"), message
    finally:
        srv.shutdown()
        srv.server_close()
    with pytest.raises(SourceError, match="are both Chat Completions transcripts"):
        make_server([str(CHAT_TEXT), str(CHAT)])
    r = subprocess.run([sys.executable, "-m", "streamview", "serve", str(CHAT_TEXT), str(CHAT), "--port", "0"],
                       capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "are both Chat Completions transcripts" in r.stderr, r.stderr
