"""Google Gemini streams (streamview/protocols/gemini/): the assembler on every fixture, the checker's rules one
broken transcript each, describe/classify, the events table, sniffing, the live request builder, the serve route,
and the assembler against the official ``google-genai`` SDK.

The differential test streams every valid transcript (tests/fixtures/gemini/*.sse, the bundled example and the two
real captures) through a real ``genai.Client().models.generate_content_stream(...)`` (an httpx MockTransport serves
the bytes in odd-sized chunks, so the SDK's own SSE reader and response parsing run as on a live connection) and
reads the same bytes with ``streamview.source.read_events`` folded by the assembler. After every chunk the SDK
yields, streamview's state as of the same event must agree with everything the SDK's chunks said so far: each
candidate's non-thought text and thought text (concatenated), function calls (name, args), thought signatures
(present, their length), inline data sizes, finishReason, responseId, modelVersion and the usage counts of the
latest chunk. An in-stream error makes the SDK raise ``APIError``: streamview's error must be its body's error.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from streamview.checks import ERROR, NOTE, fold_and_check
from streamview.events import StreamEvent
from streamview.live import RequestError
from streamview.protocols.base import DELTA, KINDS, LIFECYCLE, TERMINAL, LiveOptions, bind_handlers
from streamview.protocols.base import ERROR as ERROR_KIND
from streamview.protocols.gemini import PROTOCOL, chunk_summary
from streamview.protocols.gemini import assemble as gemini_assemble
from streamview.protocols.gemini.assemble import GeminiAssembler, GeminiState, base64_size, normalize_usage
from streamview.protocols.gemini.check import RULES, GeminiChecker, check_events
from streamview.protocols.gemini.events import EVENTS, KNOWN_TYPES, event_type, type_of
from streamview.source import read_events
from streamview.state import PRINTED_KINDS, Chunks
from tests.fixtures.gemini import make_fixtures as mf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gemini"
VALID = sorted(FIXTURES.glob("*.sse"))
BROKEN = sorted((FIXTURES / "broken").glob("*.sse"))
EXAMPLE = Path(__file__).resolve().parents[1] / "streamview" / "examples" / "gemini-thinking.sse"
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "streams" / "real"
REAL_NAMES = ("60_gemini_stream_crlf.sse", "61_gemini_thinking.sse")
# the good streams whose checks report an error by design: a refused prompt is the server's answer, and an error
EXPECTED_ERRORS = {"prompt-blocked.sse": {"prompt-blocked"}}


def real_captures() -> list[Path]:
    """The two real captures; skipped with the reason when the shared folder is absent (never on CI)."""
    paths = [REAL_DIR / name for name in REAL_NAMES]
    if not all(p.is_file() for p in paths):
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real Gemini captures are missing from {REAL_DIR} (required on CI)")
        pytest.skip(f"the real Gemini captures are not here ({REAL_DIR} is absent): only the fixtures are checked")
    return paths


def test_missing_real_captures_skip_but_fail_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL_DIR", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real_captures()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real_captures()


def events_of(source: Path | bytes | str) -> list[StreamEvent]:
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str):
        source = source.encode()
    return read_events(io.BytesIO(source))[0]


def fold(source) -> tuple[GeminiState, list]:
    events = events_of(source)
    assembler, checker = PROTOCOL.assembler(), PROTOCOL.checker()
    anomalies = fold_and_check(assembler, checker, events)
    return assembler.state, anomalies


def assemble(source) -> GeminiState:
    return fold(source)[0]


def stream(*payloads: Any) -> bytes:
    """Raw SSE as Google sends it: one ``data:`` line per payload, CRLF line endings."""
    return "".join(f"data: {json.dumps(p) if not isinstance(p, str) else p}\r\n\r\n" for p in payloads).encode()


def texts(st: GeminiState, candidate: int, item_type: str, key: tuple) -> str:
    return "".join(i.blocks[key].text for i in st.ordered_items()
                   if i.data.get("candidate") == candidate and i.type == item_type and key in i.blocks)


def items_of(st: GeminiState, item_type: str) -> list:
    return [i for i in st.ordered_items() if i.type == item_type]


# -- the fixtures on disk ----------------------------------------------------------------------------------------
def test_the_fixtures_on_disk_are_what_the_script_writes():
    rendered = mf.render()
    assert len(rendered) == len(mf.VALID) + len(mf.BROKEN_FIXTURES) + 1
    for path, text in rendered.items():
        assert path.read_bytes() == text.encode("utf-8"), f"{path}: run tests/fixtures/gemini/make_fixtures.py"
    assert set(VALID) == {p for p in rendered if p.parent == FIXTURES}
    assert set(BROKEN) == {p for p in rendered if p.parent == FIXTURES / "broken"}


def test_the_fixtures_are_data_only_sse_with_crlf():
    for path in VALID + BROKEN + [EXAMPLE]:
        raw = path.read_bytes()
        assert b"\r\n\r\n" in raw and b"event:" not in raw, path.name
        assert raw.count(b"\n") == raw.count(b"\r\n"), f"{path.name}: a bare LF"


def test_the_example_is_a_commented_thinking_stream():
    raw = EXAMPLE.read_bytes()
    first = raw.split(b"\r\n", 1)[0].decode()
    assert first == ": streamview example: Google Gemini: thought parts, then the answer, usage"
    events = events_of(EXAMPLE)
    assert events[0].kind == "comment"
    st, anomalies = fold(EXAMPLE)
    assert st.status == "completed" and st.stop_reason == "STOP"
    assert texts(st, 0, "reasoning", ("thought",)) == "".join(mf.THOUGHTS)
    assert texts(st, 0, "message", ("text",)) == "".join(mf.ANSWER)
    assert st.usage["output_tokens_details"]["reasoning_tokens"] == 134
    assert anomalies == []


# -- assembling each fixture -------------------------------------------------------------------------------------
def test_thinking_then_text():
    st = assemble(FIXTURES / "thinking-text.sse")
    thoughts, answer = "".join(mf.THOUGHTS), "".join(mf.ANSWER)
    assert [i.type for i in st.ordered_items()] == ["reasoning", "message"]
    assert texts(st, 0, "reasoning", ("thought",)) == thoughts
    assert texts(st, 0, "message", ("text",)) == answer
    assert st.text() == f"[reasoning] {thoughts}\n\n{answer}"  # thoughts labelled, apart from the answer
    reasoning, message = st.ordered_items()
    assert reasoning.blocks[("thought",)].kind == "reasoning_text" and message.blocks[("text",)].kind == "output_text"
    signature = mf.opaque("sig-thinking", 312)
    assert message.data["thought_signature"] == f"present ({len(signature)} chars)"
    assert "signature present" in message.phase
    assert signature not in st.text() and signature not in json.dumps(st.final())
    assert st.status == "completed" and st.terminal_event == 4 and st.terminal_type == "finishReason"
    assert st.id == mf.response_id("thinking") and st.model == "gemini-2.5-flash"
    assert [i.status for i in st.ordered_items()] == ["completed", "completed"]
    assert reasoning.done_event == 2 and message.done_event == 4  # the first text closes the thought run


def test_usage_is_normalized_and_kept_as_sent():
    st = assemble(FIXTURES / "thinking-text.sse")
    assert st.usage == {"input_tokens": 12, "output_tokens": 38 + 134, "total_tokens": 12 + 38 + 134,
                        "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 134}}
    assert st.gemini_usage == mf.usage(12, 38, thoughts=134)
    assert st.final()["usageMetadata"] == st.gemini_usage and st.final()["usage"] == st.usage
    # every count: cached part of the prompt, tool-use prompt apart, total as Google sums it
    u = mf.usage(100, 20, thoughts=30, tool=7, cached=60)
    n = normalize_usage(u)
    assert n == {"input_tokens": 100, "output_tokens": 50, "total_tokens": 157, "tool_use_input_tokens": 7,
                 "input_tokens_details": {"cached_tokens": 60}, "output_tokens_details": {"reasoning_tokens": 30}}
    assert n["input_tokens"] + n["output_tokens"] + n["tool_use_input_tokens"] == n["total_tokens"]
    assert normalize_usage({"promptTokenCount": 5})["total_tokens"] == 5  # no total sent: the sum
    assert normalize_usage({"promptTokenCount": "x", "totalTokenCount": None})["input_tokens"] == 0


def test_usage_is_the_latest_chunks():
    st = assemble(REAL_DIR / REAL_NAMES[0]) if (REAL_DIR / REAL_NAMES[0]).is_file() else None
    if st is None:
        st = assemble(stream({"candidates": [{"content": {"parts": [{"text": "a"}]}}], "usageMetadata": {"promptTokenCount": 15, "totalTokenCount": 15}},
                             {"candidates": [{"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 13, "candidatesTokenCount": 8, "totalTokenCount": 21}}))
    assert st.usage["input_tokens"] == 13 and st.usage["output_tokens"] == 8 and st.usage["total_tokens"] == 21


def test_parallel_function_calls():
    st = assemble(FIXTURES / "function-calls-parallel.sse")
    calls = items_of(st, "function_call")
    assert [(c.name, c.data["args"]) for c in calls] == [("get_weather", {"city": "Paris", "unit": "celsius"}),
                                                          ("get_weather", {"city": "Tokyo", "unit": "celsius"})]
    assert [json.loads(c.blocks[("arguments",)].text) for c in calls] == [c.data["args"] for c in calls]
    assert all(c.blocks[("arguments",)].kind == "arguments" and c.status == "completed" for c in calls)
    assert "call_id" not in calls[0].data and calls[0].id == ""  # the Gemini API sent no id
    sig = mf.opaque("sig-calls", 204)
    assert calls[0].data["thought_signature"] == f"present ({len(sig)} chars)" and "thought_signature" not in calls[1].data
    assert st.text().endswith('[function_call get_weather] {"city": "Paris", "unit": "celsius"}\n\n'
                              '[function_call get_weather] {"city": "Tokyo", "unit": "celsius"}')
    parts = st.final()["candidates"][0]["content"]["parts"]
    assert [next(k for k in p if k in ("text", "functionCall")) for p in parts] == ["text", "functionCall", "functionCall"]
    assert parts[1]["functionCall"] == {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}}
    assert sig not in json.dumps(st.final())
    assert st.status == "completed"


def test_a_function_call_with_an_id_keeps_it():
    st = assemble(stream({"candidates": [{"content": {"parts": [{"functionCall": {"id": "call-7", "name": "f", "args": {}}}]}, "finishReason": "STOP"}]}))
    (call,) = items_of(st, "function_call")
    assert call.id == "call-7" and call.data["call_id"] == "call-7" and call.blocks[("arguments",)].text == "{}"
    assert st.final()["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "f", "args": {}, "id": "call-7"}}]


def test_code_execution_then_text():
    st = assemble(FIXTURES / "code-execution.sse")
    assert [i.type for i in st.ordered_items()] == ["message", "executable_code", "code_execution_result", "message"]
    _, code, result, _ = st.ordered_items()
    assert code.data["language"] == "PYTHON" and code.blocks[("code",)].text == mf.CODE and code.blocks[("code",)].kind == "code"
    assert result.data["outcome"] == "OUTCOME_OK" and result.blocks[("result",)].text == "5117\n"
    assert "OUTCOME_OK" in result.phase
    assert texts(st, 0, "message", ("text",)) == ("I'll compute the sum of the first 50 primes with a short program."
                                                  "The sum of the first 50 prime numbers is **5117**.")
    assert f"\n\n[executable_code] {mf.CODE}\n\nThe sum" in st.text()
    parts = st.final()["candidates"][0]["content"]["parts"]
    assert parts[1] == {"executableCode": {"language": "PYTHON", "code": mf.CODE}}
    assert parts[2] == {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "5117\n"}}
    assert st.usage["tool_use_input_tokens"] == 105 and st.usage["total_tokens"] == 28 + 91 + 105


def test_a_blocked_prompt_fails():
    st, anomalies = fold(FIXTURES / "prompt-blocked.sse")
    assert st.status == "failed" and st.terminal_event == 0 and st.terminal_type == "blocked"
    assert st.error == {"code": "SAFETY", "message": "the prompt was blocked (promptFeedback.blockReason SAFETY)"}
    assert st.block_reason == "SAFETY" and st.stop_reason == "SAFETY" and not st.candidates and not st.items
    final = st.final()
    assert final["promptFeedback"]["blockReason"] == "SAFETY" and final["candidates"] == []
    rows = PROTOCOL.status_rows(st)
    assert ("prompt", "blocked: SAFETY", "bad") in rows
    assert ("safety (prompt)", "HARM_CATEGORY_DANGEROUS_CONTENT HIGH (blocked)", "bad") in rows
    assert [a.rule for a in anomalies] == ["prompt-blocked"]
    st2 = assemble(FIXTURES / "broken" / "prompt-blocked.sse")
    assert st2.error["message"] == "The prompt was blocked by the content policy."  # blockReasonMessage


def test_max_tokens_is_incomplete():
    st = assemble(FIXTURES / "max-tokens.sse")
    assert st.status == "incomplete"
    assert st.response["incomplete_details"] == {"reason": "MAX_TOKENS", "candidate": 0}
    assert st.final()["incomplete_details"] == {"reason": "MAX_TOKENS", "candidate": 0}
    (message,) = st.ordered_items()
    assert message.status == "MAX_TOKENS" and st.stop_reason == "MAX_TOKENS"
    assert st.text() == "".join(mf.MAX_TEXT)
    assert PROTOCOL.status_rows(st) == [("finish", "MAX_TOKENS", "warn")]


def test_grounding_sources_and_citations():
    st = assemble(FIXTURES / "grounding-search.sse")
    (message,) = st.ordered_items()
    block = message.blocks[("text",)]
    assert block.text == "".join(mf.GROUND_TEXT) and st.text() == "".join(mf.GROUND_TEXT)
    sources = [a for a in block.annotations if a["type"] == "grounding_source"]
    supports = [a for a in block.annotations if a["type"] == "grounding_support"]
    citations = [a for a in block.annotations if a["type"] == "citation"]
    assert [(s["title"], s["uri"]) for s in sources] == [(t, mf.redirect(seed)) for t, seed in (("uefa.com", "uefa"), ("wikipedia.org", "wiki"), ("bbc.com", "bbc"))]
    assert [s["sources"] for s in supports] == [[0, 1], [1, 2]]
    assert supports[1]["text"] == mf.GROUND_TEXT[2].strip()
    assert len(citations) == 1 and citations[0]["uri"] == "https://www.uefa.com/euro2024/"  # sent twice, kept once
    assert "3 sources" in message.phase and "2 supports" in message.phase and "1 citation" in message.phase
    listing = message.blocks[("sources",)].text
    assert "searched: euro 2024 winner; euro 2024 final score" in listing and "1. uefa.com <https://" in listing
    assert ("sources",) not in [b.key for _, b in st.printable_blocks()]
    cand = st.final()["candidates"][0]
    assert cand["groundingMetadata"]["groundingChunks"][0]["web"]["title"] == "uefa.com"
    assert re.fullmatch(r"<[\d,]+ characters>", cand["groundingMetadata"]["searchEntryPoint"]["renderedContent"])
    assert cand["citationMetadata"] == {"citations": [{"startIndex": 26, "endIndex": 85, "uri": "https://www.uefa.com/euro2024/", "license": ""}]}


def test_inline_data_size_and_no_bytes():
    st = assemble(FIXTURES / "inline-image.sse")
    data = mf.opaque("png", 3071)
    (image,) = items_of(st, "inline_data")
    assert image.data["mime_type"] == "image/png" and image.data["bytes"] == 3071
    assert image.blocks[("data",)].text == "[image/png, 3,071 bytes]"
    final = json.dumps(st.final())
    assert data not in st.text() and data not in final and data[:64] not in final
    assert st.final()["candidates"][0]["content"]["parts"][1] == {"inlineData": {"mimeType": "image/png", "bytes": 3071}}
    for ev in events_of(FIXTURES / "inline-image.sse"):
        assert data[:64] not in PROTOCOL.describe(ev).summary
    assert "inlineData image/png 3,071 bytes" in PROTOCOL.describe(events_of(FIXTURES / "inline-image.sse")[1]).summary
    for n in range(40):
        assert base64_size(base64.b64encode(bytes(n)).decode()) == n
        assert base64_size(base64.b64encode(bytes(n)).decode().rstrip("=")) == n


def test_two_candidates_show_apart():
    events = events_of(FIXTURES / "two-candidates.sse")
    st = GeminiAssembler().feed_all(events)
    assert texts(st, 0, "message", ("text",)) == "Roses are red, and so are you."
    assert texts(st, 1, "message", ("text",)) == "Violets are blue."
    assert [i.data["candidate"] for i in st.ordered_items()] == [0, 1]
    assert st.text() == "[candidate 0] Roses are red, and so are you.\n\n[candidate 1] Violets are blue."
    assert st.terminal_event == 2 and st.status == "completed"  # at the chunk carrying the last finishReason
    assert [r.label for r in PROTOCOL.status_rows(st)] == ["candidate 0", "candidate 1"]
    mid = GeminiAssembler().feed_all(events[:2])
    assert mid.terminal_event is None and mid.status == "in_progress"
    later = next(i for i in mid.ordered_items() if i.data["candidate"] == 1)
    assert mid.holds(later) and not mid.holds(mid.ordered_items()[0])  # candidate 0 has not finished yet
    assert not st.holds(later)
    assert [c["index"] for c in st.final()["candidates"]] == [0, 1]


def test_a_candidate_after_the_others_finished_reopens_the_stream():
    st = assemble(stream({"candidates": [{"index": 0, "content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}]},
                         {"candidates": [{"index": 1, "content": {"parts": [{"text": "b"}]}}]}))
    assert st.terminal_event is None and st.status == "in_progress"
    st = assemble(stream({"candidates": [{"index": 0, "content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}]},
                         {"candidates": [{"index": 1, "content": {"parts": [{"text": "b"}]}, "finishReason": "STOP"}]}))
    assert st.terminal_event == 1 and st.status == "completed"


def test_a_safety_finish_is_incomplete_and_flagged():
    st = assemble(FIXTURES / "candidate-safety.sse")
    assert st.status == "incomplete" and st.response["incomplete_details"]["reason"] == "SAFETY"
    (message,) = st.ordered_items()
    assert message.status == "SAFETY" and st.text() == "Here is an overview of"
    rows = PROTOCOL.status_rows(st)
    assert rows[0] == ("finish", "SAFETY", "warn")
    assert ("safety", "HARM_CATEGORY_DANGEROUS_CONTENT MEDIUM (blocked)", "bad") in rows
    assert len([r for r in rows if r.label == "safety"]) == 1  # NEGLIGIBLE ratings are not flagged


def test_an_error_object_fails_the_stream():
    st = assemble(FIXTURES / "error-mid-stream.sse")
    assert st.status == "failed" and st.terminal_event == 2 and st.terminal_type == "error"
    assert st.error == {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}
    assert st.text() == "The first part of the answer and the second"
    assert [i.status for i in st.ordered_items()] == ["no finishReason"]


def test_text_is_data_and_a_missing_index_is_0():
    st = assemble(FIXTURES / "no-index-unicode.sse")
    assert st.text() == "[bold]not markup[/bold] \x1b[31mnor an escape\x1b[0m — 日本語と emoji 🎉 <script>x</script>"
    assert list(st.candidates) == [0] and st.status == "completed"


def test_real_captures_assemble():
    crlf, thinking = real_captures()
    st = assemble(crlf)
    assert st.text() == "The capital of France is Paris.\n" and st.status == "completed"
    assert st.model == "gemini-2.0-flash-exp" and st.id == "w1peaMz6INOvnvgPgYfPiQY"
    st = assemble(thinking)
    assert st.text().startswith("[reasoning] **Clarifying User Goals**") and "\n\nThis is a great question!" in st.text()
    assert st.usage["output_tokens"] == 469 + 787 and st.usage["total_tokens"] == 1290
    assert items_of(st, "message")[0].data["thought_signature"].startswith("present (")


def test_final_is_json_in_geminis_shape():
    for path in VALID + [EXAMPLE]:
        final = assemble(path).final()
        assert json.loads(json.dumps(final)) == final, path.name
        assert set(final) >= {"protocol", "id", "model", "status", "usage", "usageMetadata", "error", "candidates", "promptFeedback"}
        assert final["protocol"] == "gemini"
        for c in final["candidates"]:
            assert set(c) >= {"index", "content", "finishReason", "finishMessage", "safetyRatings", "groundingMetadata", "citationMetadata"}


def test_folding_never_joins_text_per_chunk(monkeypatch):
    """O(1) per delta: no block's text is joined while the events fold (``_append`` keeps the deltas)."""
    payloads = [{"candidates": [{"content": {"parts": [{"text": f"w{n} ", "thought": n < 200}]}}]} for n in range(600)]
    payloads.append({"candidates": [{"content": {"parts": [{"text": "end"}]}, "finishReason": "STOP"}]})
    events = events_of(stream(*payloads))
    joins = []
    real = Chunks.text
    monkeypatch.setattr(Chunks, "text", lambda self: joins.append(1) or real(self))
    st = GeminiAssembler().feed_all(events)
    assert joins == []
    reasoning, message = st.ordered_items()
    assert len(reasoning.blocks[("thought",)].chunks) == 200 and len(message.blocks[("text",)].chunks) == 401
    assert message.blocks[("text",)].text.endswith("w599 end")


def test_time_travel_replays_the_deltas():
    events = events_of(FIXTURES / "thinking-text.sse")
    built = GeminiAssembler().feed_all(events)
    for i in range(len(events)):
        at = PROTOCOL.state_at(events, i, built)
        assert at.text() == GeminiAssembler().feed_all(events[: i + 1]).text()
    st = GeminiAssembler().feed_all(events[:4])
    assert st.last_delta[1].text == "".join(mf.ANSWER[:2]) and st.last_delta[1].last_event == 3


# -- the checker -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_each_broken_fixture_raises_exactly_its_rule(path):
    anomalies = check_events(events_of(path))
    assert {a.rule for a in anomalies} == {path.stem}, [(a.rule, a.message) for a in anomalies]
    assert len(anomalies) == 1, [(a.rule, a.message) for a in anomalies]  # one fault, one anomaly


def test_every_rule_has_a_broken_fixture_and_is_declared():
    assert {p.stem for p in BROKEN} == set(RULES)
    assert tuple(PROTOCOL.rules) == RULES
    severities = {a.rule: a.severity for p in BROKEN for a in check_events(events_of(p))}
    assert {r for r, s in severities.items() if s == NOTE} == {"finish-not-stop", "safety-blocked", "unknown-event"}
    assert all(s == ERROR for r, s in severities.items() if r not in ("finish-not-stop", "safety-blocked", "unknown-event"))


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_good_fixtures_raise_no_error(path):
    errors = {a.rule for a in check_events(events_of(path)) if a.severity == ERROR}
    assert errors == EXPECTED_ERRORS.get(path.name, set())


def test_the_real_captures_raise_nothing():
    for path in real_captures():
        assert check_events(events_of(path)) == [], path.name


def test_checker_details():
    def rules(*payloads):
        return [(a.rule, a.severity) for a in check_events(events_of(stream(*payloads)))]

    ok = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]}
    assert rules(ok) == []
    # a chunk without responseId or modelVersion is fine, first or later; a change is not
    assert rules({"candidates": [{"content": {"parts": [{"text": "a"}]}}]}, {**ok, "responseId": "r1", "modelVersion": "m"}) == []
    assert rules({**ok, "responseId": "r1"}, {"usageMetadata": {}, "responseId": "r2"}, {"usageMetadata": {}, "responseId": "r2"}) == [("response-id-changed", ERROR)]
    # a repeated finishReason without content is no fault; another one is
    assert rules(ok, {"candidates": [{"finishReason": "STOP"}]}) == []
    assert rules(ok, {"candidates": [{"finishReason": "MAX_TOKENS"}]}) == [("after-finish", ERROR)]
    # a trailing usage chunk after the finish is fine
    assert rules(ok, {"usageMetadata": {"promptTokenCount": 3}}) == []
    # nothing but usage: no finishReason ever
    assert rules({"usageMetadata": {"promptTokenCount": 3}}) == [("no-finish-reason", ERROR)]
    # wrong types are one malformed-field each, never a traceback
    assert rules({"candidates": "x"}) == [("malformed-field", ERROR), ("no-finish-reason", ERROR)]
    assert rules({"candidates": [{"content": {"parts": [{"text": 5}]}, "finishReason": "STOP"}]}) == [("malformed-field", ERROR)]
    assert rules({"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}, "finishReason": "STOP"}]}) == [("malformed-field", ERROR)]
    assert rules({"candidates": [{"content": {"parts": [{"somethingNew": {}}]}, "finishReason": "STOP"}]}) == [("unknown-event", NOTE)]
    assert rules(ok, "[DONE]") == [("unknown-event", NOTE)]
    # a named event is noted once and still checked
    named = f"event: chunk\r\ndata: {json.dumps(ok)}\r\n\r\n".encode()
    assert [(a.rule, a.severity) for a in check_events(events_of(named))] == [("unknown-event", NOTE)]


def test_anomalies_point_at_the_candidates_item():
    (a,) = check_events(events_of(FIXTURES / "broken" / "after-finish.sse"))
    st = assemble(FIXTURES / "broken" / "after-finish.sse")
    assert a.index == 5 and a.position == st.ordered_items()[-1].position


# -- the events table, describe and classify ---------------------------------------------------------------------
def every_stream() -> list[Path]:
    paths = VALID + BROKEN + [EXAMPLE]
    paths += [REAL_DIR / n for n in REAL_NAMES if (REAL_DIR / n).is_file()]
    return paths


def test_classify_agrees_with_describe_on_every_event():
    kinds = set()
    extra = stream({"usageMetadata": {"promptTokenCount": 3}, "modelVersion": "m"}, {"candidates": [{"content": {"parts": [{"text": ""}]}}]})
    for path in every_stream() + [extra]:
        for ev in events_of(path):
            d = PROTOCOL.describe(ev)
            assert PROTOCOL.classify(ev) == tuple(d[:3]), (getattr(path, "name", "extra"), ev.index)
            assert d.kind in KINDS and isinstance(d.summary, str) and len(d.summary) <= 120
            kinds.add(d.kind)
    assert {DELTA, LIFECYCLE, TERMINAL, ERROR_KIND} <= kinds


def test_describe_shows_what_a_chunk_adds():
    evs = events_of(FIXTURES / "thinking-text.sse")
    d0 = PROTOCOL.describe(evs[0])
    assert d0.label == "chunk" and d0.kind == DELTA and d0.key == ("candidate", 0)
    assert d0.summary.startswith('[thought] "**Working out the sum**\\n\\n')
    last = PROTOCOL.describe(evs[-1])
    assert last.label == "chunk (finish STOP)" and last.kind == TERMINAL and last.summary == '" and 340 + 68 = 408." finishReason=STOP'
    calls = PROTOCOL.describe(events_of(FIXTURES / "function-calls-parallel.sse")[1])
    assert calls.summary.startswith('get_weather {"city": "Paris", "unit": "celsius"} get_weather {"city": "Tokyo"')
    code = events_of(FIXTURES / "code-execution.sse")
    assert PROTOCOL.describe(code[1]).summary.startswith('code PYTHON "def is_prime(n)')
    assert PROTOCOL.describe(code[2]).summary == 'result OUTCOME_OK "5117\\n"'
    two = PROTOCOL.describe(events_of(FIXTURES / "two-candidates.sse")[0])
    assert two.summary == '[0] "Roses" [1] "Violets"' and two.key is None
    blocked = PROTOCOL.describe(events_of(FIXTURES / "prompt-blocked.sse")[0])
    assert blocked[:3] == ("blocked", ERROR_KIND, None) and blocked.summary == "blockReason=SAFETY"
    err = PROTOCOL.describe(events_of(FIXTURES / "error-mid-stream.sse")[2])
    assert err[:2] == ("error", ERROR_KIND) and err.summary == "503 UNAVAILABLE: The model is overloaded. Please try again later."
    usage_only = events_of(stream({"usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}))[0]
    assert PROTOCOL.describe(usage_only)[:2] == ("chunk (usage)", LIFECYCLE)
    assert chunk_summary({"usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}, 120) == "usage prompt=3 total=3"
    other = events_of(stream({"foo": 1}))[0]
    assert PROTOCOL.describe(other).kind == "unknown"


def test_the_events_table_drives_the_dispatch_and_the_checks():
    assembler = GeminiAssembler()
    assert set(assembler._handlers) == set(EVENTS) == set(KNOWN_TYPES)
    assert set(bind_handlers(assembler, EVENTS)) == set(EVENTS)
    assert all(spec.handler and callable(getattr(assembler, spec.handler)) for spec in EVENTS.values())
    assert PROTOCOL.events is EVENTS
    seen = set()
    for path in every_stream():
        for ev in events_of(path):
            t = event_type(ev)
            assert t is None or t in KNOWN_TYPES
            seen.add(t)
    assert seen >= set(EVENTS) | {None}
    # the kind of each table row is what classify says of such an event
    for t, payload in (("blocked", {"promptFeedback": {"blockReason": "OTHER"}}), ("error", {"error": {"code": 500, "message": "x", "status": "INTERNAL"}})):
        assert type_of(payload) == t and PROTOCOL.classify(events_of(stream(payload))[0])[1] == EVENTS[t].kind


def test_unknown_json_is_counted_not_folded():
    st = assemble(stream({"foo": 1}, {"type": "ping"}))
    assert st.unknown_types == {"message": 1, "ping": 1} and not st.items and st.status == ""


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
    if not path:
        return junk
    copy = json.loads(json.dumps(value))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = junk
    return copy


def test_no_traceback_on_any_field_of_the_wrong_type():
    payloads = []
    for path in (FIXTURES / "code-execution.sse", FIXTURES / "grounding-search.sse", FIXTURES / "function-calls-parallel.sse",
                 FIXTURES / "inline-image.sse", FIXTURES / "prompt-blocked.sse", FIXTURES / "candidate-safety.sse",
                 FIXTURES / "error-mid-stream.sse", FIXTURES / "thinking-text.sse"):
        payloads += [ev.payload for ev in events_of(path) if isinstance(ev.payload, dict)]
    tried = 0
    for p in payloads:
        for where in _paths(p):
            for junk in JUNK:
                mutated = _replaced(p, where, junk)
                events = events_of(stream(payloads[0], mutated, mutated))
                assembler, checker = GeminiAssembler(), GeminiChecker()
                fold_and_check(assembler, checker, events)
                st = assembler.state
                json.dumps(st.final())
                st.text()
                PROTOCOL.status_rows(st)
                for ev in events:
                    assert PROTOCOL.classify(ev) == tuple(PROTOCOL.describe(ev)[:3])
                    PROTOCOL.sniff(ev)
                tried += 1
    assert tried > 2000


# -- sniffing ----------------------------------------------------------------------------------------------------
def _others():
    from streamview.protocols import registered

    return [p for p in registered() if p.name != "gemini"]


def test_sniff_claims_every_fixture_and_capture_first_and_surest():
    others = _others()
    for path in every_stream():
        events = [ev for ev in events_of(path) if ev.kind == "event" and ev.error is None]
        first = events[0]
        assert PROTOCOL.sniff(first) >= 0.9, path.name
        assert all(o.sniff(first) < PROTOCOL.sniff(first) for o in others), path.name


def test_sniff_confidence_levels():
    def score(data: Any) -> float:
        return PROTOCOL.sniff(events_of(stream(data))[0])

    assert score({"candidates": []}) == 1.0
    assert score({"promptFeedback": {"blockReason": "SAFETY"}}) == 1.0
    assert score({"usageMetadata": {"promptTokenCount": 1}, "modelVersion": "gemini-2.5-flash"}) == 0.9
    assert score({"usageMetadata": {"promptTokenCount": 1}}) == 0.0
    google_error = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    assert score(google_error) == 0.6
    assert score({"error": {"message": "boom"}}) == 0.0  # a bare error: not Google's shape
    for data in ({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": []}, {"type": "message_start", "message": {}},
                 {"type": "response.created", "sequence_number": 0, "response": {}}, {"foo": 1}, [1, 2], "[DONE]"):
        assert score(data) == 0.0
    ev = events_of(stream(google_error))[0]
    chat = next((p for p in _others() if p.name == "chat"), None)
    if chat is not None:
        assert 0 < chat.sniff(ev) < PROTOCOL.sniff(ev)  # Google's error shape wins over a bare error chunk
    assert PROTOCOL.sniff(events_of(b": a comment\r\n\r\n")[0]) == 0.0


def test_the_protocol_object():
    assert PROTOCOL.name == "gemini" and PROTOCOL.title == "Google Gemini" and PROTOCOL.framing == "sse"
    assert PROTOCOL.name in PROTOCOL.vocabulary and len(PROTOCOL.vocabulary) >= 5
    assert PROTOCOL.terminal_hint == "a chunk with a finishReason"
    assert isinstance(PROTOCOL.assembler(), GeminiAssembler) and isinstance(PROTOCOL.checker(), GeminiChecker)
    assert PROTOCOL.parameter_rows(assemble(FIXTURES / "thinking-text.sse")) == []
    assert PROTOCOL.status_rows(GeminiState()) == [("finish", "- (comes with the last chunk)", "dim")]
    assert gemini_assemble.assemble(events_of(FIXTURES / "max-tokens.sse")).status == "incomplete"
    assert not set(PRINTED_KINDS) & {"result", "inline_data", "sources"}  # shown in the pane, not printed


# -- live --------------------------------------------------------------------------------------------------------
def build(env: dict | None = None, **kw):
    options = LiveOptions(kw.pop("prompt", "Hello"), **kw)
    return PROTOCOL.live.build(options, {"GEMINI_API_KEY": "AIza-gemini-key"} if env is None else env)


def test_live_request():
    req = build()
    assert req.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert req.headers == {"x-goog-api-key": "AIza-gemini-key"}
    assert req.body == {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}
    assert "AIza-gemini-key" in req.secrets and "stream" not in req.body
    req = build(model="gemini-2.5-pro", instructions="Be brief.", max_output_tokens=64, temperature=0.2)
    assert req.url.endswith("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
    assert req.body == {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
                        "systemInstruction": {"parts": [{"text": "Be brief."}]},
                        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2}}
    assert build(model="models/gemini-2.0-flash").url.endswith("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
    assert build(model="tunedModels/mine").url.endswith("/v1beta/tunedModels/mine:streamGenerateContent?alt=sse")


def test_live_key_and_base_from_the_environment():
    both = {"GEMINI_API_KEY": "gem-key", "GOOGLE_API_KEY": "goo-key"}
    assert build(both).headers["x-goog-api-key"] == "goo-key"  # google-genai's order: GOOGLE_API_KEY wins
    assert build({"GEMINI_API_KEY": "gem-key"}).headers["x-goog-api-key"] == "gem-key"
    assert build({"GOOGLE_API_KEY": "", "GEMINI_API_KEY": "gem-key"}).headers["x-goog-api-key"] == "gem-key"
    with pytest.raises(RequestError) as exc:
        build({})
    assert "\n" not in str(exc.value) and "GEMINI_API_KEY" in str(exc.value) and "GOOGLE_API_KEY" in str(exc.value)
    given = build({}, headers={"x-goog-api-key": "from-header"})
    assert given.headers == {"x-goog-api-key": "from-header"} and "from-header" in given.secrets
    assert "authorization" not in build({}, headers={"Authorization": "Bearer ya29.token"}).headers
    assert build({"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": "http://proxy.test/"}).url.startswith("http://proxy.test/v1beta/models/")
    assert build({"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": "http://proxy.test"}, base_url="http://flag.test").url.startswith("http://flag.test/v1beta/")
    assert PROTOCOL.live.key_env == ("GOOGLE_API_KEY", "GEMINI_API_KEY") and PROTOCOL.live.base_env == "GOOGLE_GEMINI_BASE_URL"
    assert PROTOCOL.live.default_base == "https://generativelanguage.googleapis.com" and PROTOCOL.live.default_model


def test_live_body_is_merged_without_a_stream_field():
    req = build(max_output_tokens=64, temperature=0.5,
                body={"generationConfig": {"temperature": 1.0, "topK": 5}, "safetySettings": [], "stream": True})
    assert req.body["generationConfig"] == {"maxOutputTokens": 64, "temperature": 1.0, "topK": 5}
    assert req.body["safetySettings"] == [] and "stream" not in req.body
    req = build(body={"contents": [{"role": "user", "parts": [{"text": "override"}]}]})
    assert req.body["contents"][0]["parts"][0]["text"] == "override"


def test_live_reasoning_effort():
    assert build(reasoning_effort="low").body["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}
    assert build(reasoning_effort="none").body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0, "includeThoughts": False}
    assert build(model="gemini-3-pro-preview", reasoning_effort="high").body["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "high", "includeThoughts": True}
    for model, effort in (("gemini-2.5-flash", "extreme"), ("gemini-3-pro-preview", "none")):
        with pytest.raises(RequestError) as exc:
            build(model=model, reasoning_effort=effort)
        assert "\n" not in str(exc.value) and effort in str(exc.value)


# -- serve -------------------------------------------------------------------------------------------------------
def test_serve_route():
    route = PROTOCOL.serve
    for path in ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                 "/v1/models/m:streamGenerateContent?alt=sse", "/v1alpha/models/gemini-x:streamGenerateContent"):
        assert route.matches(path), path
    for path in ("/v1beta/models/m:generateContent", "/v1/chat/completions", "/v1beta/models/:streamGenerateContent",
                 "/v1beta/models/a/b:streamGenerateContent", "/x/v1beta/models/m:streamGenerateContent", "/"):
        assert not route.matches(path), path
    assert "streamGenerateContent" in route.describe_paths() and route.describe_paths().startswith("POST /v1beta/models/")
    assert route.error_body("no route /x", 404) == {"error": {"code": 404, "message": "no route /x", "status": "NOT_FOUND"}}
    assert route.error_body("use POST", 405)["error"]["status"] == "INVALID_ARGUMENT"
    assert route.base_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765"


# -- the google-genai SDK as the oracle --------------------------------------------------------------------------
def sdk_stream(body: bytes) -> tuple[list, Any]:
    """The SDK's responses for a transcript (and the APIError it raised, if it did). SSE comments are taken out
    first: the SDK cannot read them (it fails on a ``:`` line)."""
    genai = pytest.importorskip("google.genai")
    httpx = pytest.importorskip("httpx")
    from google.genai import errors, types

    body = re.sub(rb"(?m)^:[^\r\n]*\r?\n\r?\n", b"", body)

    def handler(request):
        assert request.url.path.endswith(":streamGenerateContent") and request.url.params.get("alt") == "sse"
        step = 97  # lines, events and UTF-8 characters split across chunks, as on a real connection
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=iter([body[i : i + step] for i in range(0, len(body), step)]))

    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url="http://gemini.test", httpx_client=httpx.Client(transport=httpx.MockTransport(handler))))
    out = []
    try:
        for response in client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
            out.append(response)
    except errors.APIError as exc:
        return out, exc
    return out, None


class Seen:
    """What the SDK's chunks said so far, per candidate."""

    def __init__(self) -> None:
        self.text: dict[int, str] = {}
        self.thought: dict[int, str] = {}
        self.calls: dict[int, list] = {}
        self.signatures: dict[int, list] = {}
        self.inline: dict[int, list] = {}
        self.finish: dict[int, str] = {}
        self.usage = None
        self.rid = self.model = None

    def add(self, response) -> None:
        for pos, c in enumerate(response.candidates or []):
            k = c.index if c.index is not None else pos
            for part in (c.content.parts or []) if c.content else []:
                if part.text is not None:
                    target = self.thought if part.thought else self.text
                    target[k] = target.get(k, "") + part.text
                if part.function_call is not None:
                    self.calls.setdefault(k, []).append((part.function_call.name, part.function_call.args))
                if part.thought_signature:
                    self.signatures.setdefault(k, []).append(len(base64.b64encode(part.thought_signature)))
                if part.inline_data is not None:
                    self.inline.setdefault(k, []).append(len(part.inline_data.data or b""))
            if c.finish_reason is not None and k not in self.finish:
                self.finish[k] = c.finish_reason.value if hasattr(c.finish_reason, "value") else str(c.finish_reason)
        if response.usage_metadata is not None:
            self.usage = response.usage_metadata
        self.rid = self.rid or response.response_id
        self.model = self.model or response.model_version


def compare(seen: Seen, st: GeminiState, where: str) -> list[str]:
    out: list[str] = []

    def check(label: str, sdk: Any, ours: Any) -> None:
        if sdk != ours:
            out.append(f"{where}: {label}: sdk {sdk!r} != streamview {ours!r}")

    for k in sorted(set(seen.text) | set(seen.thought) | set(st.candidates)):
        check(f"candidate {k} text", seen.text.get(k, ""), texts(st, k, "message", ("text",)))
        check(f"candidate {k} thoughts", seen.thought.get(k, ""), texts(st, k, "reasoning", ("thought",)))
        ours = [i for i in st.ordered_items() if i.data.get("candidate") == k]
        check(f"candidate {k} calls", seen.calls.get(k, []), [(i.name, i.data["args"]) for i in ours if i.type == "function_call"])
        check(f"candidate {k} signatures", [f"present ({n} chars)" for n in seen.signatures.get(k, [])],
              [i.data["thought_signature"] for i in ours if "thought_signature" in i.data])
        check(f"candidate {k} inline data", seen.inline.get(k, []), [i.data["bytes"] for i in ours if i.type == "inline_data"])
        cand = st.candidates.get(k)
        check(f"candidate {k} finishReason", seen.finish.get(k), cand.finish if cand is not None else None)
    check("responseId", seen.rid, st.id or None)
    check("modelVersion", seen.model, st.model or None)
    u = seen.usage
    if u is not None:
        ours = st.usage or {}
        check("usage input", u.prompt_token_count or 0, ours.get("input_tokens"))
        check("usage output", (u.candidates_token_count or 0) + (u.thoughts_token_count or 0), ours.get("output_tokens"))
        check("usage reasoning", u.thoughts_token_count or 0, ours.get("output_tokens_details", {}).get("reasoning_tokens"))
        check("usage cached", u.cached_content_token_count or 0, ours.get("input_tokens_details", {}).get("cached_tokens"))
        check("usage total", u.total_token_count, ours.get("total_tokens"))
        if u.tool_use_prompt_token_count is not None:
            check("usage tool use", u.tool_use_prompt_token_count, ours.get("tool_use_input_tokens"))
    return out


def differential(path: Path) -> None:
    body = path.read_bytes()
    responses, error = sdk_stream(body)
    events = events_of(body)
    data = [ev for ev in events if ev.kind == "event"]
    assert len(responses) + (error is not None) == len(data), path.name
    assembler = GeminiAssembler()
    seen = Seen()
    problems: list[str] = []
    n = 0
    for ev in events:
        assembler.feed(ev)
        if ev.kind != "event" or n >= len(responses):
            continue
        seen.add(responses[n])
        n += 1
        problems += compare(seen, assembler.state, f"{path.name} event #{ev.index}")
    assert not problems, "\n".join(problems[:20])
    st = assembler.state
    if error is not None:
        assert st.status == "failed" and st.error == error.details["error"]
    last = responses[-1] if responses else None
    if last is not None and last.prompt_feedback is not None and last.prompt_feedback.block_reason is not None:
        assert st.block_reason == last.prompt_feedback.block_reason.value and st.status == "failed"


@pytest.mark.parametrize("path", VALID + [EXAMPLE], ids=lambda p: p.stem)
def test_the_sdk_agrees_on_every_fixture(path):
    differential(path)


def test_the_sdk_agrees_on_the_real_captures():
    pytest.importorskip("google.genai")
    for path in real_captures():
        differential(path)


def test_the_sdk_reads_the_serve_error_body():
    genai = pytest.importorskip("google.genai")
    httpx = pytest.importorskip("httpx")
    from google.genai import errors, types

    body = PROTOCOL.serve.error_body("no route /v1/x: this server answers ...", 404)
    transport = httpx.MockTransport(lambda request: httpx.Response(404, json=body))
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url="http://gemini.test", httpx_client=httpx.Client(transport=transport)))
    with pytest.raises(errors.ClientError) as exc:
        list(client.models.generate_content_stream(model="m", contents="hi"))
    assert exc.value.code == 404 and exc.value.status == "NOT_FOUND" and exc.value.message.startswith("no route /v1/x")


# -- once registered: the session and serve (the registry is patched for the test only) -----------------------------
@pytest.fixture
def registered_gemini(monkeypatch):
    from streamview import protocols

    if "gemini" not in protocols.NAMES:
        monkeypatch.setattr(protocols, "NAMES", protocols.NAMES + ("gemini",))
        monkeypatch.setattr(protocols, "_unknown", None)
    return protocols


def test_a_session_sniffs_and_folds_it(registered_gemini):
    from streamview.session import Session

    for path in every_stream():
        events, reader = read_events(io.BytesIO(path.read_bytes()))
        session = Session(path.name, meta=reader.meta)
        for ev in events:
            session.add(ev)
        session.finish()
        assert session.protocol == "gemini", path.name
        assert session.state.text() == assemble(path).text(), path.name
        assert [tuple(session.describe(i)) for i in range(len(events))] == [tuple(PROTOCOL.describe(ev)) for ev in events]


def test_serve_answers_the_sdk(registered_gemini):
    genai = pytest.importorskip("google.genai")
    import threading

    from google.genai import types
    from streamview.replay.serve import make_server

    server = make_server(str(FIXTURES / "function-calls-parallel.sse"), speed=1000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        base = PROTOCOL.serve.base_url(f"http://{host}:{port}")
        client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=base))
        responses = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    finally:
        server.shutdown()
        server.server_close()
    calls = [(c.name, c.args) for r in responses for c in (r.function_calls or [])]
    assert calls == [("get_weather", {"city": "Paris", "unit": "celsius"}), ("get_weather", {"city": "Tokyo", "unit": "celsius"})]


def test_serve_leaves_out_comment_lines_the_sdk_cannot_read(registered_gemini):
    """The bundled example starts with an SSE comment: google-genai reads a line that is not ``data: `` as JSON and
    fails on it, so serve leaves comments out for this protocol, and the SDK reads every chunk."""
    genai = pytest.importorskip("google.genai")
    import threading

    from google.genai import types
    from streamview.replay.serve import make_server

    example = EXAMPLE
    assert example.read_text().startswith(":"), "the example no longer starts with a comment: the test proves nothing"
    server = make_server(str(example), speed=1000)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=f"http://{host}:{port}"))
        responses = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    finally:
        server.shutdown()
        server.server_close()
    assert len(responses) == sum(1 for ev in events_of(example) if ev.kind == "event")
    answer = "".join(p.text for r in responses for p in (r.candidates[0].content.parts or []) if p.text and not p.thought)
    assert answer and answer in assemble(example).text()


def test_a_stream_of_another_protocol_forced_as_gemini_is_an_error():
    """``--protocol gemini`` on a Chat Completions stream: every event has another shape, so the stream never had a
    Gemini chunk: one error at the end (with the notes on each event), not "ok"."""
    chat = Path(__file__).resolve().parents[1] / "streamview" / "examples" / "chat-tool-calls.sse"
    _state, anomalies = fold(chat)
    errors = [a for a in anomalies if a.severity == ERROR]
    assert [a.rule for a in errors] == ["no-finish-reason"]
    assert "none of its 19 readable events was a GenerateContentResponse chunk" in errors[0].message
    assert {a.rule for a in anomalies if a.severity == NOTE} == {"unknown-event"}
