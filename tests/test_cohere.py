"""Cohere v2 chat streams (streamview/protocols/cohere/): the assembler on every fixture, the checker's rules one
broken transcript each, describe/classify, the events table, sniffing, the live request builder and `live --api
cohere` against a real loopback server, `serve` read by the official SDK, the panes, and the assembler against the
official ``cohere`` SDK.

The differential test streams every valid transcript (tests/fixtures/cohere/*.sse, the bundled example and the real
capture) through a real ``cohere.ClientV2().chat_stream(...)`` (an httpx MockTransport serves the bytes in odd-sized
chunks, so the SDK's own SSE reader and its ``V2ChatStreamResponse`` parsing run as on a live connection): the SDK
must read every event of the stream as its own type and field for field as sent, and a fold of the SDK's typed
events (the SDK does not accumulate a stream itself) must give streamview's final message: each content block's
text or thinking, the tool plan, each tool call's id, name and arguments, the citations, the finish reason, the
usage and the message id, after every event as well as at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streamview.checks import ERROR, NOTE, fold_and_check
from streamview.events import StreamEvent
from streamview.live import RequestError
from streamview.protocols.base import DELTA, ITEM, KINDS, LIFECYCLE, TERMINAL, LiveOptions, bind_handlers
from streamview.protocols.base import ERROR as ERROR_KIND
from streamview.protocols.cohere import PROTOCOL, thinking
from streamview.protocols.cohere.assemble import CohereAssembler, CohereState, normalize_usage
from streamview.protocols.cohere.check import RULES, CohereChecker, check_events
from streamview.protocols.cohere.events import EVENTS, KNOWN_TYPES
from streamview.source import read_events
from streamview.state import Chunks
from tests.fixtures.cohere import make_fixtures as mf

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cohere"
VALID = sorted(FIXTURES.glob("*.sse"))
BROKEN = sorted((FIXTURES / "broken").glob("*.sse"))
EXAMPLE = ROOT / "streamview" / "examples" / "cohere-citations.sse"
REAL_DIR = ROOT.parent / "shared" / "streams" / "real"
REAL_NAME = "62_cohere-v2_text.sse"
KEY = "co-test-streamview-5b7e1c9a44"


def real_capture() -> Path:
    """The real capture; skipped with the reason when the shared folder is absent (never on CI)."""
    path = REAL_DIR / REAL_NAME
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real Cohere capture is missing from {REAL_DIR} (required on CI)")
        pytest.skip(f"the real Cohere capture is not here ({REAL_DIR} is absent): only the fixtures are checked")
    return path


def test_missing_real_capture_skips_but_fails_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL_DIR", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real_capture()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real_capture()


def events_of(source: Path | bytes | str) -> list[StreamEvent]:
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str):
        source = source.encode()
    return read_events(io.BytesIO(source))[0]


def fold(source) -> tuple[CohereState, list]:
    assembler, checker = PROTOCOL.assembler(), PROTOCOL.checker()
    anomalies = fold_and_check(assembler, checker, events_of(source))
    return assembler.state, anomalies


def assemble(source) -> CohereState:
    return fold(source)[0]


def stream(*payloads: Any, named: bool = True) -> bytes:
    """Raw SSE as Cohere sends it: ``event: <type>`` and ``data: <JSON>`` per payload."""
    out = []
    for p in payloads:
        data = p if isinstance(p, str) else json.dumps(p)
        name = p.get("type") if isinstance(p, dict) and named and isinstance(p.get("type"), str) else None
        out.append((f"event: {name}\n" if name else "") + f"data: {data}\n\n")
    return "".join(out).encode()


START = {"id": "m-1", "type": "message-start", "delta": {"message": {"role": "assistant"}}}
END = {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": mf.usage(1, 2, 3, 4)}}


def cli(*args: str, env: dict[str, str] | None = None):
    """The command line in this process, with ``env`` as the only API variables: (exit code, stdout, stderr)."""
    from streamview.cli import main

    names = ("CO_API_KEY", "COHERE_API_KEY", "CO_API_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
             "GOOGLE_API_KEY", "GEMINI_API_KEY")
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


# -- the fixtures on disk ----------------------------------------------------------------------------------------
def test_the_fixtures_on_disk_are_what_the_script_writes():
    rendered = mf.render()
    assert len(rendered) == len(mf.VALID) + len(mf.BROKEN_FIXTURES) + 1
    for path, text in rendered.items():
        assert path.read_bytes() == text.encode("utf-8"), f"{path}: run tests/fixtures/cohere/make_fixtures.py"
    assert set(VALID) == {p for p in rendered if p.parent == FIXTURES}
    assert set(BROKEN) == {p for p in rendered if p.parent == FIXTURES / "broken"}


def test_the_fixtures_are_named_events_with_lf():
    for path in VALID + BROKEN + [EXAMPLE]:
        raw = path.read_bytes()
        assert b"\r" not in raw, path.name
        events = [ev for ev in events_of(path) if ev.kind == "event" and isinstance(ev.payload, dict)]
        if path.name == "no-event-lines.sse":
            assert b"event:" not in raw and all(ev.name == "message" for ev in events)
        elif path.name != "name-mismatch.sse":
            assert all(ev.name == ev.payload.get("type") for ev in events if "type" in ev.payload), path.name


def test_the_example_is_a_commented_citations_stream():
    first = EXAMPLE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == mf.EXAMPLE_COMMENT
    assert events_of(EXAMPLE)[0].kind == "comment"
    st, anomalies = fold(EXAMPLE)
    assert anomalies == [] and st.status == "completed" and st.stop_reason == "COMPLETE"
    assert [i.type for i in st.ordered_items()] == ["reasoning", "message"]
    assert st.text() == f"[reasoning] {mf.CITED_THINKING}\n\n{mf.CITED}"
    assert len(st.citations) == 2
    index = (ROOT / "streamview" / "examples" / "index.txt").read_text(encoding="utf-8")
    assert "\ncohere-citations: " in index


# -- assembling each fixture -------------------------------------------------------------------------------------
def test_text():
    st = assemble(FIXTURES / "text.sse")
    (message,) = st.ordered_items()
    assert message.type == "message" and message.blocks[("text",)].kind == "output_text"
    assert st.text() == mf.TEXT and message.status == "completed"
    assert st.id == mf.message_id("text") and st.response["role"] == "assistant"
    assert st.status == "completed" and st.terminal_type == "message-end" and st.terminal_event == len(events_of(FIXTURES / "text.sse")) - 1
    assert st.model == "" and st.final()["model"] is None  # a Cohere stream does not name its model


def test_usage_is_normalized_and_kept_as_sent():
    st = assemble(FIXTURES / "text.sse")
    assert st.usage == {"input_tokens": 503, "output_tokens": 31, "total_tokens": 534,
                        "input_tokens_details": {"cached_tokens": 448}, "billed_units": {"input_tokens": 9, "output_tokens": 27}}
    assert st.cohere_usage == mf.usage(9, 27, 503, 31, 448) == st.final()["cohere_usage"]
    assert normalize_usage({"billed_units": {"input_tokens": 5.0}}) == {"billed_units": {"input_tokens": 5}}  # no tokens: no counts
    assert normalize_usage({"tokens": {"input_tokens": 7.0, "output_tokens": 2.5}}) == {"input_tokens": 7, "output_tokens": 2.5, "total_tokens": 9.5}
    assert normalize_usage({"tokens": "x", "cached_tokens": None}) == {}


def test_thinking_then_text():
    st = assemble(FIXTURES / "thinking-text.sse")
    reasoning, message = st.ordered_items()
    assert reasoning.type == "reasoning" and reasoning.blocks[("thinking",)].kind == "reasoning_text"
    assert reasoning.blocks[("thinking",)].text == mf.THINKING and message.blocks[("text",)].text == mf.ANSWER
    assert st.text() == f"[reasoning] {mf.THINKING}\n\n{mf.ANSWER}"
    assert [c["type"] for c in st.final()["message"]["content"]] == ["thinking", "text"]
    assert st.final()["message"]["content"][0] == {"type": "thinking", "thinking": mf.THINKING}


def test_tool_plan_and_calls():
    st = assemble(FIXTURES / "tool-plan-calls.sse")
    plan, *calls = st.ordered_items()
    assert plan.type == "tool_plan" and plan.blocks[("plan",)].text == mf.PLAN and plan.status == "completed"
    assert plan.done_event == next(ev.index for ev in events_of(FIXTURES / "tool-plan-calls.sse") if ev.type == "tool-call-start")
    assert [(c.type, c.name, c.id) for c in calls] == [("function_call", "get_weather", mf.call_id("get_weather", "tools0")),
                                                       ("function_call", "get_weather", mf.call_id("get_weather", "tools1"))]
    assert [json.loads(c.blocks[("arguments",)].text) for c in calls] == [{"city": "Paris", "unit": "celsius"}, {"city": "Tokyo", "unit": "celsius"}]
    assert st.text() == (f"[tool_plan] {mf.PLAN}\n\n[function_call get_weather] {''.join(mf.CALLS[0][1])}"
                         f"\n\n[function_call get_weather] {''.join(mf.CALLS[1][1])}")
    message = st.final()["message"]
    assert message["tool_plan"] == mf.PLAN
    assert message["tool_calls"][0] == {"id": calls[0].id, "type": "function", "function": {"name": "get_weather", "arguments": "".join(mf.CALLS[0][1])}}
    assert st.stop_reason == "TOOL_CALL" and st.status == "completed"


def test_a_call_without_arguments_is_shown_as_empty_json():
    st = assemble(FIXTURES / "tool-call-no-arguments.sse")
    _, call = st.ordered_items()
    assert call.name == "current_time" and call.blocks[("arguments",)].text == "{}" and "arguments_error" not in call.data
    assert st.final()["message"]["tool_calls"][0]["function"]["arguments"] == ""  # as streamed
    assert st.text().endswith("\n\n[function_call current_time] {}")


def test_citations_annotate_the_text_they_cite():
    st = assemble(FIXTURES / "citations.sse")
    (message,) = st.ordered_items()
    text = message.blocks[("text",)]
    assert text.text == mf.CITED and st.text() == mf.CITED  # the markers and sources are shown, not printed
    assert [c["text"] for c in st.citations] == ["completed in 1889", "at 330 metres, was the tallest man-made structure until 1930"]
    for c in st.citations:
        assert mf.CITED[c["start"]:c["end"]] == c["text"]
    # one annotation a source, its marker at the end of the cited text
    assert text.annotations == [{"source": "doc:0 (eiffel.txt)", "at": 38, "citation": 1}, {"source": "doc:1 (height.txt)", "at": 104, "citation": 2}]
    assert [st.citation(a) for a in text.annotations] == [("doc:0 (eiffel.txt)", 38), ("doc:1 (height.txt)", 104)]
    assert st.citation({"url": "https://x"}) is None and st.citation("x") is None
    assert message.phase == "2 citations" and list(message.blocks) == [("text",)]
    from streamview.render import markdown_document, render_document

    shown = "".join(render_document(st)[0])
    assert shown.endswith("The Eiffel Tower was completed in 1889[1] and, at 330 metres, was the tallest man-made structure until 1930[2]."
                          "\nsources:\n[1] doc:0 (eiffel.txt)\n[2] doc:1 (height.txt)")
    assert "Sources:\n\n1. doc:0 (eiffel.txt)\n2. doc:1 (height.txt)" in markdown_document(st)
    assert st.final()["message"]["citations"] == st.citations and st.citations[0]["sources"][0]["document"]["title"] == "eiffel.txt"
    assert PROTOCOL.status_rows(st)[-1] == ("citations", 2, "")


def test_a_citation_finds_its_block():
    def cite(**c):
        return {"type": "citation-start", "index": 0, "delta": {"message": {"citations": {"text": "x", "start": 0, "end": 1, **c}}}}

    content = [{"type": "content-start", "index": i, "delta": {"message": {"content": {"type": t}}}} for i, t in enumerate(("thinking", "text"))]
    plan = {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "p"}}}
    st = assemble(stream(START, plan, *content, cite(content_index=0), END))
    assert st.ordered_items()[1].blocks[("thinking",)].annotations == [{"source": "(no source)", "at": 1, "citation": 1}]
    st = assemble(stream(START, plan, *content, cite(type="PLAN"), END))
    assert st.ordered_items()[0].type == "tool_plan" and st.ordered_items()[0].phase == "1 citation"
    st = assemble(stream(START, plan, *content, cite(type="THINKING_CONTENT"), END))
    assert st.ordered_items()[1].type == "reasoning" and st.ordered_items()[1].phase == "1 citation"
    sources = [{"type": "tool", "id": "t1", "tool_output": {"temp": 21}}, {"type": "document", "document": {"id": "d7"}}, "junk"]
    st = assemble(stream(START, cite(type="TEXT_CONTENT", sources=sources), END))  # nothing to cite yet: on its own
    (item,) = st.ordered_items()
    assert item.type == "citations" and item.status == "completed" and item.phase == "1 citation"
    assert [a["source"] for a in item.blocks[("list",)].annotations] == ["t1 (tool output: temp)", "d7", "str"]


def test_max_tokens_is_incomplete():
    st, anomalies = fold(FIXTURES / "max-tokens.sse")
    assert st.status == "incomplete" and st.response["incomplete_details"] == {"reason": "MAX_TOKENS"}
    assert st.final()["incomplete_details"] == {"reason": "MAX_TOKENS"} and st.text() == mf.MAX
    assert [(a.rule, a.severity) for a in anomalies] == [("finish-incomplete", NOTE)]
    assert PROTOCOL.status_rows(st)[0] == ("finish", "MAX_TOKENS", "warn")


def test_an_error_finish_fails_the_stream():
    st, anomalies = fold(FIXTURES / "error-end.sse")
    assert anomalies == []  # the stream's failure, as an error object is in every protocol: no anomaly
    assert st.status == "failed" and st.terminal_type == "message-end"
    assert st.error == {"code": "ERROR", "message": "internal server error, this has been reported to our developers"}
    assert st.text() == "The first part of the answer and" and st.usage is None
    assert PROTOCOL.status_rows(st)[0] == ("finish", "ERROR", "bad")
    code, out, err = cli("print", str(FIXTURES / "error-end.sse"))
    assert code == 1 and out == "The first part of the answer and\n"
    assert err.strip() == "streamview: generation failed: ERROR internal server error, this has been reported to our developers"
    code, out, _ = cli("check", str(FIXTURES / "error-end.sse"))
    assert code == 1 and out.strip().endswith("ok; generation failed: ERROR internal server error, this has been reported to our developers in 9 events (Cohere Chat v2)")
    st = assemble(FIXTURES / "timeout.sse")
    assert st.status == "failed" and st.error == {"code": "TIMEOUT", "message": "the generation ended with finish_reason TIMEOUT"}
    assert st.usage is None and st.text() == "A long answer that the server gave up on"


def test_text_is_data():
    st = assemble(FIXTURES / "markup-unicode.sse")
    assert st.text() == "".join(mf.MARKUP)
    code, out, _ = cli("print", str(FIXTURES / "markup-unicode.sse"))
    assert code == 0 and out == "".join(mf.MARKUP) + "\n"  # not a terminal: as sent


def test_data_only_events_read_the_same():
    st, anomalies = fold(FIXTURES / "no-event-lines.sse")
    assert st.text() == "Data-only events read the same." and st.status == "completed" and anomalies == []


def test_logprobs_and_debug():
    st = assemble(FIXTURES / "logprobs-debug.sse")
    n = len(mf.DEBUG_PROMPT)
    assert st.text() == "Hi there!" and st.logprobs == 3 and st.debug_prompts == [n]
    rows = PROTOCOL.status_rows(st)
    assert ("logprobs", "on 3 deltas", "") in rows and ("debug", f"prompt of {n} characters", "") in rows


def test_deltas_before_their_start_are_kept():
    st = assemble(FIXTURES / "broken" / "delta-before-start.sse")
    reasoning, message = st.ordered_items()
    assert message.type == "message" and not message.placeholder and message.text_of("output_text") == mf.ANSWER
    calls = {"type": "tool-call-delta", "index": 3, "delta": {"message": {"tool_calls": {"function": {"arguments": "{}"}}}}}
    st = assemble(stream(START, calls, END))
    (call,) = st.ordered_items()
    assert call.placeholder and call.type == "function_call" and st.final()["items"][0]["placeholder"] is True


def test_a_second_message_start_is_ignored():
    st = assemble(stream(START, {**START, "id": "m-2"}, END))
    assert st.id == "m-1" and st.message_starts == 2
    st = assemble(stream({"type": "message-start"}, {**END, "id": "m-9"}))
    assert st.id == "m-9"  # the end's id when the start had none


def test_real_capture_assembles_and_checks_clean():
    path = real_capture()
    st, anomalies = fold(path)
    assert anomalies == []
    assert st.text() == "The capital of France is Paris." and st.status == "completed" and st.stop_reason == "COMPLETE"
    assert st.id == "321d178c-2c12-44d3-ae42-2f5510f6b1cc"
    assert st.usage["input_tokens"] == 507 and st.usage["output_tokens"] == 10 and st.usage["input_tokens_details"]["cached_tokens"] == 448
    code, out, err = cli("print", str(path))
    assert (code, out, err) == (0, "The capital of France is Paris.\n", "")
    code, out, _ = cli("check", str(path))
    assert code == 0 and out.strip() == f"{path}: ok in 11 events (Cohere Chat v2)"
    data = json.loads(cli("print", "--json", str(path))[1])
    assert data["protocol"] == "cohere" and data["message"]["content"] == [{"type": "text", "text": "The capital of France is Paris."}]


def test_final_is_json_in_cohere_shape():
    for path in VALID + [EXAMPLE]:
        final = assemble(path).final()
        assert json.loads(json.dumps(final)) == final, path.name
        assert set(final) >= {"protocol", "id", "model", "status", "finish_reason", "usage", "cohere_usage", "error", "message", "items"}
        assert set(final["message"]) == {"role", "tool_plan", "tool_calls", "content", "citations"}


def test_folding_never_joins_text_per_delta(monkeypatch):
    """O(1) per delta: no block's text is joined while the events fold."""
    deltas = [{"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": f"w{n} "}}}} for n in range(700)]
    events = events_of(stream(START, {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text"}}}}, *deltas))
    joins = []
    real = Chunks.text
    monkeypatch.setattr(Chunks, "text", lambda self: joins.append(1) or real(self))
    st = CohereAssembler().feed_all(events)
    assert joins == []
    assert len(st.ordered_items()[0].blocks[("text",)].chunks) == 700


def test_time_travel_agrees_with_a_fresh_fold():
    for path in (FIXTURES / "tool-plan-calls.sse", EXAMPLE):
        events = events_of(path)
        built = CohereAssembler().feed_all(events)
        for i in range(len(events)):
            assert PROTOCOL.state_at(events, i, built).text() == CohereAssembler().feed_all(events[: i + 1]).text()


# -- the checker -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_each_broken_fixture_raises_exactly_its_rule(path):
    anomalies = check_events(events_of(path))
    assert [a.rule for a in anomalies] == [path.stem], [(a.rule, a.message) for a in anomalies]


def test_every_rule_has_a_broken_fixture_and_is_declared():
    assert {p.stem for p in BROKEN} == set(RULES)
    assert tuple(PROTOCOL.rules) == RULES
    severities = {a.rule: a.severity for p in BROKEN for a in check_events(events_of(p))}
    notes = {"finish-incomplete", "name-mismatch", "unknown-event"}
    assert {r for r, s in severities.items() if s == NOTE} == notes
    assert all(s == ERROR for r, s in severities.items() if r not in notes)


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_good_fixtures_raise_no_error(path):
    errors = {a.rule for a in check_events(events_of(path)) if a.severity == ERROR}
    assert errors == set()  # a failed generation (error-end, timeout) is the stream's failure, no anomaly


def test_checker_details():
    def rules(*payloads, named=True):
        return [(a.rule, a.severity) for a in check_events(events_of(stream(*payloads, named=named)))]

    start0 = {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text"}}}}
    end0 = {"type": "content-end", "index": 0}
    assert rules(START, start0, end0, END) == []
    # an open block at message-end is one item-not-done at its start; an open block at the end of input is said
    # in the one no-message-end
    (a,) = check_events(events_of(stream(START, start0, END)))
    assert (a.rule, a.index, a.position) == ("item-not-done", 1, 0)
    (a,) = check_events(events_of(stream(START, start0)))
    assert a.rule == "no-message-end" and "content block 0 still open" in a.message
    # a second end is a fault, reported once however often it comes
    assert rules(START, start0, end0, end0, end0, END) == [("delta-after-end", ERROR)]
    # an end for an index never started
    assert rules(START, {"type": "tool-call-end", "index": 4}, END) == [("delta-before-start", ERROR)]
    # citations must end too
    cite = {"type": "citation-start", "index": 0, "delta": {"message": {"citations": {"text": "x"}}}}
    assert rules(START, cite, END) == [("item-not-done", ERROR)]
    # a content type of no known kind is noted, shown as text
    assert rules(START, {**start0, "delta": {"message": {"content": {"type": "image"}}}}, end0, END) == [("unknown-event", NOTE)]
    # ids: an event without one is fine; a change is reported once per value
    assert rules(START, {**END, "id": "m-1"}) == []
    assert rules(START, {**START, "id": "m-2"}, {**END, "id": "m-2"}) == [("response-id-changed", ERROR), ("message-start-repeated", ERROR)]
    # wrong shapes are one anomaly each, never a traceback
    assert rules(START, {"type": "message-end"}) == [("missing-field", ERROR)]
    assert rules(START, {"type": "message-end", "delta": {"finish_reason": ["x"]}}) == [("missing-field", ERROR)]
    assert rules(START, {"type": "content-start", "index": 0}, end0, END) == [("missing-field", ERROR)]
    assert rules(START, {"no": "type"}, END) == [("missing-field", ERROR)]
    assert rules(START, END, "[DONE]") == [("unknown-event", NOTE)]
    assert rules(START, [1, 2], END) == [("unknown-event", NOTE)]
    # a failure cuts open blocks short: the failure says so, not an item-not-done
    failed = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": "boom"}}
    assert rules(START, start0, failed) == []
    # a delta.error without an ERROR finish_reason still fails the stream
    st = assemble(stream(START, {"type": "message-end", "delta": {"error": "boom", "finish_reason": "COMPLETE"}}))
    assert st.status == "failed" and st.error == {"code": "ERROR", "message": "boom"}
    # data-only events are fine; an event: line of another name is noted once
    assert rules(START, start0, end0, END, named=False) == []


# -- the events table, describe and classify ---------------------------------------------------------------------
def every_stream() -> list[Path]:
    paths = VALID + BROKEN + [EXAMPLE]
    if (REAL_DIR / REAL_NAME).is_file():
        paths.append(REAL_DIR / REAL_NAME)
    return paths


def test_classify_agrees_with_describe_on_every_event():
    kinds = set()
    for path in every_stream():
        for ev in events_of(path):
            d = PROTOCOL.describe(ev)
            assert PROTOCOL.classify(ev) == tuple(d[:3]), (path.name, ev.index)
            assert d.kind in KINDS and isinstance(d.summary, str) and len(d.summary) <= 120
            kinds.add(d.kind)
    assert {DELTA, LIFECYCLE, TERMINAL, ITEM, ERROR_KIND} <= kinds


def test_describe_shows_what_each_event_adds():
    evs = events_of(EXAMPLE)
    by_type = {}
    for ev in evs:
        by_type.setdefault(ev.type, PROTOCOL.describe(ev))
    assert by_type["message-start"][:3] == ("message-start", LIFECYCLE, None)
    assert by_type["message-start"].summary == f"{mf.message_id('citations-thinking')} assistant"
    assert tuple(by_type["content-start"]) == ("content-start", ITEM, ("content", 0), "[0] thinking")
    assert by_type["content-delta"].summary == '[thinking] "Two documents:"'
    assert by_type["citation-start"].key == ("citation", 0)
    assert by_type["citation-start"].summary == '[0] "completed in 1889" 21-38 ← doc:0 (eiffel.txt)'
    assert tuple(by_type["message-end"]) == ("message-end", TERMINAL, None, "finish_reason=COMPLETE tokens in=1690 out=111")
    calls = {}
    for ev in events_of(FIXTURES / "tool-plan-calls.sse"):
        calls.setdefault(ev.type, PROTOCOL.describe(ev))
    assert calls["tool-plan-delta"][1:] == (DELTA, ("tool_plan",), '"I will"')
    assert tuple(calls["tool-call-start"]) == ("tool-call-start", ITEM, ("tool_call", 0), f"[0] get_weather {mf.call_id('get_weather', 'tools0')}")
    assert calls["tool-call-delta"].summary == '"{\\""' and calls["tool-call-end"].summary == "[0]"
    failed = PROTOCOL.describe(events_of(FIXTURES / "error-end.sse")[-1])
    assert failed[:2] == ("message-end", ERROR_KIND) and "error: internal server error" in failed.summary
    debug = PROTOCOL.describe(events_of(FIXTURES / "logprobs-debug.sse")[1])
    assert debug[:2] == ("debug", "other") and debug.summary == f"prompt {len(mf.DEBUG_PROMPT)} characters"
    other = events_of(stream({"type": "content-annotation"}))[0]
    assert PROTOCOL.describe(other)[:2] == ("content-annotation", "unknown")


def test_the_events_table_drives_the_dispatch_and_the_checks():
    assembler = CohereAssembler()
    assert set(assembler._handlers) == set(EVENTS) == set(KNOWN_TYPES)
    assert set(bind_handlers(assembler, EVENTS)) == set(EVENTS)
    assert PROTOCOL.events is EVENTS
    seen = {ev.type for path in VALID for ev in events_of(path) if ev.kind == "event"}
    assert seen >= set(EVENTS)  # every event type is in a fixture


def test_unknown_types_are_counted_not_folded():
    st = assemble(stream(START, {"type": "content-annotation"}, {"type": "content-annotation"}, END))
    assert st.unknown_types == {"content-annotation": 2} and not st.items and st.status == "completed"


# -- defensive: no traceback on bad input ------------------------------------------------------------------------
JUNK = (None, 0, 1.5, True, "x", [], {}, [1, "a"], {"a": 1})


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            out += _paths(v, prefix + (i,))
    return out


def _replaced(value: Any, path: tuple, junk: Any) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = junk
    return copy


def test_no_traceback_on_any_field_of_the_wrong_type():
    payloads = []
    for path in (EXAMPLE, FIXTURES / "tool-plan-calls.sse", FIXTURES / "error-end.sse", FIXTURES / "logprobs-debug.sse"):
        seen = set()
        for ev in events_of(path):
            if isinstance(ev.payload, dict) and ev.type not in seen:
                seen.add(ev.type)
                payloads.append(ev.payload)
    tried = 0
    for p in payloads:
        for where in _paths(p):
            for junk in JUNK:
                mutated = _replaced(p, where, junk)
                events = events_of(stream(START, mutated, mutated, END))
                assembler, checker = CohereAssembler(), CohereChecker()
                fold_and_check(assembler, checker, events)
                st = assembler.state
                json.dumps(st.final())
                st.text()
                PROTOCOL.status_rows(st)
                for ev in events:
                    assert PROTOCOL.classify(ev) == tuple(PROTOCOL.describe(ev)[:3])
                    PROTOCOL.sniff(ev)
                tried += 1
    assert tried > 1500


# -- sniffing ----------------------------------------------------------------------------------------------------
def test_sniff_claims_every_stream_first_and_surest():
    from streamview.protocols import registered

    others = [p for p in registered() if p.name != "cohere"]
    for path in every_stream():
        events = [ev for ev in events_of(path) if ev.kind == "event" and ev.error is None and isinstance(ev.payload, dict)]
        first = events[0]
        assert PROTOCOL.sniff(first) == 1.0, path.name
        assert all(o.sniff(first) < 1.0 for o in others), path.name


def test_sniff_confidence_levels():
    def score(data: Any, named: bool = True) -> float:
        return PROTOCOL.sniff(events_of(stream(data, named=named))[0])

    assert score(START) == score(END) == score({"type": "tool-plan-delta"}) == 1.0
    assert score({"type": "debug", "prompt": "x"}) == 0.5
    assert PROTOCOL.sniff(events_of(b"event: message-end\ndata: {\"delta\": {}}\n\n")[0]) == 0.6
    for data in ({"type": "message_start", "message": {}}, {"type": "response.created", "sequence_number": 0},
                 {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []}, {"candidates": []},
                 {"type": ["message-start"]}, {"foo": 1}, [1, 2], "[DONE]"):
        assert score(data) == 0.0


def test_a_session_sniffs_and_folds_it():
    from streamview.session import Session

    for path in every_stream():
        events, reader = read_events(io.BytesIO(path.read_bytes()))
        session = Session(path.name, meta=reader.meta)
        for ev in events:
            session.add(ev)
        session.finish()
        assert session.protocol == "cohere", path.name
        assert session.state.text() == assemble(path).text(), path.name


def test_the_protocol_object():
    assert PROTOCOL.name == "cohere" and PROTOCOL.title == "Cohere Chat v2" and PROTOCOL.framing == "sse"
    assert PROTOCOL.name in PROTOCOL.vocabulary and PROTOCOL.terminal_hint == "message-end"
    assert isinstance(PROTOCOL.assembler(), CohereAssembler) and isinstance(PROTOCOL.checker(), CohereChecker)
    assert PROTOCOL.parameter_rows(assemble(FIXTURES / "text.sse")) == []
    assert PROTOCOL.status_rows(CohereState()) == [("finish", "- (comes with message-end)", "dim")]
    rows = PROTOCOL.status_rows(assemble(FIXTURES / "text.sse"))
    assert rows == [("finish", "COMPLETE", "good"), ("role", "assistant", ""), ("billed", "9 in / 27 out", "")]


# -- the command line ----------------------------------------------------------------------------------------------
LAID_OUT_LATE = {"delta-type-mismatch.sse"}  # thinking streamed into a text block: print lays it out first


def test_print_check_and_plain_through_the_cli():
    for path in VALID + BROKEN + [EXAMPLE]:
        st, anomalies = fold(path)
        code, out, err = cli("print", str(path))
        assert out == (st.text() + "\n" if st.text() else ""), path.name
        errors = [a for a in anomalies if a.severity == ERROR]
        assert code == (1 if errors or st.status == "failed" or st.terminal_event is None else 0), path.name
        plain = cli("replay", "--plain", "--instant", str(path))
        if path.name in LAID_OUT_LATE:  # text streamed before it was known where it goes: the same words
            assert plain[1] != out and sorted(plain[1].split()) == sorted(out.split()), path.name
        else:
            assert plain[1] == out, path.name
        assert " · cohere · " in plain[2].strip().splitlines()[-1]
        data = json.loads(cli("print", "--json", str(path))[1])
        assert data["protocol"] == "cohere" and data["message"] == st.final()["message"]
        report = json.loads(cli("check", "--json", str(path))[1])
        assert [(a["rule"], a["protocol"]) for a in report] == [(a.rule, "cohere") for a in anomalies]


def test_demo_plays_the_example():
    code, out, err = cli("demo", "cohere-citations", "--plain", "--instant")
    assert code == 0 and out == cli("print", str(EXAMPLE))[1]
    assert " · cohere · 1690 in / 111 out / 1801 total · stop COMPLETE · 33 events" in err


# -- live ------------------------------------------------------------------------------------------------------------
def build(env: dict | None = None, **kw):
    options = LiveOptions(kw.pop("prompt", "Hello"), **kw)
    return PROTOCOL.live.build(options, {"CO_API_KEY": KEY} if env is None else env)


def test_live_request():
    req = build()
    assert req.url == "https://api.cohere.com/v2/chat"
    assert req.headers == {"Authorization": f"Bearer {KEY}"} and KEY in req.secrets
    assert req.body == {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "Hello"}], "stream": True}
    req = build(model="command-r7b-12-2024", instructions="Be brief.", max_output_tokens=64, temperature=0.2,
                reasoning_effort="high", body={"seed": 7, "stream": False})
    assert req.body == {"model": "command-r7b-12-2024",
                        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
                        "max_tokens": 64, "thinking": {"type": "enabled"}, "temperature": 0.2,
                        "seed": 7, "stream": True}


def test_live_key_and_base_from_the_environment():
    assert build({"CO_API_KEY": "a", "COHERE_API_KEY": "b"}).headers["Authorization"] == "Bearer a"  # the SDK's order
    assert build({"COHERE_API_KEY": "b"}).headers["Authorization"] == "Bearer b"
    assert build({"CO_API_KEY": "", "COHERE_API_KEY": "b"}).headers["Authorization"] == "Bearer b"
    with pytest.raises(RequestError) as exc:
        build({})
    assert "\n" not in str(exc.value) and "CO_API_KEY" in str(exc.value) and "COHERE_API_KEY" in str(exc.value)
    given = build({}, headers={"authorization": "Bearer from-header"})
    assert given.headers == {"authorization": "Bearer from-header"} and "from-header" in given.secrets
    assert build({"CO_API_KEY": "k", "CO_API_URL": "http://proxy.test/"}).url == "http://proxy.test/v2/chat"
    assert build({"CO_API_KEY": "k", "CO_API_URL": "http://proxy.test"}, base_url="http://flag.test").url == "http://flag.test/v2/chat"
    assert PROTOCOL.live.key_env == ("CO_API_KEY", "COHERE_API_KEY") and PROTOCOL.live.base_env == "CO_API_URL"
    assert PROTOCOL.live.default_base == "https://api.cohere.com"


def test_live_reasoning_effort():
    assert thinking("none") == {"type": "disabled"} and thinking(" None") == {"type": "disabled"}
    for effort in ("minimal", "low", "medium", "high", "xhigh"):
        assert thinking(effort) == {"type": "enabled"}
    for effort in ("enabled", "2048", "lots"):
        with pytest.raises(RequestError) as exc:
            thinking(effort)
        assert "\n" not in str(exc.value) and repr(effort) in str(exc.value)


def test_the_sdk_sends_what_live_sends():
    """The body and headers of ``cohere.ClientV2().chat_stream`` for the same request are live's."""
    cohere = pytest.importorskip("cohere")
    httpx = pytest.importorskip("httpx")
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream(START, END))

    client = cohere.ClientV2(api_key=KEY, base_url="http://cohere.test", httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    list(client.chat_stream(model="command-a-03-2025", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
                            max_tokens=64, temperature=0.2, thinking={"type": "enabled"}))
    (request,) = seen
    ours = build(instructions="Be brief.", max_output_tokens=64, temperature=0.2, reasoning_effort="low", base_url="http://cohere.test")
    assert str(request.url) == ours.url and request.headers["authorization"] == ours.headers["Authorization"]
    assert json.loads(request.content) == ours.body


class CohereServer:
    """A loopback server: ``/ok/v2/chat`` streams a transcript whole, ``/chunked/...`` in pieces of 1 to 7 bytes,
    ``/drop/...`` half of it and then the connection dies; ``/CODE/v2/chat`` answers Cohere's error for the status
    (a 401 echoes the key it was sent, as some gateways do)."""

    ERRORS = {401: "invalid api token: {key}", 429: "You are using a Trial key, which is limited to 10 API calls / minute."}

    def __init__(self, transcript: Path) -> None:
        body = transcript.read_bytes()
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": data})
                kind = self.path.strip("/").split("/")[0]
                if kind.isdigit():
                    code = int(kind)
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    err = json.dumps({"id": "9b1c0e2f-err", "message": outer.ERRORS[code].format(key=key)}).encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("x-debug-trace-id", "trace-4f2a")
                self.send_header("x-trial-endpoint-call-remaining", "39")
                self.end_headers()
                if kind == "chunked":
                    i, n = 0, 1
                    while i < len(body):
                        self._chunk(body[i:i + n])
                        i += n
                        n = n % 7 + 1
                elif kind == "drop":
                    cut = body.index(b"\n\n", len(body) // 2) + 2
                    self._chunk(body[:cut])  # a whole number of events, then the wire goes dead
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                    return
                else:
                    self._chunk(body)
                self._chunk(b"")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def base(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    srv = CohereServer(EXAMPLE)
    yield srv
    srv.close()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_live_streams_records_and_replays(server, tmp_path):
    server.requests.clear()
    out = tmp_path / "cohere.sse"
    code, stdout, stderr = cli("live", "--api", "cohere", "When was the Eiffel Tower built?", "--base-url", server.base("chunked"),
                               "--plain", "--save", str(out), "--instructions", "Cite.", "--max-output-tokens", "300", env={"CO_API_KEY": KEY})
    assert code == 0, stderr
    assert stdout == cli("print", str(EXAMPLE))[1]  # split every 1 to 7 bytes on the wire, assembled whole
    summary = one_line(stderr)
    assert summary.startswith("streamview: completed · cohere · 1690 in / 111 out / 1801 total · stop COMPLETE")
    (request,) = server.requests
    assert request["path"] == "/chunked/v2/chat"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {KEY}" and headers["accept"] == "text/event-stream"
    assert json.loads(request["body"]) == {"model": "command-a-03-2025", "max_tokens": 300, "stream": True,
                                           "messages": [{"role": "system", "content": "Cite."}, {"role": "user", "content": "When was the Eiffel Tower built?"}]}
    saved = out.read_text(encoding="utf-8")
    assert saved.startswith(f": streamview transcript 1\n: request POST {server.base('chunked')}/v2/chat\n")
    assert ": status 200" in saved and ": header x-debug-trace-id: trace-4f2a" in saved
    assert saved.count(": t=") == len(events_of(EXAMPLE))  # the example's comment line too
    assert cli("print", str(out))[1] == stdout
    assert json.loads(cli("print", "--json", str(out))[1])["message"] == assemble(EXAMPLE).final()["message"]
    assert KEY not in stdout + stderr + saved


def test_live_key_and_base_from_the_environment_reach_the_server(server):
    server.requests.clear()
    code, _, stderr = cli("live", "--api", "cohere", "hi", "--plain", env={"COHERE_API_KEY": KEY, "CO_API_URL": server.base("ok")})
    assert code == 0, stderr
    (request,) = server.requests
    assert request["path"] == "/ok/v2/chat" and request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in stderr


@pytest.mark.parametrize("status", sorted(CohereServer.ERRORS))
def test_live_http_errors_say_status_and_server_message(server, tmp_path, status):
    server.requests.clear()
    out = tmp_path / "err.sse"
    code, stdout, stderr = cli("live", "--api", "cohere", "hi", "--base-url", server.base(str(status)), "--plain", "--save", str(out),
                               env={"CO_API_KEY": KEY})
    assert code == 1
    reason = {401: "Unauthorized", 429: "Too Many Requests"}[status]
    assert one_line(stderr) == f"streamview: HTTP {status} {reason}: {CohereServer.ERRORS[status].format(key='[redacted]')}"
    saved = out.read_text()
    assert f": status {status}" in saved and KEY not in stdout + stderr + saved
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_live_dropped_mid_stream_keeps_everything_received(server, tmp_path):
    out = tmp_path / "dropped.sse"
    code, stdout, stderr = cli("live", "--api", "cohere", "hi", "--base-url", server.base("drop"), "--plain", "--save", str(out), env={"CO_API_KEY": KEY})
    assert code == 1 and "connection dropped mid-stream" in one_line(stderr)
    whole = cli("print", str(EXAMPLE))[1]
    assert stdout and whole.startswith(stdout.rstrip("\n")) and len(stdout) < len(whole)
    assert cli("print", str(out))[1] == stdout


def test_live_without_a_key_sends_nothing(server):
    server.requests.clear()
    code, _, stderr = cli("live", "--api", "cohere", "hi", "--base-url", server.base("ok"), "--plain", env={"OPENAI_API_KEY": "sk-other"})
    assert code == 2 and "neither CO_API_KEY nor COHERE_API_KEY is set" in one_line(stderr)
    assert server.requests == []
    code, _, stderr = cli("live", "--api", "cohere", "hi", "--body", "[1]", "--base-url", server.base("ok"), "--plain", env={"CO_API_KEY": KEY})
    assert code == 2 and "--body must be a JSON object" in one_line(stderr) and server.requests == []


def test_live_reasoning_effort_reaches_the_body(server):
    server.requests.clear()
    for effort, expected in (("none", {"type": "disabled"}), ("medium", {"type": "enabled"})):
        code, _, stderr = cli("live", "--api", "cohere", "hi", "--reasoning-effort", effort, "--base-url", server.base("ok"), "--plain", env={"CO_API_KEY": KEY})
        assert code == 0, stderr
        assert json.loads(server.requests[-1]["body"])["thinking"] == expected


# -- serve and the cohere SDK --------------------------------------------------------------------------------------
def test_serve_route():
    route = PROTOCOL.serve
    assert route.matches("/v2/chat") and not route.matches("/v1/chat") and not route.matches("/v2/chat/x")
    assert route.describe_paths() == "POST /v2/chat"
    assert route.error_body("no route /x", 404) == {"message": "no route /x"}
    assert route.base_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"


def _payloads(path: Path) -> list:
    return [ev.payload for ev in events_of(path) if ev.kind == "event"]


def test_the_sdk_reads_a_served_transcript():
    cohere = pytest.importorskip("cohere")
    from streamview.replay.serve import serve_in_thread

    for path in (FIXTURES / "tool-plan-calls.sse", EXAMPLE):  # the example starts with an SSE comment
        srv, base = serve_in_thread(str(path), speed=1000)
        try:
            assert srv.protocol == "cohere"
            client = cohere.ClientV2(api_key="x", base_url=base, max_retries=0)
            got = [e.model_dump(mode="json", exclude_unset=True) for e in client.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}])]
            assert got == _payloads(path), path.name
            with pytest.raises(cohere.core.api_error.ApiError) as exc:
                list(cohere.ClientV2(api_key="x", base_url=base + "/v1", max_retries=0).chat_stream(model="m", messages=[{"role": "user", "content": "hi"}]))
            assert exc.value.status_code == 404
            assert exc.value.body == {"message": "no route /v1/v2/chat: this server answers POST /v2/chat (Cohere Chat v2 transcript)"}
        finally:
            srv.shutdown()
            srv.server_close()


def test_serve_logs_the_error_it_answers():
    import httpx

    from streamview.replay.serve import make_server

    lines: list[str] = []
    srv = make_server(str(FIXTURES / "text.sse"), speed=1000, log=lines.append)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        host, port = srv.server_address[:2]
        r = httpx.post(f"http://{host}:{port}/v1/chat", json={}, timeout=10)
        ok = httpx.post(f"http://{host}:{port}/v2/chat", json={}, timeout=10)
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.status_code == 404 and r.json() == {"message": "no route /v1/chat: this server answers POST /v2/chat (Cohere Chat v2 transcript)"}
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/event-stream") and ok.content == (FIXTURES / "text.sse").read_bytes()
    assert lines[0].endswith("POST /v1/chat 404 · no route /v1/chat: this server answers POST /v2/chat (Cohere Chat v2 transcript)")
    assert lines[1].endswith("POST /v2/chat 200 · 20 events sent · complete")


def test_live_against_serve_matches_print():
    from streamview.replay.serve import serve_in_thread

    for path in (FIXTURES / "thinking-text.sse", FIXTURES / "tool-plan-calls.sse"):
        srv, base = serve_in_thread(str(path), speed=1000)
        try:
            code, out, err = cli("live", "--api", "cohere", "hi", "--base-url", base, "--plain", env={"CO_API_KEY": KEY})
        finally:
            srv.shutdown()
            srv.server_close()
        assert code == 0, err
        assert out == cli("print", str(path))[1]


def sdk_events(body: bytes) -> list:
    """The SDK's typed events for a transcript, read by its own SSE reader off a streamed response."""
    cohere = pytest.importorskip("cohere")
    httpx = pytest.importorskip("httpx")

    def handler(request):
        step = 97  # lines, events and UTF-8 characters split across chunks, as on a real connection
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=iter([body[i:i + step] for i in range(0, len(body), step)]))

    client = cohere.ClientV2(api_key="k", base_url="http://cohere.test", httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    return list(client.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}]))


class SdkFold:
    """The SDK's typed events folded into the non-streaming response's ``message`` (what an application built on the
    SDK assembles: the SDK itself does not), with the finish reason, usage and message id."""

    def __init__(self) -> None:
        self.content: dict[int, dict] = {}
        self.calls: dict[int, dict] = {}
        self.plan: str | None = None
        self.citations: list = []
        self.role = self.mid = self.finish = self.usage = None

    def add(self, e) -> None:
        t = e.type
        if t == "message-start":
            self.mid = self.mid or e.id
            self.role = self.role or e.delta.message.role
        elif t == "content-start":
            c = e.delta.message.content
            self.content[e.index] = {"type": c.type, c.type: (c.text if c.type == "text" else c.thinking) or ""}
        elif t == "content-delta":
            c = e.delta.message.content
            block = self.content[e.index]
            for field, value in (("text", c.text), ("thinking", c.thinking)):
                if value is not None:
                    block[field] = block.get(field, "") + value
        elif t == "tool-plan-delta":
            self.plan = (self.plan or "") + e.delta.message.tool_plan
        elif t == "tool-call-start":
            tc = e.delta.message.tool_calls
            self.calls[e.index] = {"id": tc.id, "type": tc.type, "function": {"name": tc.function.name, "arguments": tc.function.arguments or ""}}
        elif t == "tool-call-delta":
            self.calls[e.index]["function"]["arguments"] += e.delta.message.tool_calls.function.arguments
        elif t == "citation-start":
            self.citations.append(e.delta.message.citations.model_dump(mode="json", exclude_unset=True))
        elif t == "message-end":
            self.mid = self.mid or e.id
            self.finish = e.delta.finish_reason
            self.usage = e.delta.usage

    def message(self) -> dict:
        return {"role": self.role, "tool_plan": self.plan, "tool_calls": [self.calls[k] for k in sorted(self.calls)],
                "content": [self.content[k] for k in sorted(self.content)], "citations": self.citations}


def differential(path: Path) -> None:
    body = path.read_bytes()
    sdk = sdk_events(body)
    events = [ev for ev in events_of(body)]
    data = [ev for ev in events if ev.kind == "event"]
    assert [e.model_dump(mode="json", exclude_unset=True) for e in sdk] == [ev.payload for ev in data], path.name
    assert [type(e).__name__ for e in sdk] == [f"{''.join(w.title() for w in ev.type.split('-'))}V2ChatStreamResponse" for ev in data]
    assembler = CohereAssembler()
    sdk_fold = SdkFold()
    n = 0
    for ev in events:
        assembler.feed(ev)
        if ev.kind != "event":
            continue
        sdk_fold.add(sdk[n])
        n += 1
        st = assembler.state
        ours = st.message()
        expected = sdk_fold.message()
        assert ours == expected, f"{path.name} event #{ev.index}: {ours} != {expected}"
        assert (st.id or None) == sdk_fold.mid and st.stop_reason == sdk_fold.finish, (path.name, ev.index)
    st = assembler.state
    u = sdk_fold.usage
    if u is not None and u.tokens is not None:
        assert (st.usage["input_tokens"], st.usage["output_tokens"]) == (u.tokens.input_tokens, u.tokens.output_tokens)
        assert st.usage.get("input_tokens_details", {}).get("cached_tokens") == u.cached_tokens
        assert st.usage["billed_units"] == {k: v for k, v in u.billed_units.model_dump(exclude_unset=True).items()}
    if sdk[-1].type == "message-end" and sdk[-1].delta.error:
        assert st.status == "failed" and st.error["message"] == sdk[-1].delta.error


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_the_sdk_agrees_on_every_fixture(path):
    differential(path)


def test_the_sdk_agrees_on_the_real_capture():
    pytest.importorskip("cohere")
    differential(real_capture())


def test_the_sdk_parses_every_event_as_its_own_type():
    """The SDK's own union (``V2ChatStreamResponse``, validated as it validates events) on every valid fixture
    payload: each is the class its type names; the types streamview knows are the union's."""
    pytest.importorskip("cohere")
    import typing

    from cohere.core.pydantic_utilities import parse_obj_as
    from cohere.v2.types.v2chat_stream_response import V2ChatStreamResponse

    union = typing.get_args(typing.get_args(V2ChatStreamResponse)[0])
    assert {cls.model_fields["type"].default for cls in union} == set(EVENTS)
    for path in VALID + [EXAMPLE]:
        for p in _payloads(path):
            parsed = parse_obj_as(V2ChatStreamResponse, p)
            assert parsed.type == p["type"], (path.name, p)


# -- the panes -----------------------------------------------------------------------------------------------------
async def test_the_panes_show_the_example():
    from tests.conftest import make_app, screen_text, wait_until
    from streamview.widgets.message_view import MessageView

    app = make_app(EXAMPLE, label="cohere-citations", instant=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.model.finished)
        await pilot.pause(0.3)
        text = screen_text(app)
        shown = app.query_one(MessageView).text_view.text
    assert app.model.protocol == "cohere"
    assert "Cohere Chat v2" in text and "COMPLETE" in text and "52 in / 33 out" in text
    assert mf.message_id("citations-thinking")[:25] in text
    assert "content-delta" in text and '"completed in 1889"' in text
    assert "── message [completed · 2 citations]" in shown and "── reasoning [completed]" in shown
    assert "completed in 1889[1] and," in shown and "sources:\n[1] doc:0 (eiffel.txt)\n[2] doc:1 (height.txt)" in shown


async def test_the_panes_show_tool_calls():
    from tests.conftest import make_app, wait_until
    from streamview.widgets.message_view import MessageView

    app = make_app(FIXTURES / "tool-plan-calls.sse", instant=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished and app.model.finished)
        shown = app.query_one(MessageView).text_view.text
    assert "── tool_plan [completed]" in shown and mf.PLAN in shown
    assert f"── function_call [completed] get_weather {mf.call_id('get_weather', 'tools0')}" in shown
    assert '"city": "Paris"' in shown and app.model.delta_count == len(mf.split(mf.PLAN, 6)) + 20
