"""Ollama's native API (``POST /api/chat``, ``POST /api/generate``: NDJSON): the fixtures, the assembler against the
``ollama`` SDK's own types (the test-only oracle: the SDK yields one ``ChatResponse``/``GenerateResponse`` a line,
and its caller adds up content and thinking and collects tool calls), the checker's rules, sniffing an NDJSON file
without ``--protocol``, the framing found from the first line, transcripts recorded as NDJSON with their timing,
``print``/``check``/``replay``, the panes, ``serve`` read by ``ollama.Client``, and ``live --api ollama`` against
real loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from streamview import protocols
from streamview.framing import AUTO, AutoFramer, framer
from streamview.ndjson import NDJSONParser
from streamview.protocols.ollama import PROTOCOL, duration_text, eval_text, parse_host, think
from streamview.protocols.ollama.assemble import OllamaAssembler, assemble
from streamview.protocols.ollama.check import RULES, check_events
from streamview.protocols.ollama.events import EVENTS, KNOWN_TYPES, type_of
from streamview.session import Session, read_session
from streamview.source import EventReader, read_events
from tests.conftest import EXAMPLES, FIXTURES, make_app, screen_text, wait_until

HERE = FIXTURES / "ollama"
BROKEN = HERE / "broken"
GOOD = sorted(HERE.glob("*.ndjson"))
BROKEN_FILES = sorted(BROKEN.glob("*.ndjson"))
EXAMPLE = EXAMPLES / "ollama-thinking.ndjson"
ERRORS = {"error-model-not-found.ndjson", "error-curl-i.ndjson"}  # an error as the whole body: valid, and failed
# what an SDK reading the stream can parse to its end (or to the error line, where it raises)
SDK_READS = [p for p in GOOD if p.name != "error-curl-i.ndjson"] + [
    BROKEN / n for n in ("no-done.ndjson", "error-line.ndjson", "after-done.ndjson", "after-error.ndjson",
                         "model-changed.ndjson", "done-not-stop.ndjson")]
KEY = "ollama-test-key-5e0c2a9b17"


def events_of(path: Path | bytes):
    data = path if isinstance(path, bytes) else path.read_bytes()
    events, _ = read_events(io.BytesIO(data))  # no protocol given: the framing is found from the first line
    return events


def session_of(path: Path | bytes, protocol: str | None = None) -> Session:
    data = path if isinstance(path, bytes) else path.read_bytes()
    s = read_session(io.BytesIO(data), protocol)
    return s


def run(*args: str, env: dict[str, str] | None = None):
    """The command line in this process, with ``env`` as the only Ollama variables: (code, stdout, stderr)."""
    from streamview.cli import main

    names = ("OLLAMA_HOST", "OLLAMA_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
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
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def final(path: Path) -> dict:
    code, out, err = run("print", "--json", str(path))
    return json.loads(out)


# -- the fixtures ------------------------------------------------------------------------------------------------
def test_the_fixtures_on_disk_are_what_the_script_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_ollama_fixtures", HERE / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    files = mod.everything()
    assert len(files) >= 20
    for path, text in files.items():
        assert path.read_bytes() == text.encode("utf-8"), path.name
    assert set(files) >= set(GOOD) | set(BROKEN_FILES) | {EXAMPLE}


def sdk_lines(path: Path):
    """What the ollama SDK's streaming loop yields for the fixture's lines: each line ``json.loads``-ed, a line with
    an ``error`` ends it (``ResponseError``), the others parsed by the SDK's own type for the endpoint."""
    from ollama import ChatResponse, GenerateResponse

    out = []
    for ev in events_of(path):
        if ev.kind != "event":
            continue
        part = json.loads(ev.data)
        if part.get("error"):
            break
        out.append(ChatResponse(**part) if "message" in part else GenerateResponse(**part))
    return out


def sdk_message(parts) -> dict:
    """The SDK caller's assembly: content and thinking added up, tool calls collected, the last part's metrics."""
    from ollama import ChatResponse

    chat = bool(parts) and isinstance(parts[0], ChatResponse)
    content = "".join((p.message.content if chat else p.response) or "" for p in parts)
    thinking = "".join((p.message.thinking if chat else p.thinking) or "" for p in parts)
    calls = [tc.model_dump(exclude_none=True) for p in parts if chat for tc in (p.message.tool_calls or [])]
    return {"content": content, "thinking": thinking, "tool_calls": calls}


def test_every_line_parses_with_the_sdks_own_types():
    from ollama import ChatResponse, GenerateResponse

    for path in GOOD + [EXAMPLE]:
        n = 0
        for ev in events_of(path):
            if ev.kind != "event":
                continue
            part = json.loads(ev.data)
            if part.get("error"):
                assert set(part) == {"error"}
                continue
            obj = (ChatResponse if "message" in part else GenerateResponse).model_validate(part)
            assert obj.model == part["model"] and obj.done is part["done"]
            n += 1
        assert n or path.name in ERRORS, path.name


@pytest.mark.parametrize("path", SDK_READS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_assembly_is_what_the_sdks_caller_adds_up(path):
    parts = sdk_lines(path)
    expected = sdk_message(parts)
    data = final(path)
    body = data.get("message") or {}
    content = body.get("content", data.get("response"))
    thinking = body.get("thinking", data.get("thinking"))
    assert content == expected["content"]
    assert (thinking or "") == expected["thinking"]
    calls = [{"function": {k: v for k, v in c["function"].items() if k in ("name", "arguments")}} for c in body.get("tool_calls") or []]
    assert calls == [{"function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}} for c in expected["tool_calls"]]
    done = [p for p in parts if p.done]
    if done:
        last = done[0]
        assert data["done_reason"] == last.done_reason
        for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"):
            assert data.get(key) == getattr(last, key), key
        assert data["usage"] == {"input_tokens": last.prompt_eval_count or 0, "output_tokens": last.eval_count or 0,
                                 "total_tokens": (last.prompt_eval_count or 0) + (last.eval_count or 0)}
    else:
        assert data["done"] is False and data["usage"] is None


def test_print_lays_out_thinking_text_and_tool_calls():
    code, out, err = run("print", str(HERE / "chat-thinking.ndjson"))
    parts = sdk_message(sdk_lines(HERE / "chat-thinking.ndjson"))
    assert code == 0 and err == ""
    assert out == f"[reasoning] {parts['thinking']}\n\n{parts['content']}\n"
    code, out, _ = run("print", str(HERE / "chat-tool-calls.ndjson"))
    calls = sdk_message(sdk_lines(HERE / "chat-tool-calls.ndjson"))["tool_calls"]
    assert code == 0 and len(calls) == 2
    for call in calls:
        fn = call["function"]
        assert f"[function_call {fn['name']}] {json.dumps(fn['arguments'], ensure_ascii=False)}" in out
    code, out, _ = run("print", str(HERE / "generate-context.ndjson"))
    assert code == 0 and out == sdk_message(sdk_lines(HERE / "generate-context.ndjson"))["content"] + "\n"


def test_print_json_is_in_ollamas_shape():
    data = final(HERE / "chat-tool-calls.ndjson")
    assert (data["protocol"], data["endpoint"], data["status"], data["done"], data["done_reason"]) == ("ollama", "chat", "completed", True, "stop")
    assert data["model"] == "qwen3:8b" and data["created_at"].startswith("2025-06-20T14:03:51")
    assert [c["id"] for c in data["message"]["tool_calls"]] == ["call_8m2x1rqa", "call_v4k0e7zn"]
    assert data["message"]["role"] == "assistant" and data["message"]["content"] == ""
    gen = final(HERE / "generate-context.ndjson")
    assert gen["endpoint"] == "generate" and "message" not in gen
    assert gen["context"] == 58  # how many token ids: the ids themselves are never dumped
    code, out, _ = run("print", "--json", str(HERE / "generate-context.ndjson"))
    raw = next(json.loads(ev.data) for ev in events_of(HERE / "generate-context.ndjson") if '"context"' in ev.data)
    assert str(raw["context"][:3])[1:-1] not in out  # no run of the ids in the output


# -- sniffing and framing ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GOOD + BROKEN_FILES + [EXAMPLE], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_is_read_as_ndjson_and_sniffed_without_a_flag(path):
    s = session_of(path)
    assert s.protocol == "ollama", path.name
    forced = session_of(path, "ollama")
    assert forced.count == s.count and [a.rule for a in forced.anomalies] == [a.rule for a in s.anomalies]
    assert s.state.text() == forced.state.text()


def test_the_framing_is_found_from_the_first_telling_line():
    def framing_of(data: bytes, pieces: int = 1) -> tuple[str | None, list]:
        f = AutoFramer()
        out = []
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            out += f.feed(data[i : i + step])
        out += f.finish()
        return f.framing, out

    line = (HERE / "chat-thinking.ndjson").read_bytes().split(b"\n")[0] + b"\n"
    assert framing_of(line)[0] == "ndjson"
    assert framing_of(b"\xef\xbb\xbf\n\n: a comment\n" + line)[0] == "ndjson"  # BOM, blank lines, comments say nothing
    assert framing_of(b'{"streamview":"streamview transcript 1"}\n')[0] == "ndjson"
    assert framing_of(b"data: {}\n\n")[0] == "sse"
    assert framing_of(b'{"foo": 1}\n')[0] == "sse"  # a JSON line no NDJSON protocol claims: SSE says what it is
    assert framing_of(b'{"error": {"message": "boom", "type": "x"}}')[0] == "sse"  # an OpenAI error body
    assert framing_of(b'{"error": "model not found"}')[0] == "ndjson"  # Ollama's
    assert framing_of(b"")[0] == "sse" and framing_of(b": only a comment\n")[0] == "sse"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n"
    assert framing_of(head + b'{"a": 1}\n')[0] == "ndjson"  # the head's content type tells
    assert framing_of(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + line)[0] == "sse"
    assert framing_of(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n" + line)[0] == "ndjson"
    # the decision waits for the line to end, however the bytes are cut
    data = (HERE / "chat-recorded.ndjson").read_bytes()
    whole = framing_of(data)
    for n in (2, 7, 50, len(data)):
        got = framing_of(data, n)
        assert got[0] == "ndjson" and [(f.kind, f.data, f.t) for f in got[1]] == [(f.kind, f.data, f.t) for f in whole[1]]


def test_auto_framing_gives_sse_streams_exactly_the_sse_framers_frames():
    from streamview.sse import SSEParser

    paths = sorted(FIXTURES.glob("*/*.sse")) + sorted(FIXTURES.glob("*/broken/*.sse")) + sorted(EXAMPLES.glob("*.sse"))
    assert len(paths) > 40
    rng = random.Random(11)
    for path in paths:
        data = path.read_bytes()
        a, b = AutoFramer(keep_raw=True), SSEParser(keep_raw=True)
        cuts = sorted(rng.sample(range(1, len(data)), min(6, len(data) - 1)))
        got = []
        for x, y in zip([0, *cuts], [*cuts, len(data)]):
            got += a.feed(data[x:y])
        got += a.finish()
        want = b.feed(data) + b.finish()
        assert got == want, path.name
        assert a.framing == "sse" and a.meta == b.meta and a.bom == b.bom


def test_sniffing_asks_only_the_protocols_of_the_framing():
    err = b'{"error": "boom"}\n'
    assert session_of(err).protocol == "ollama"  # an NDJSON line: only NDJSON protocols are asked
    sse = b'data: {"error": "boom"}\n\n'
    assert session_of(sse).protocol == "chat"  # the same object as an SSE event: an OpenAI-compatible error chunk
    events = events_of(err)
    assert protocols.sniff(events[0], "ndjson") is PROTOCOL
    assert protocols.sniff(events[0], "sse").name == "chat"
    assert protocols.default("ndjson") is PROTOCOL and protocols.default("sse").name == protocols.NAMES[0]
    # a stream of NDJSON with nothing readable is checked as the framing's first protocol
    s = session_of(b'{"streamview":"streamview transcript 1"}\n<html>\n')
    assert s.protocol == "ollama" and [a.rule for a in s.anomalies] == ["bad-line"]


def test_sniff_confidence_levels():
    def score(obj) -> float:
        (ev,) = events_of(json.dumps(obj).encode() + b"\n") if not isinstance(obj, str) else events_of(obj.encode())
        return PROTOCOL.sniff(ev)

    chat = {"model": "m", "created_at": "2025-01-01T00:00:00Z", "message": {"role": "assistant", "content": "x"}, "done": False}
    assert score(chat) == 1.0
    assert score({**chat, "created_at": None}) == 0.9
    assert score({"model": "m", "created_at": "t", "response": "x", "done": True}) == 1.0
    assert score({"error": "boom"}) == 0.4 < 0.5  # below Chat Completions' error chunk, were both asked
    assert score({"error": "boom", "type": "x"}) == 0.0
    assert score({"model": "m", "message": {}, "done": "no"}) == 0.0
    assert score({"status": "pulling manifest"}) == 0.0
    assert score("[1, 2]\n") == 0.0


def test_a_json_object_that_no_protocol_claims_still_says_what_it_is(tmp_path):
    path = tmp_path / "body.json"
    path.write_text('{"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}')
    code, out, err = run("print", str(path))  # an OpenAI error body: read as SSE, as before
    assert code == 2 and "this is a JSON object, not an SSE stream" in one_line(err)
    path.write_text('{"id": 3, "name": "x"}\n')
    code, out, err = run("print", str(path))
    assert code == 2 and "this is a JSON object, not an SSE stream" in err


def test_the_colon_form_of_timing_is_read_too():
    lines = (HERE / "chat-thinking.ndjson").read_text().splitlines()
    data = ": streamview transcript 1\n: status 200\n" + "".join(f": t={0.1 * i:.4f}\n{ln}\n" for i, ln in enumerate(lines))
    events = events_of(data.encode())
    assert [round(ev.t, 4) for ev in events] == [round(0.1 * i, 4) for i in range(len(lines))]
    assert session_of(data.encode()).protocol == "ollama"


def test_streamview_lines_count_only_in_a_transcript():
    lines = (HERE / "chat-thinking.ndjson").read_text().splitlines()
    data = (lines[0] + "\n" + '{"streamview":"t=5"}\n' + "\n".join(lines[1:]) + "\n").encode()
    events = events_of(data)
    assert len(events) == len(lines) + 1 and events[1].payload == {"streamview": "t=5"}  # a line like any other
    s = session_of(data)
    assert "unknown-shape" in {a.rule for a in s.anomalies}


# -- recording ---------------------------------------------------------------------------------------------------
def test_a_recorded_ndjson_transcript_is_ndjson_with_its_timing(tmp_path):
    from streamview.replay.recorder import Recorder, write_transcript
    from streamview.sse import TranscriptMeta

    meta = TranscriptMeta(recorded=True, request="POST http://127.0.0.1:11434/api/chat", request_body='{"model": "x"}',
                          status=200, headers=[("content-type", "application/x-ndjson")])
    path = tmp_path / "rec.ndjson"
    rec = Recorder(str(path), meta, framing="ndjson")
    reader = EventReader(framing="ndjson", on_frame=rec.on_frame, clock=iter(0.25 * i for i in range(1, 1000)).__next__)
    body = (HERE / "chat-tool-calls.ndjson").read_bytes()
    for ln in body.splitlines(keepends=True):  # one line a read: the clock is read once a read
        reader.feed(ln)
    reader.finish()
    rec.close()
    text = path.read_text()
    assert all(json.loads(ln) is not None for ln in text.splitlines())  # every line is one JSON value
    assert text.count('{"streamview":"t=') == body.count(b"\n")
    events = events_of(path)
    assert [ev.data for ev in events] == [ln for ln in body.decode().splitlines()]
    assert [ev.t for ev in events] == [0.25 * i for i in range(1, len(events) + 1)]
    s = session_of(path)
    assert s.meta.recorded and s.meta.status == 200 and s.meta.request == meta.request
    assert s.meta.headers == [("content-type", "application/x-ndjson")]
    # the UI's save writes the same form
    out = tmp_path / "saved.ndjson"
    with open(out, "w", encoding="utf-8") as fh:
        n = write_transcript(fh, events, s.meta, "ndjson")
    assert n == len(events)
    assert all(json.loads(ln) is not None for ln in out.read_text().splitlines())
    again = events_of(out)
    assert [(e.data, e.t) for e in again] == [(e.data, e.t) for e in events]


# -- the assembler -----------------------------------------------------------------------------------------------
def test_status_and_items_of_each_ending():
    st = assemble(events_of(HERE / "chat-thinking.ndjson"))
    assert st.status == "completed" and st.terminal_type == "done" and st.stop_reason == "stop"
    assert [(i.type, i.status) for i in st.ordered_items()] == [("reasoning", "completed"), ("message", "completed")]
    st = assemble(events_of(BROKEN / "done-not-stop.ndjson"))
    assert st.status == "incomplete" and st.response["incomplete_details"] == {"reason": "length"}
    assert [i.status for i in st.ordered_items()] == ["length"]
    st = assemble(events_of(BROKEN / "no-done.ndjson"))
    assert st.status == "in_progress" and st.terminal_event is None and st.usage is None
    st = assemble(events_of(BROKEN / "error-line.ndjson"))
    assert st.status == "failed" and st.error == {"message": "an error was encountered while running the model: unexpected EOF"}
    st = assemble(events_of(BROKEN / "after-error.ndjson"))
    assert st.text() == "Hello! How"  # the SDK raised at the error line: what came after is not its caller's
    st = assemble(events_of(BROKEN / "after-done.ndjson"))
    assert st.text().endswith(" Anything else?") and st.status == "completed"  # the SDK yields every line
    load = b'{"model":"llama3.2","created_at":"2025-06-20T14:03:51Z","message":{"role":"assistant","content":""},"done_reason":"load","done":true}\n'
    st = assemble(events_of(load))
    assert st.status == "completed" and st.items == {} and st.usage == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}


def test_the_whole_body_error_of_an_http_status_fails():
    for name in ERRORS:
        code, out, err = run("print", str(HERE / name))
        assert code == 1 and out == ""
        assert one_line(err) == 'streamview: stream failed: model "llama9" not found, try pulling it first'
    s = session_of(HERE / "error-curl-i.ndjson")
    assert s.meta.status == 404 and ("Content-Type", "application/json; charset=utf-8") in s.meta.headers


def test_time_travel_is_the_fold_of_the_prefix():
    for path in (HERE / "chat-tool-calls.ndjson", HERE / "chat-thinking.ndjson"):
        events = events_of(path)
        model = Session("t", protocol="ollama")
        for ev in events:
            model.add(ev)
        model.finish()
        for i in range(len(events)):
            st = model.state_at(i)
            parts = [json.loads(e.data) for e in events[: i + 1]]
            thinking = "".join(p["message"].get("thinking") or "" for p in parts)
            content = "".join(p["message"].get("content") or "" for p in parts)
            calls = sum(len(p["message"].get("tool_calls") or []) for p in parts)
            assert (st.joined(st.thinking, ("thinking",)) or "") == thinking
            assert (st.joined(st.message, ("text",)) or "") == content
            assert len(st.tool_calls) == calls


def test_the_events_table_drives_dispatch_and_kinds():
    assert set(EVENTS) == KNOWN_TYPES == {"chat", "generate", "chat done", "generate done", "done", "error"}
    a = OllamaAssembler()
    assert set(a._handlers) == set(EVENTS)
    for path in GOOD + BROKEN_FILES:
        for ev in events_of(path):
            label, kind, key = PROTOCOL.classify(ev)
            d = PROTOCOL.describe(ev)
            assert (d.label, d.kind, d.key) == (label, kind, key)
            etype = type_of(ev.payload) if ev.kind == "event" else None
            if etype is not None and etype != "error" and kind != "terminal":
                assert kind in ("delta", "lifecycle")
            if etype is not None and etype.endswith("done"):
                assert kind == "terminal"


def test_describe_says_what_a_line_adds():
    events = events_of(HERE / "chat-tool-calls.ndjson")
    rows = [PROTOCOL.describe(ev) for ev in events]
    assert rows[0].label == "chat" and rows[0].summary == '[thinking] "The"' and rows[0].kind == "delta"
    assert rows[10].summary == 'get_current_weather {"city": "Paris", "unit": "celsius"}' and rows[10].key == "tool_calls"
    assert rows[-1].label == "chat done (stop)" and rows[-1].kind == "terminal"
    assert rows[-1].summary.startswith('"" done_reason=stop 211 in / 58 out')
    gen = [PROTOCOL.describe(ev) for ev in events_of(HERE / "generate-context.ndjson")]
    assert gen[0].summary == '"The"' and "context 58 token ids" in gen[-1].summary
    (err,) = [PROTOCOL.describe(ev) for ev in events_of(HERE / "error-model-not-found.ndjson")]
    assert (err.label, err.kind, err.summary) == ("error", "error", 'model "llama9" not found, try pulling it first')


def test_times_and_rates_in_words():
    assert duration_text(1_234_000_000) == "1.23 s"
    assert duration_text(130_079_000) == "130 ms"
    assert duration_text(4_200_000) == "4.2 ms"
    assert duration_text(850_000) == "850 µs"
    assert eval_text(259, 4_232_710_000) == "259 tokens in 4.23 s (61.2 tokens/s)"
    assert eval_text(1, None) == "1 token" and eval_text(None, 5_000_000) == "5.0 ms"
    assert eval_text(3, 0) == "3 tokens in 0 µs"


def test_the_response_rows():
    from streamview.render import response_rows, row_text

    s = session_of(HERE / "generate-context.ndjson")
    rows = dict(row_text(r) for r in response_rows(s) if r.label)
    m = final(HERE / "generate-context.ndjson")
    assert rows["endpoint"] == "/api/generate" and rows["done"] == "true, done_reason stop"
    assert rows["total time"] == duration_text(m["total_duration"])
    assert rows["eval"] == eval_text(m["eval_count"], m["eval_duration"]) and "tokens/s" in rows["eval"]
    assert rows["prompt eval"].startswith(f"{m['prompt_eval_count']} tokens in ")
    assert rows["context"] == "58 token ids (not shown)" and rows["protocol"] == "Ollama"
    assert rows["input"] == str(m["prompt_eval_count"]) and rows["output"] == str(m["eval_count"])
    cut = dict(row_text(r) for r in response_rows(session_of(BROKEN / "no-done.ndjson")) if r.label)
    assert cut["done"] == "- (comes with the last line)" and cut["tokens"].startswith("- (comes with the done line")


# -- the checker -------------------------------------------------------------------------------------------------
IMPLIED = {"after-error": {"error-line"}}  # a line after the error needs the error line


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.name)
def test_each_broken_fixture_raises_exactly_its_rule(path):
    rule = path.stem
    rules = [a.rule for a in check_events(events_of(path))]
    assert rule in rules and set(rules) <= {rule} | IMPLIED.get(rule, set()), rules
    assert rules.count(rule) == 1


def test_every_rule_has_a_broken_fixture_and_is_declared():
    assert PROTOCOL.rules == RULES
    assert {p.stem for p in BROKEN_FILES} == set(RULES)


@pytest.mark.parametrize("path", [p for p in GOOD if p.name not in ERRORS] + [EXAMPLE], ids=lambda p: p.name)
def test_good_fixtures_raise_nothing(path):
    assert check_events(events_of(path)) == []
    code, out, err = run("check", str(path))
    assert code == 0 and out == f"{path}: ok in {len(events_of(path))} events (Ollama)\n"


def test_check_and_its_json_through_the_cli():
    path = BROKEN / "no-done.ndjson"
    code, out, _ = run("check", str(path))
    assert code == 1 and ' error no-done: the stream ended without a line with "done": true' in out
    code, out, _ = run("check", "--json", str(path))
    assert [(a["rule"], a["protocol"], a["severity"]) for a in json.loads(out)] == [("no-done", "ollama", "error")]
    code, out, _ = run("check", str(BROKEN / "done-not-stop.ndjson"))
    assert code == 0 and "note done-not-stop: done_reason 'length'" in out
    code, out, err = run("print", str(BROKEN / "no-done.ndjson"))
    assert code == 1 and out == "Hello! How can I\n"
    assert one_line(err) == 'streamview: stream ended without a terminal event (a line with "done": true)'


def test_a_last_line_cut_off_mid_json():
    data = (HERE / "chat-thinking.ndjson").read_bytes()
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 40]  # the done line, cut
    s = session_of(cut)
    assert s.protocol == "ollama"
    assert [a.rule for a in s.anomalies] == ["bad-line", "no-done"]
    assert "cut off at end of input" in s.anomalies[0].message


def test_no_traceback_on_any_field_of_the_wrong_type():
    base = json.loads((HERE / "chat-tool-calls.ndjson").read_text().splitlines()[10])
    done = json.loads((HERE / "chat-tool-calls.ndjson").read_text().splitlines()[-1])
    values = [None, 1, 1.5, True, "x", [], [1], {}, {"a": 1}]
    for obj in (base, done, {"model": "m", "response": "x", "done": False, "context": [1]}):
        for key in list(obj) + ["message.role", "message.content", "message.tool_calls", "message.thinking"]:
            for v in values:
                o = json.loads(json.dumps(obj))
                if key.startswith("message.") and isinstance(o.get("message"), dict):
                    o["message"][key[8:]] = v
                else:
                    o[key] = v
                line = json.dumps(o).encode() + b"\n"
                events = events_of(json.dumps(base).encode() + b"\n" + line)
                s = Session("t", protocol="ollama")
                for ev in events:
                    s.add(ev)
                    PROTOCOL.describe(ev)
                s.finish()
                s.state.final()
                s.state.text()
                PROTOCOL.status_rows(s.state)


# -- the command line and the panes ------------------------------------------------------------------------------
def test_replay_plain_streams_what_print_prints():
    for path in GOOD + BROKEN_FILES:
        pcode, pout, _ = run("print", str(path))
        code, out, err = run("replay", "--plain", "--instant", str(path))
        assert out == pout, path.name
        assert code == pcode or (pcode == 2 and code == 1), path.name
        assert " · ollama · " in err.splitlines()[-1] or code == 1


def test_demo_plays_the_ollama_example():
    code, out, err = run("demo", "ollama-thinking", "--plain", "--instant")
    assert code == 0, err
    assert out == run("print", str(EXAMPLE))[1] and "[reasoning]" in out and "**391**" in out
    assert " · ollama · " in err and "first token" in err  # the example carries its timing
    code, out, _ = run("demo", "--list")
    assert "ollama-thinking" in out


async def test_the_panes_show_an_ollama_stream():
    app = make_app(HERE / "chat-tool-calls.ndjson", label="ollama", instant=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.model.finished)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert app.model.protocol == "ollama" and app.player.framing == "ndjson"
        assert app.player.framer.suffix == ".ndjson"  # what the save prompt offers
    assert "Ollama" in text and "qwen3:8b" in text and "/api/chat" in text
    assert "chat done (stop)" in text and "get_current_weather" in text
    assert "tokens/s" in text and "done_reason stop" in text


async def test_the_message_pane_shows_markup_as_text():
    from streamview.widgets.message_view import MessageView

    app = make_app(HERE / "markup-unicode.ndjson", instant=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.model.finished)
        shown = app.query_one(MessageView).text_view.text
        text = screen_text(app)
    assert "[bold]not bold[/bold]" in shown and "[/foo]" in shown
    assert "\x1b" not in shown and "\x1b" not in text and "␛" in shown


# -- serve -------------------------------------------------------------------------------------------------------
def test_the_ollama_sdk_reads_serve():
    import httpx
    import ollama

    from streamview.replay.serve import serve_in_thread

    for path, call in ((HERE / "chat-recorded.ndjson", "chat"), (HERE / "chat-thinking.ndjson", "chat"),
                       (HERE / "generate-context.ndjson", "generate")):
        srv, base = serve_in_thread(str(path), speed=100)
        try:
            assert base == f"http://127.0.0.1:{srv.server_address[1]}" and srv.protocol == "ollama"
            client = ollama.Client(host=base)
            if call == "chat":
                got = list(client.chat(model="x", messages=[{"role": "user", "content": "y"}], stream=True))
            else:
                got = list(client.generate(model="x", prompt="y", stream=True))
            assert [g.model_dump() for g in got] == [p.model_dump() for p in sdk_lines(path)]
            r = httpx.post(base + "/api/chat", json={"model": "x"}, timeout=10)
            assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
            lines = r.text.splitlines()
            assert lines == [ev.data for ev in events_of(path) if ev.kind == "event"]  # no transcript line is sent
            missing = httpx.post(base + "/api/embed", json={}, timeout=10)
            assert missing.status_code == 404
            assert missing.json() == {"error": "no route /api/embed: this server answers POST /api/chat or /api/generate (Ollama transcript)"}
            with pytest.raises(ollama.ResponseError, match="no route /api/embed"):
                client.embed(model="x", input="y")
        finally:
            srv.shutdown()
            srv.server_close()


def test_serve_streams_an_error_line_the_sdk_raises_on():
    import ollama

    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(BROKEN / "error-line.ndjson"), speed=100)
    try:
        got = []
        with pytest.raises(ollama.ResponseError, match="unexpected EOF"):
            for part in ollama.Client(host=base).chat(model="x", messages=[], stream=True):
                got.append(part)
        assert "".join(p.message.content for p in got) == "Hello! How can"
    finally:
        srv.shutdown()
        srv.server_close()


# -- live --------------------------------------------------------------------------------------------------------
class OllamaServer:
    """A real HTTP server on 127.0.0.1 answering ``POST /KIND/api/chat`` with an NDJSON body, line by line:
    ``plain`` (all at once), ``chunked`` (1 to 7 bytes a write), ``slow`` (a line every 50 ms), ``gate`` (two lines,
    then it waits until the test says an event arrived), ``drop`` (half the lines, then the connection dies),
    ``status/CODE`` (Ollama's error body; a 401 echoes the Authorization it got)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[dict] = []
        self.gate = threading.Event()
        self.gate_opened_in_time: bool | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                parts = self.path.strip("/").split("/")
                if parts[0] == "status":
                    code = int(parts[1])
                    msg = {404: 'model "nope" not found, try pulling it first',
                           401: f"unauthorized: {self.headers.get('Authorization', '')}"}[code]
                    data = json.dumps({"error": msg}).encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                lines = outer.body.splitlines(keepends=True)
                try:
                    if parts[0] == "chunked":
                        data, i, n = outer.body, 0, 1
                        while i < len(data):
                            self._chunk(data[i : i + n])
                            i, n = i + n, n % 7 + 1
                    elif parts[0] == "drop":
                        self._chunk(b"".join(lines[: len(lines) // 2]))
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.connection.close()
                        return
                    elif parts[0] in ("slow", "gate"):
                        for n, ln in enumerate(lines):
                            self._chunk(ln)
                            if parts[0] == "slow":
                                time.sleep(0.05)
                            elif n == 1:
                                outer.gate_opened_in_time = outer.gate.wait(10)
                    else:
                        self._chunk(outer.body)
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


LIVE_BODY = HERE / "chat-thinking.ndjson"


@pytest.fixture(scope="module")
def server():
    srv = OllamaServer(LIVE_BODY.read_bytes())
    yield srv
    srv.close()


@pytest.fixture
def srv(server):
    server.requests.clear()
    return server


def test_live_streams_records_and_replays(srv, tmp_path):
    out = tmp_path / "live.ndjson"
    code, stdout, err = run("live", "--api", "ollama", "What is 17 × 23?", "--base-url", srv.url("chunked"), "--plain",
                            "--save", str(out))
    assert code == 0, err
    assert stdout == run("print", str(LIVE_BODY))[1]
    expected = final(LIVE_BODY)
    summary = one_line(err)
    assert summary.startswith(f"streamview: completed · {expected['model']} · ollama · 23 in / 50 out / 73 total · stop stop")
    (request,) = srv.requests
    assert request["path"] == "/chunked/api/chat"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert "authorization" not in headers and headers["content-type"] == "application/json"
    assert headers.get("accept") != "text/event-stream"  # an NDJSON protocol does not ask for an event stream
    assert json.loads(request["body"]) == {"model": "llama3.2", "messages": [{"role": "user", "content": "What is 17 × 23?"}],
                                           "stream": True}
    saved = out.read_text(encoding="utf-8")
    assert all(json.loads(ln) is not None for ln in saved.splitlines())  # NDJSON, every line
    assert saved.startswith('{"streamview":"streamview transcript 1"}\n'
                            f'{{"streamview":"request POST {srv.url("chunked")}/api/chat"}}\n')
    assert '{"streamview":"status 200"}' in saved and saved.count('{"streamview":"t=') == expected["events"]
    code, replayed, _ = run("print", str(out))
    assert replayed == stdout and final(out) == expected
    s = session_of(out)
    times = [ev.t for ev in events_of(out)]
    assert s.protocol == "ollama" and all(t is not None for t in times) and times == sorted(times)


def test_live_request_options(srv):
    code, _, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("plain"), "--plain", "--model", "qwen3:8b",
                       "--instructions", "be terse", "--max-output-tokens", "64", "--temperature", "0.2",
                       "--reasoning-effort", "high", "--body", '{"options": {"num_ctx": 8192}, "keep_alive": "5m", "stream": false}',
                       "--header", "X-Trace: abc")
    assert code == 0, err
    (request,) = srv.requests
    assert json.loads(request["body"]) == {
        "model": "qwen3:8b", "messages": [{"role": "system", "content": "be terse"}, {"role": "user", "content": "hi"}],
        "options": {"num_predict": 64, "temperature": 0.2, "num_ctx": 8192}, "think": "high", "keep_alive": "5m",
        "stream": True}
    assert request["headers"]["X-Trace"] == "abc"
    srv.requests.clear()
    code, _, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("plain"), "--plain", "--reasoning-effort", "none")
    assert code == 0 and json.loads(srv.requests[0]["body"])["think"] is False
    code, _, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("plain"), "--plain", "--reasoning-effort", "minimal")
    assert code == 2 and "--reasoning-effort 'minimal': one of none, low, medium, high" in one_line(err)


def test_live_base_from_ollama_host_as_the_sdk_reads_it(srv):
    for host in (f"127.0.0.1:{srv.port}/plain", f"http://127.0.0.1:{srv.port}/plain/"):
        srv.requests.clear()
        code, _, err = run("live", "--api", "ollama", "hi", "--plain", env={"OLLAMA_HOST": host})
        assert code == 0, err
        assert srv.requests[0]["path"] == "/plain/api/chat"


def test_parse_host_is_the_sdks():
    from ollama._client import _parse_host

    cases = [None, "", "1.2.3.4", ":56789", "1.2.3.4:56789", "http://1.2.3.4", "https://1.2.3.4", "https://1.2.3.4:56789",
             "example.com", "example.com:56789", "http://example.com", "https://example.com:56789/path", "example.com/",
             "example.com:56789/path/", "[0001:002:003:0004::1]", "[0001:002:003:0004::1]:56789/path",
             "https://[0001:002:003:0004::1]", "localhost"]
    for host in cases:
        assert parse_host(host) == _parse_host(host), host
    assert parse_host(None) == PROTOCOL.live.default_base


def test_live_sends_ollama_api_key_when_set_and_never_shows_it(srv, tmp_path):
    out = tmp_path / "err.ndjson"
    code, stdout, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("status/401"), "--plain", "--save", str(out),
                            env={"OLLAMA_API_KEY": KEY})
    assert code == 1
    assert srv.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert one_line(err) == "streamview: HTTP 401 Unauthorized: unauthorized: [redacted]"
    saved = out.read_text()
    assert '{"streamview":"status 401"}' in saved
    for blob in (stdout, err, saved):
        assert KEY not in blob


def test_live_http_error_says_the_servers_words(srv):
    code, stdout, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("status/404"), "--plain")
    assert code == 1 and stdout == ""
    assert one_line(err) == 'streamview: HTTP 404 Not Found: model "nope" not found, try pulling it first'


def test_live_error_line_mid_stream_fails():
    srv = OllamaServer((BROKEN / "error-line.ndjson").read_bytes())
    try:
        code, stdout, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("plain"), "--plain")
    finally:
        srv.close()
    assert code == 1 and stdout == "Hello! How can\n"
    assert "stream failed: an error was encountered while running the model: unexpected EOF" in err.splitlines()[-1]


def test_live_dropped_connection_keeps_what_arrived(srv, tmp_path):
    out = tmp_path / "drop.ndjson"
    code, stdout, err = run("live", "--api", "ollama", "hi", "--base-url", srv.url("drop"), "--plain", "--save", str(out))
    assert code == 1
    line = one_line(err)
    assert "connection dropped mid-stream" in line
    sent = len(LIVE_BODY.read_bytes().splitlines()) // 2
    assert f"{sent} events" in line
    assert out.read_text().count('{"streamview":"t=') == sent
    assert run("print", str(out))[1] == stdout


def test_live_refused_connection():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, _, err = run("live", "--api", "ollama", "hi", "--base-url", f"http://127.0.0.1:{port}", "--plain")
    assert code == 1 and f"connection refused by 127.0.0.1:{port}" in one_line(err)


def test_live_events_arrive_before_the_body_ends(srv):
    """The server sends two lines and then waits until the client has shown an event: a client that buffered the
    body would leave it waiting (and the test would see the gate opened late, or never)."""
    from streamview.live import LiveSource, build_request
    from streamview.replay.player import Player

    srv.gate.clear()
    srv.gate_opened_in_time = None
    request = build_request("hi", api="ollama", base_url=srv.url("gate"), env={})
    assert request.framing == "ndjson"
    player = Player(live=LiveSource(request, read_timeout=20), protocol="ollama")
    seen: list[tuple[int, float]] = []

    def emit(ev) -> None:
        seen.append((ev.index, time.monotonic()))
        srv.gate.set()

    asyncio.run(player.run(emit, until_finished=True))
    assert srv.gate_opened_in_time is True
    assert len(seen) == len(LIVE_BODY.read_bytes().splitlines()) and player.read_error is None
    # and a slow server's lines arrive spread out, as sent
    srv.requests.clear()
    request = build_request("hi", api="ollama", base_url=srv.url("slow"), env={})
    player = Player(live=LiveSource(request), protocol="ollama")
    times: list[float] = []
    asyncio.run(player.run(lambda ev: times.append(ev.t), until_finished=True))
    assert len(times) == len(seen) and times[-1] - times[0] > 0.05 * (len(times) - 2)


def test_live_against_serve_matches_print():
    from streamview.replay.serve import serve_in_thread

    srv, base = serve_in_thread(str(HERE / "chat-tool-calls.ndjson"), speed=100)
    try:
        code, out, err = run("live", "--api", "ollama", "hi", "--base-url", base, "--plain")
    finally:
        srv.shutdown()
        srv.server_close()
    assert code == 0, err
    assert out == run("print", str(HERE / "chat-tool-calls.ndjson"))[1]


# -- the protocol object -----------------------------------------------------------------------------------------
def test_the_protocol_object():
    assert protocols.get("ollama") is PROTOCOL and "ollama" in protocols.NAMES
    assert (PROTOCOL.name, PROTOCOL.title, PROTOCOL.framing) == ("ollama", "Ollama", "ndjson")
    assert PROTOCOL.live.default_model == "llama3.2" and PROTOCOL.live.base_env == "OLLAMA_HOST"
    assert PROTOCOL.serve.paths == ("/api/chat", "/api/generate") and PROTOCOL.serve.comments is False
    assert framer(AUTO).__class__ is AutoFramer and isinstance(framer("ndjson"), NDJSONParser)
    assert think("HIGH") == "high" and think("none") is False
