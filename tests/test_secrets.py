"""One list of secret headers, and ``key=`` query values, kept out of transcripts, the panes and error lines."""

from __future__ import annotations

import io

from streamview.replay.recorder import header_lines, write_transcript
from streamview.secrets import SECRET_HEADERS, public_headers, query_secrets, redact_url
from streamview.source import read_events
from streamview.sse import TranscriptMeta
from tests.conftest import FIXTURES
from tests.livefixtures import FaultServer
from tests.test_live import KEY, UNICODE, cli

GOOG = "AIzaSyD-test-key-0123456789"


def test_the_one_list_names_every_secret_header():
    assert SECRET_HEADERS >= {"authorization", "x-api-key", "api-key", "openai-api-key", "x-goog-api-key",
                              "proxy-authorization", "cookie", "set-cookie"}
    kept = public_headers([("Authorization", "Bearer x"), ("X-Goog-Api-Key", GOOG), ("x-request-id", "r1"),
                           ("Set-Cookie", "a=b"), ("OpenAI-API-Key", "k")])
    assert kept == [("x-request-id", "r1")]


def test_key_query_values_are_redacted_and_nothing_else():
    url = f"https://generativelanguage.example/v1beta/models/m:streamGenerateContent?alt=sse&key={GOOG}"
    assert redact_url(url) == "https://generativelanguage.example/v1beta/models/m:streamGenerateContent?alt=sse&key=[redacted]"
    assert redact_url(f"POST https://h/x?key={GOOG}&alt=sse") == "POST https://h/x?key=[redacted]&alt=sse"
    assert redact_url("https://h/x?monkey=1&keys=2") == "https://h/x?monkey=1&keys=2"
    assert redact_url("https://h/x?API_KEY=abc") == "https://h/x?API_KEY=[redacted]"
    assert query_secrets(url) == [GOOG]


def test_a_recorded_request_line_and_headers_hold_no_secret():
    meta = TranscriptMeta(recorded=True, request=f"POST https://h/v1/x?key={GOOG}", status=200,
                          headers=[("x-goog-api-key", GOOG), ("set-cookie", "s=1"), ("x-request-id", "r")])
    text = "\n".join(header_lines(meta))
    assert GOOG not in text and "set-cookie" not in text and "x-request-id: r" in text
    out = io.StringIO()
    write_transcript(out, [], meta)
    assert GOOG not in out.getvalue()


def test_the_response_pane_shows_no_secret_from_a_transcript_header():
    from streamview.session import Session
    from streamview.widgets.response_view import ResponseView

    raw = (f": streamview transcript 1\n: request POST https://h/v1/responses?key={GOOG}\n: status 200\n"
           f": header x-goog-api-key: {GOOG}\n: header x-request-id: req_1\n\n").encode() + (FIXTURES / "responses" / "refusal.sse").read_bytes()
    events, reader = read_events(io.BytesIO(raw))
    model = Session(meta=reader.meta)
    for ev in events:
        model.add(ev)
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(ResponseView.render_body(model, {}))
    shown = console.export_text()
    assert "req_1" in shown and "key=[redacted]" in shown
    assert GOOG not in shown


def test_live_records_no_secret_header_nor_cookie(tmp_path):
    server = FaultServer(UNICODE)
    try:
        out = tmp_path / "out.sse"
        r = cli("live", "hi", "--base-url", server.url("chunked"), "--plain", "--save", str(out),
                "--header", f"x-goog-api-key: {GOOG}")
        assert r.returncode == 0, r.stderr
        recorded = out.read_text()
        assert server.requests[0]["headers"].get("x-goog-api-key") == GOOG  # it was sent...
        for secret in (GOOG, KEY, "cookie-secret-4d1f"):
            assert secret not in recorded  # ...and recorded nowhere
            assert secret not in (r.stdout + r.stderr).decode()
        assert "x-request-id: req_test_123" in recorded
    finally:
        server.close()
