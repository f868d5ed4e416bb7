"""Anthropic Messages streams (streamview/protocols/anthropic/): the assembler against the official ``anthropic``
SDK, the checker's rules one broken transcript each, and the choices the module documents.

The differential test streams every valid transcript (tests/fixtures/anthropic/*.sse) through a real
``anthropic.Anthropic().beta.messages.stream(...)`` (an httpx MockTransport serves the bytes in odd-sized chunks, so
the SDK's own SSE decoder and ``BetaMessageStream`` accumulator, which knows every content block type, run as they
do on a live connection) and reads the same bytes
with ``streamview.source.read_events`` folded by ``AnthropicAssembler``. After every raw event the SDK yields
(matched by position: both skip nothing but ``ping`` and ``error``), its ``current_message_snapshot`` and
streamview's state must agree on: id, model, role, stop_reason, stop_sequence, usage (so after every message_delta),
each content block's type, text, citations, thinking, signature (present, its length), redacted data length, tool
id, name and input (the SDK's partial-JSON parse of the pieces so far, or the parsed input once the block stopped),
and every block as ``print --json`` shows it (``content_entry``: the SDK's block, opaque blobs said by their size;
a tool call's once it stopped, as streamview parses its input then). The SDK's derived ``text`` / ``thinking`` / ``input_json`` events carry a snapshot of the block so
far: each must equal streamview's block right after the same delta. An ``error`` event makes the SDK raise
``APIStatusError`` with the event's body: streamview's error must be that body's ``error``.
"""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path
from typing import Any, Iterator

import anthropic
import httpx2
import pytest
from jiter import from_json

from streamview.protocols.anthropic.assemble import TOOL_TYPES, AnthropicAssembler, AnthropicState, content_entry
from streamview.protocols.anthropic.blocks import masked
from streamview.protocols.anthropic.check import RULES, AnthropicChecker, check_events
from streamview.state import PRINTED_KINDS
from streamview.checks import ERROR, NOTE
from streamview.events import StreamEvent
from streamview.source import EventReader, read_events
from tests.fixtures.anthropic import make_fixtures

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "anthropic"
VALID = sorted(FIXTURES.glob("*.sse"))
BROKEN = sorted((FIXTURES / "broken").glob("*.sse"))
RAW_TYPES = {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}


def events_of(source: Path | bytes | str) -> list[StreamEvent]:
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, str):
        source = source.encode()
    return read_events(io.BytesIO(source))[0]


def assemble(source) -> AnthropicState:
    return AnthropicAssembler().feed_all(events_of(source))


# -- the SDK side --------------------------------------------------------------------------------------------------
def sdk_client(body: bytes) -> anthropic.Anthropic:
    def chunks() -> Iterator[bytes]:
        step = 97  # lines, events and UTF-8 characters split across chunks, as on a real connection
        for i in range(0, len(body), step):
            yield body[i : i + step]

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        return httpx2.Response(200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=chunks())

    transport = httpx2.MockTransport(handler)
    return anthropic.Anthropic(api_key="sk-ant-test-oracle", base_url="http://anthropic.test",
                               http_client=httpx2.Client(transport=transport), max_retries=0)


def _partial(args: str) -> Any:
    """What the SDK makes of the input pieces so far (jiter's partial-JSON parse), or a marker it cannot."""
    try:
        return from_json(args.encode(), partial_mode=True)
    except ValueError as exc:
        return f"<not JSON: {exc}: {args!r}>"


def _signature_note(sig: Any) -> str | None:
    return f"present ({len(sig)} chars)" if isinstance(sig, str) and sig else None


def compare(msg: Any, st: AnthropicState, where: str) -> list[str]:
    """Every difference between the SDK's message snapshot and streamview's state, in words."""
    out: list[str] = []

    def check(label: str, sdk: Any, ours: Any) -> None:
        if sdk != ours:
            out.append(f"{where}: {label}: sdk {sdk!r} != streamview {ours!r}")

    r = st.response
    for key in ("id", "model", "role", "stop_reason", "stop_sequence"):
        check(key, getattr(msg, key), r.get(key))
    u, su = msg.usage, st.usage or {}
    for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        check(f"usage.{key}", getattr(u, key), su.get(key))
    if u.server_tool_use is not None:
        check("usage.server_tool_use", u.server_tool_use.to_dict(), su.get("server_tool_use"))
    items = [st.items[k] for k in sorted(st.items)]
    check("content types", [b.type for b in msg.content], [item.data.get("type") for item in items])
    for i, block in enumerate(msg.content):
        item = st.items.get(i)
        if item is None:
            continue
        at = f"content[{i}]"
        if block.type == "text":
            b = item.blocks.get(("text",))
            check(f"{at}.text", block.text, b.text if b else None)
            check(f"{at}.citations", [c.to_dict() for c in block.citations or []], list(b.annotations) if b else None)
        elif block.type == "thinking":
            b = item.blocks.get(("thinking",))
            check(f"{at}.thinking", block.thinking, b.text if b else None)
            check(f"{at}.signature", _signature_note(block.signature), item.data.get("signature"))
        elif block.type == "redacted_thinking":
            check(f"{at}.data", f"present ({len(block.data)} chars)", item.data.get("data"))
        elif block.type in ("tool_use", "server_tool_use"):
            check(f"{at}.id", block.id, item.id)
            check(f"{at}.name", block.name, item.name)
            args = item.blocks[("arguments",)].text
            if item.done_event is not None:
                ours = item.data.get("input")
            else:
                ours = _partial(args) if args else item.data.get("input")
            check(f"{at}.input", block.input, ours)
        elif block.type == "web_search_tool_result":
            check(f"{at}.tool_use_id", block.tool_use_id, item.data.get("tool_use_id"))
            shown = "\n".join(d.text for d in st.details(item))
            for res in block.content if isinstance(block.content, list) else []:
                if res.title not in shown or res.url not in shown:
                    out.append(f"{where}: {at} details lack {res.title!r} <{res.url}>")
                if res.encrypted_content in shown:
                    out.append(f"{where}: {at} details show encrypted content")
        if block.type not in TOOL_TYPES or item.done_event is not None:  # print --json's block, as it stands
            check(f"{at} (print --json)", masked(block.to_dict(mode="json")), content_entry(item))
    return out


def compare_final(msg: Any, final: dict) -> list[str]:
    """``final()`` (what `print --json` prints) against the SDK's final message."""
    out: list[str] = []
    json.dumps(final)  # JSON-able
    for key in ("id", "model", "role", "stop_reason", "stop_sequence"):
        if final[key] != getattr(msg, key):
            out.append(f"final.{key}: {final[key]!r} != sdk {getattr(msg, key)!r}")
    if final["usage"]["output_tokens"] != msg.usage.output_tokens:
        out.append("final.usage.output_tokens")
    if len(final["content"]) != len(msg.content):
        return out + [f"final.content has {len(final['content'])} blocks, sdk {len(msg.content)}"]
    for n, (entry, block) in enumerate(zip(final["content"], msg.content)):
        if entry != masked(block.to_dict(mode="json")):
            out.append(f"final.content[{n}]: {entry!r} != sdk {block.to_dict(mode='json')!r}")
    return out


def differential(body: bytes, skip: frozenset[int] = frozenset()) -> list[str]:
    """Stream ``body`` through the SDK and streamview side by side; the differences. ``skip``: indexes of events
    streamview does not fold (to show a dropped event is caught)."""
    events = events_of(body)
    sdk_visible = [ev for ev in events if ev.kind == "event" and ev.name not in ("ping", "error") and ev.data]
    asm = AnthropicAssembler()
    st = asm.state
    folded = 0
    problems: list[str] = []

    def fold_through(index: int) -> None:
        nonlocal folded
        while folded <= index and folded < len(events):
            if events[folded].index not in skip:
                asm.feed(events[folded])
            folded += 1

    k = 0
    last: StreamEvent | None = None
    client = sdk_client(body)
    try:
        with client.beta.messages.stream(model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
            for sdk_ev in stream:
                if sdk_ev.type in RAW_TYPES:
                    last = sdk_visible[k]
                    k += 1
                    if last.type != sdk_ev.type:
                        return problems + [f"event #{last.index}: sdk yields {sdk_ev.type}, streamview {last.type}"]
                    fold_through(last.index)
                    problems += compare(stream.current_message_snapshot, st, f"after #{last.index} {last.type}")
                elif sdk_ev.type in ("text", "thinking", "input_json"):  # the SDK's snapshot of the block so far
                    assert last is not None and last.type == "content_block_delta"
                    item = st.items.get(last.payload["index"])
                    key = {"text": ("text",), "thinking": ("thinking",), "input_json": ("arguments",)}[sdk_ev.type]
                    block = item.blocks.get(key) if item is not None else None
                    ours: Any = block.text if block is not None else None
                    if sdk_ev.type == "input_json":
                        ours = _partial(ours) if ours else {}
                    if sdk_ev.snapshot != ours:
                        problems.append(f"after #{last.index}: {sdk_ev.type} snapshot {sdk_ev.snapshot!r} != streamview {ours!r}")
            final = stream.get_final_message()
    except anthropic.APIStatusError as exc:  # an error event: the SDK raises with the event's body
        err = next(ev for ev in events if ev.kind == "event" and ev.name == "error")
        fold_through(err.index)
        if not isinstance(exc.body, dict) or st.error != exc.body.get("error"):
            problems.append(f"error: sdk body {exc.body!r}, streamview {st.error!r}")
        if st.status != "failed" or st.terminal_event != err.index:
            problems.append(f"error: status {st.status!r}, terminal {st.terminal_event}")
        return problems
    finally:
        client.close()
    fold_through(events[-1].index)
    problems += compare(final, st, "final")
    problems += compare_final(final, st.final())
    return problems


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_assembler_agrees_with_the_sdk(path: Path):
    assert differential(path.read_bytes()) == []


def test_the_differential_covers_every_kind_of_block():
    """The fixtures hold what the SDK comparison must see: each block type, each delta type, both endings."""
    seen_blocks, seen_deltas, endings = set(), set(), set()
    for path in VALID:
        for ev in events_of(path):
            p = ev.payload if ev.kind == "event" else None
            if not isinstance(p, dict):
                continue
            if p.get("type") == "content_block_start":
                seen_blocks.add(p["content_block"]["type"])
            elif p.get("type") == "content_block_delta":
                seen_deltas.add(p["delta"]["type"])
            elif p.get("type") == "message_delta":
                endings.add(p["delta"]["stop_reason"])
            elif p.get("type") == "error":
                endings.add(p["error"]["type"])
    assert {"text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"} <= seen_blocks
    assert {"text_delta", "thinking_delta", "signature_delta", "input_json_delta", "citations_delta"} <= seen_deltas
    assert {"end_turn", "tool_use", "max_tokens", "stop_sequence", "overloaded_error"} <= endings


def _first(path: Path, predicate) -> int:
    return next(ev.index for ev in events_of(path) if ev.kind == "event" and isinstance(ev.payload, dict) and predicate(ev.payload))


@pytest.mark.parametrize("fixture, delta", [
    ("text-usage.sse", "text_delta"),
    ("thinking-signature-text.sse", "thinking_delta"),
    ("thinking-signature-text.sse", "signature_delta"),
    ("tool-use-ping.sse", "input_json_delta"),
    ("web-search-citations.sse", "citations_delta"),
])
def test_the_differential_fails_when_a_delta_is_dropped(fixture: str, delta: str):
    path = FIXTURES / fixture
    dropped = _first(path, lambda p: p.get("type") == "content_block_delta" and p["delta"]["type"] == delta
                     and p["delta"].get("partial_json", "x") != "" and p["delta"].get("thinking", "x") != "")
    problems = differential(path.read_bytes(), skip=frozenset({dropped}))
    assert problems, f"dropping event #{dropped} ({delta}) went unnoticed"
    # found at the dropped event or soon after (a lost "{"location": "Pa" changes nothing the SDK shows until the
    # next piece: its partial parse leaves an unfinished string out)
    first = int(re.match(r"after #(\d+)", problems[0]).group(1))
    assert dropped <= first <= dropped + 2, problems[0]


def test_the_differential_fails_when_usage_is_added_not_replaced(monkeypatch):
    """The usage comparison after each message_delta is live: a fold that adds the counts is caught."""
    real = AnthropicAssembler._message_delta

    def adding(self, ev, p):
        before = dict(self.state.usage or {})
        real(self, ev, p)
        for k, v in (p.get("usage") or {}).items():
            if isinstance(v, int) and isinstance(before.get(k), int):
                self.state.usage[k] = before[k] + v

    monkeypatch.setattr(AnthropicAssembler, "_message_delta", adding)
    problems = differential((FIXTURES / "text-usage.sse").read_bytes())
    assert any("usage.output_tokens" in p for p in problems), problems


# -- what the module documents ---------------------------------------------------------------------------------------
def test_usage_is_replaced_by_message_delta_and_totalled():
    st = assemble(FIXTURES / "text-usage.sse")
    # message_start: input 18, output 1; message_delta: input 21, output 34 (cumulative)
    assert (st.usage["input_tokens"], st.usage["output_tokens"], st.usage["total_tokens"]) == (21, 34, 55)
    assert st.usage["service_tier"] == "standard" and st.response["service_tier"] == "standard"
    cached = assemble(FIXTURES / "prompt-cache-stop-sequence.sse").usage
    assert cached["total_tokens"] == 12 + 4096 + 17  # cache reads count: Anthropic's input_tokens excludes them
    written = assemble(FIXTURES / "tool-use-ping.sse").usage
    assert written["total_tokens"] == 412 + 1536 + 79


def test_usage_mid_stream_is_the_message_start_counts():
    events = events_of(FIXTURES / "text-usage.sse")
    asm = AnthropicAssembler()
    asm.feed(events[0])
    assert (asm.state.usage["input_tokens"], asm.state.usage["output_tokens"], asm.state.usage["total_tokens"]) == (18, 1, 19)
    assert asm.state.status == "in_progress"


def test_null_counts_in_message_delta_keep_the_earlier_ones():
    text = (FIXTURES / "text-usage.sse").read_text(encoding="utf-8").replace(
        '"usage":{"input_tokens":21,"cache_creation_input_tokens":0', '"usage":{"input_tokens":null,"cache_creation_input_tokens":0')
    st = assemble(text)
    assert st.usage["input_tokens"] == 18 and st.usage["output_tokens"] == 34


@pytest.mark.parametrize("fixture, status, terminal, reason", [
    ("text-usage.sse", "completed", "message_stop", "end_turn"),
    ("tool-use-ping.sse", "completed", "message_stop", "tool_use"),
    ("max-tokens.sse", "incomplete", "message_stop", "max_tokens"),
    ("prompt-cache-stop-sequence.sse", "completed", "message_stop", "stop_sequence"),
    ("error-overloaded.sse", "failed", "error", None),
])
def test_status_and_terminal_event(fixture, status, terminal, reason):
    events = events_of(FIXTURES / fixture)
    st = AnthropicAssembler().feed_all(events)
    assert (st.status, st.terminal_type, st.stop_reason) == (status, terminal, reason)
    assert events[st.terminal_event].type == terminal
    assert st.final()["status"] == status
    if status == "incomplete":
        assert st.response["incomplete_details"] == {"reason": "max_tokens"}
        assert st.final()["incomplete_details"] == {"reason": "max_tokens"}


def test_stop_sequence_is_kept():
    st = assemble(FIXTURES / "prompt-cache-stop-sequence.sse")
    assert st.final()["stop_sequence"] == "3." and st.final()["stop_reason"] == "stop_sequence"


def test_error_event_mid_stream():
    st = assemble(FIXTURES / "error-overloaded.sse")
    assert st.error == {"details": None, "type": "overloaded_error", "message": "Overloaded"}
    assert st.final()["error"]["type"] == "overloaded_error"
    item = st.items[0]
    assert item.status == "in_progress" and item.done_event is None  # cut short by the error, never stopped
    assert st.text() == "Sure. The three main causes of the French Revolution were"
    assert check_events(events_of(FIXTURES / "error-overloaded.sse")) == []  # a failure, not a broken stream


def test_pings_are_keep_alives_not_unknown_types():
    st = assemble(FIXTURES / "tool-use-ping.sse")
    assert st.pings == 1 and st.response["pings"] == 1 and st.final()["pings"] == 1
    assert st.unknown_types == {}
    other = assemble(FIXTURES / "broken" / "unknown-event.sse")
    assert other.unknown_types == {"message_progress": 1}
    assert other.status == "completed"  # ignored, nothing else changed


def test_thinking_signature_is_recorded_as_present_never_as_text():
    path = FIXTURES / "thinking-signature-text.sse"
    sig = next(ev.payload["delta"]["signature"] for ev in events_of(path)
               if isinstance(ev.payload, dict) and ev.payload.get("type") == "content_block_delta" and ev.payload["delta"]["type"] == "signature_delta")
    events = events_of(path)
    asm = AnthropicAssembler()
    for ev in events:
        asm.feed(ev)
        if ev.type == "content_block_stop":
            break
        if ev.type == "content_block_delta" and ev.payload["delta"]["type"] == "signature_delta":
            assert str(len(sig)) in asm.state.items[0].phase  # the pane's header says it while the block streams
    assert asm.state.items[0].phase == ""  # and no more once the block stopped
    st = assemble(path)
    thinking = st.items[0]
    assert thinking.type == "thinking" and thinking.data["signature"] == f"present ({len(sig)} chars)"
    final = st.final()
    assert final["content"][0] == {"type": "thinking", "thinking": thinking.blocks[("thinking",)].text, "signature": f"present ({len(sig)} chars)"}
    assert final["blocks"][0] == {"index": 0, "type": "thinking", "status": "completed"}
    assert sig not in json.dumps(final) and sig not in st.text()
    assert st.text().startswith("[thinking] The user asks for 17 × 23.")
    assert "\n\n17 × 23 = **391**." in st.text()
    assert "thinking" in PRINTED_KINDS


def test_redacted_thinking_shows_its_size_not_its_data():
    from streamview.widgets.message_view import render_document  # the message pane's document

    path = FIXTURES / "redacted-thinking.sse"
    data = next(ev.payload["content_block"]["data"] for ev in events_of(path)
                if isinstance(ev.payload, dict) and ev.payload.get("type") == "content_block_start" and ev.payload["content_block"]["type"] == "redacted_thinking")
    st = assemble(path)
    pieces, _ = render_document(st)
    doc = "".join(pieces)
    assert f"[redacted thinking, {len(data)} bytes]" in doc
    assert data not in doc and data not in json.dumps(st.final()) and data not in st.text()
    assert st.final()["content"][1] == {"type": "redacted_thinking", "data": f"present ({len(data)} chars)"}
    assert "── thinking [completed]" in doc  # the signature was the phase while it streamed


def test_tool_input_is_assembled_from_input_json_delta():
    st = assemble(FIXTURES / "parallel-tool-uses.sse")
    inputs = [(e["name"], e["input"]) for e in st.final()["content"]]
    assert inputs == [("get_weather", {"city": "Paris"}), ("get_time", {"timezone": "Europe/Paris", "format": "24h"}),
                      ("list_reminders", {})]
    assert all(e["id"].startswith("toolu_01") and e["type"] == "tool_use" for e in st.final()["content"])
    assert st.text() == '[tool_use get_weather] {"city": "Paris"}\n\n[tool_use get_time] {"timezone": "Europe/Paris", "format": "24h"}'


def test_invalid_tool_input_is_kept_raw_with_the_parse_error():
    st = assemble(FIXTURES / "broken" / "tool-input-invalid.sse")
    entry, note = st.final()["content"][1], st.final()["blocks"][1]
    assert entry["input"] == {}  # the block's own input (the SDK raises on this stream): the text is in blocks
    assert note["input_text"] == '{"location": "Pa, "unit": "celsius"}'
    assert note["input_error"].startswith("not valid JSON")
    [detail] = st.details(st.items[1])
    assert detail.label == "error" and detail.text.startswith("input not valid JSON: ")
    assert st.items[1].phase == ""


def test_web_search_result_is_summarised_and_citations_are_annotations():
    st = assemble(FIXTURES / "web-search-citations.sse")
    server, result, cited = st.items[1], st.items[2], st.items[4]
    assert (server.type, server.name, server.data["input"]) == ("server_tool_use", "web_search", {"query": "python 3.14 release date"})
    [detail] = st.details(result)
    assert detail.label == "results" and detail.text.startswith("1. What's New In Python 3.14 <https://docs.python.org/3/whatsnew/3.14.html>")
    assert "encrypted" not in detail.text and result.blocks == {}  # no block: details() says what came back
    assert result.data["tool_use_id"] == server.id
    [citation] = cited.blocks[("text",)].annotations
    assert citation["type"] == "web_search_result_location" and citation["url"].startswith("https://www.python.org/")
    assert st.citation(citation) == ("Python Release Python 3.14.0 | Python.org <https://www.python.org/downloads/release/python-3140/>", None)
    assert st.final()["content"][4]["citations"] == [{**citation, "encrypted_index": f"present ({len(citation['encrypted_index'])} chars)"}]
    assert cited.phase == ""  # "1 citation" while it streamed
    # consecutive text blocks run on, as the SDK's get_final_text joins them
    assert "in October 2025. Python 3.14.0 is the newest major release" in st.text()
    prev = (st.items[3], st.items[3].blocks[("text",)])
    assert st.separator(prev, cited, cited.blocks[("text",)]) == ""  # what --plain asks the state for
    assert st.separator(prev, server, server.blocks[("arguments",)]) == "\n\n[server_tool_use web_search] "


def test_text_stays_data():
    st = assemble(FIXTURES / "markup-unicode.sse")
    text = st.text()
    assert "[bold red]not bold[/]" in text and "[@click=app.quit]" in text
    assert "\x1b[31m" in text and "\x00" in text and "\u2028" in text and "\u0085" in text
    assert "👩\u200d👩\u200d👧" in text
    assert text.endswith('a JSON-looking {"type":"ping"} in text.')


def test_final_is_json_for_every_fixture():
    for path in VALID + BROKEN:
        final = assemble(path).final()
        assert final["protocol"] == "anthropic"
        assert json.loads(json.dumps(final)) == final, path.name


def test_feed_is_one_append_per_delta():
    """A text delta appends one chunk to its block (no join, no copy of the text so far)."""
    events = events_of(FIXTURES / "text-usage.sse")
    asm = AnthropicAssembler()
    for ev in events:
        asm.feed(ev)
    block = asm.state.items[0].blocks[("text",)]
    deltas = [ev.payload["delta"]["text"] for ev in events if isinstance(ev.payload, dict) and ev.payload.get("type") == "content_block_delta"]
    assert list(block.chunks) == deltas
    assert block.first_event == 3 and asm.state.first_delta_event == 3 and asm.state.last_delta[1] is block


# -- the checker ---------------------------------------------------------------------------------------------------
# rule -> the event index of the one anomaly its fixture must raise (see make_fixtures.py for each change)
EXPECTED = {
    "no-message-start": 0,  # the first event is now content_block_start
    "message-start-repeated": 1,
    "delta-before-start": 5,  # the tool block's "" delta, now before its start
    "delta-after-stop": 4,  # the text block's last delta, after its stop at 3
    "block-not-stopped": 1,  # the text block's content_block_start
    "no-message-stop": 12,  # the last event, message_delta
    "after-message-stop": 14,  # the repeated message_delta
    "delta-type-mismatch": 6,
    "index-out-of-order": 5,
    "tool-input-invalid": 10,  # the tool block's content_block_stop
    "name-mismatch": 6,
    "missing-field": 6,
    "bad-json": 7,
    "bad-sse": 7,
    "unknown-event": 12,
}


def test_every_rule_has_a_broken_fixture():
    assert set(RULES) == set(EXPECTED) == {p.stem for p in BROKEN}


def test_fixtures_are_what_the_generator_writes():
    rendered = make_fixtures.render()
    on_disk = {str(p.relative_to(FIXTURES)) for p in VALID + BROKEN}
    assert set(rendered) == on_disk
    for name, text in rendered.items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == text, f"{name}: run tests/fixtures/anthropic/make_fixtures.py"


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_broken_fixture_triggers_exactly_its_rule(rule: str):
    found = check_events(events_of(FIXTURES / "broken" / f"{rule}.sse"))
    assert [(a.rule, a.index) for a in found] == [(rule, EXPECTED[rule])], [(a.rule, a.index, a.message) for a in found]
    assert found[0].severity == (NOTE if rule == "unknown-event" else ERROR)
    assert found[0].message


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixtures_raise_nothing(path: Path):
    assert [(a.rule, a.index, a.message) for a in check_events(events_of(path))] == []


def _anomalies_chunked(data: bytes, size: int) -> list[tuple]:
    reader = EventReader()
    asm, checker = AnthropicAssembler(), AnthropicChecker()
    events: list[StreamEvent] = []

    def take(evs):
        for ev in evs:
            events.append(ev)
            asm.feed(ev)
            checker.feed(ev, asm.state)

    for i in range(0, len(data), size):
        take(reader.feed(data[i : i + size]))
    take(reader.finish())
    checker.finish(events)
    return sorted((a.rule, a.index, a.severity, a.message) for a in checker.anomalies)


@pytest.mark.parametrize("path", VALID + BROKEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_small_chunks_give_the_same_anomalies(path: Path):
    data = path.read_bytes()
    whole = sorted((a.rule, a.index, a.severity, a.message) for a in check_events(events_of(data)))
    for size in (1, 7, 64):
        assert _anomalies_chunked(data, size) == whole, size


def test_ping_after_message_stop_is_a_note():
    text = (FIXTURES / "text-usage.sse").read_text(encoding="utf-8") + 'event: ping\ndata: {"type": "ping"}\n\n'
    [a] = check_events(events_of(text))
    assert (a.rule, a.index, a.severity) == ("after-message-stop", 14, NOTE)


def test_events_without_event_lines_are_reported_once():
    text = "".join(line + "\n" for line in (FIXTURES / "text-usage.sse").read_text(encoding="utf-8").split("\n") if not line.startswith("event: "))
    found = check_events(events_of(text))
    assert [(a.rule, a.index) for a in found] == [("name-mismatch", 0)]
    assert assemble(text).text() == assemble(FIXTURES / "text-usage.sse").text()  # still assembled from data.type


def test_open_blocks_at_an_error_are_not_reported():
    """An error event ends the stream: its open block was cut short by it (no block-not-stopped, no
    no-message-stop); an event after it is reported."""
    path = FIXTURES / "error-overloaded.sse"
    assert check_events(events_of(path)) == []
    text = path.read_text(encoding="utf-8") + 'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    [a] = check_events(events_of(text))
    assert a.rule == "after-message-stop" and "error event" in a.message


def test_a_second_start_for_an_index_is_kept_and_reported():
    f = make_fixtures._frames("tool-use-ping")
    again = 'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":"late"}}'
    text = make_fixtures._join(f[:-2] + [again] + f[-2:])
    found = check_events(events_of(text))
    assert [(a.rule, a.index) for a in found] == [("index-out-of-order", 12)]  # one fault, one anomaly
    st = assemble(text)
    assert st.items[2].blocks[("text",)].text == "late" and st.items[1].name == "get_weather"


# -- bad input never raises ------------------------------------------------------------------------------------------
ODD_PAYLOADS = [
    {"type": "message_start"}, {"type": "message_start", "message": None}, {"type": "message_start", "message": {"usage": [1]}},
    {"type": "message_start", "message": {"content": ["x", {"type": 5}], "usage": {"input_tokens": "many"}}},
    {"type": "content_block_start", "index": "0", "content_block": {"type": "text"}},
    {"type": "content_block_start", "index": 0, "content_block": "text"},
    {"type": "content_block_start", "index": 7, "content_block": {"type": "tool_use", "input": None}},
    {"type": "content_block_start", "index": 8, "content_block": {"type": "web_search_tool_result", "content": [1, None, {"title": None}]}},
    {"type": "content_block_start", "index": 9, "content_block": {"type": "code_execution_tool_result", "content": {"type": "code_execution_result", "stdout": "x" * 5000, "return_code": 0}}},
    {"type": "content_block_start", "index": 10, "content_block": {"type": "brand_new_block"}},
    {"type": "content_block_delta", "index": 0, "delta": ["text"]}, {"type": "content_block_delta", "index": True, "delta": {}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": 5}},
    {"type": "content_block_delta", "index": 4, "delta": {"type": "signature_delta", "signature": None}},
    {"type": "content_block_delta", "index": 5, "delta": {"type": "citations_delta"}},
    {"type": "content_block_delta", "index": 6, "delta": {"type": "hologram_delta", "x": 1}},
    {"type": "content_block_stop"}, {"type": "content_block_stop", "index": 7}, {"type": "content_block_stop", "index": 99},
    {"type": "message_delta", "delta": None, "usage": None}, {"type": "message_delta", "delta": {"stop_reason": 3}, "usage": {"output_tokens": None}},
    {"type": "error", "error": "boom"}, {"type": "error"}, {"type": "message_stop"}, {"type": None}, {"no": "type"}, [1, 2], "str", None,
]


def test_odd_payloads_never_raise():
    text = "".join(f"event: {p.get('type') if isinstance(p, dict) and isinstance(p.get('type'), str) else 'message'}\ndata: {json.dumps(p)}\n\n" for p in ODD_PAYLOADS)
    events = events_of(text)
    st = AnthropicAssembler().feed_all(events)
    json.dumps(st.final())
    st.text()
    assert check_events(events)  # plenty is wrong, and each is said
    from streamview.widgets.message_view import render_document

    render_document(st)
    details = st.details(st.items[9])
    assert [d.label for d in details] == ["stdout", "return code"] and len(details[0].text) < 1100
    for item in st.ordered_items():
        st.details(item)
        for b in item.blocks.values():
            for a in b.annotations:
                st.citation(a)


def test_shuffled_and_truncated_streams_never_raise():
    rng = random.Random(6)
    for path in VALID:
        frames = [f for f in path.read_text(encoding="utf-8").split("\n\n") if f]
        for _ in range(12):
            f = list(frames)
            op = rng.randrange(3)
            if op == 0:
                rng.shuffle(f)
            elif op == 1:
                del f[rng.randrange(len(f))]
            text = "\n\n".join(f) + "\n\n"
            if op == 2:
                text = text[: rng.randrange(len(text))]
            events = events_of(text)
            st = AnthropicAssembler().feed_all(events)
            json.dumps(st.final())
            st.text()
            for item in st.ordered_items():
                st.details(item)
            check_events(events)
