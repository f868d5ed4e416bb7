"""Edge-input unit tests of streamview.sse, streamview.events and streamview.assemble."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from streamview.protocols.responses.assemble import assemble
from streamview.events import StreamEvent, parse_frame
from streamview.session import Session
from streamview.source import read_events
from streamview.sse import Frame, SSEParser

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "responses"
MARKDOWN = FIXTURES / "markdown-unicode-obfuscation.sse"
SEED = ROOT / "streamview" / "examples" / "gpt-4.1-nano-hello.sse"

CREATED = b'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'


def decode(data: bytes | list[bytes]) -> tuple[list[Frame], SSEParser]:
    """Feed ``data`` (one chunk, or a list of chunks) to a fresh parser; return every frame and the parser."""
    parser = SSEParser()
    frames: list[Frame] = []
    for chunk in [data] if isinstance(data, bytes) else data:
        frames += parser.feed(chunk)
    frames += parser.finish()
    return frames, parser


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def events_of(data: bytes | list[bytes]) -> list[StreamEvent]:
    frames, _ = decode(data)
    return [parse_frame(f, i) for i, f in enumerate(frames)]


def shape(events: list[StreamEvent]) -> list[tuple]:
    return [(ev.kind, ev.name, ev.type, ev.seq, json.dumps(ev.payload, ensure_ascii=False), ev.error) for ev in events]


def message_text(events: list[StreamEvent]) -> str:
    return assemble(events).text()


# -- line endings ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eol", [b"\r\n", b"\r"], ids=["crlf", "lone-cr"])
@pytest.mark.parametrize("split", [False, True], ids=["whole", "byte-by-byte"])
def test_line_endings(eol: bytes, split: bool) -> None:
    lf = MARKDOWN.read_bytes()
    data = lf.replace(b"\n", eol)
    reference = events_of(lf)
    got = events_of(bytewise(data) if split else data)
    assert shape(got) == shape(reference)
    assert [ev.line for ev in got] == [ev.line for ev in reference]
    assert all(ev.error is None for ev in got)
    assert message_text(got) == message_text(reference)


def test_crlf_split_between_cr_and_lf_is_one_line_ending() -> None:
    frames, _ = decode([b"event: a\r", b"\ndata: 1\r", b"\n\r", b"\nevent: b\r\ndata: 2\r\n\r\n"])
    assert [(f.kind, f.event, f.data, f.line) for f in frames] == [("event", "a", "1", 1), ("event", "b", "2", 4)]


def test_unicode_line_separators_are_data() -> None:
    # U+2028, U+2029, NEL, FF and VT are not SSE line endings (str.splitlines() would split on them)
    frames, _ = decode("data: a\u2028b\u2029c\u0085d\x0ce\x0bf\n\n".encode())
    assert len(frames) == 1 and frames[0].data == "a\u2028b\u2029c\u0085d\x0ce\x0bf"


def test_field_value_rules() -> None:
    frames, _ = decode(b"data:  two spaces\ndata\ndata:nospace\n\n")
    assert [f.data for f in frames] == [" two spaces\n\nnospace"]  # one leading space removed; data lines joined by LF


# -- BOM ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("split", [False, True], ids=["whole", "byte-by-byte"])
def test_bom_keeps_first_event_name(split: bool) -> None:
    data = b"\xef\xbb\xbf" + SEED.read_bytes()
    frames, parser = decode(bytewise(data) if split else data)
    assert parser.bom is True
    assert frames[0].kind == "event" and frames[0].event == "response.created"
    events = [parse_frame(f, i) for i, f in enumerate(frames)]
    assert shape(events) == shape(events_of(SEED.read_bytes()))


def test_bom_after_the_start_is_not_stripped() -> None:
    frames, parser = decode([b"data: 1\n\n", b"data: \xef\xbb\xbfx\n\n"])
    assert parser.bom is False
    assert [f.data for f in frames] == ["1", "\ufeffx"]


# -- UTF-8 ----------------------------------------------------------------------------------------------------------
def test_byte_by_byte_split_mid_character_and_mid_line() -> None:
    data = MARKDOWN.read_bytes()
    whole = events_of(data)
    split = events_of(bytewise(data))
    assert shape(split) == shape(whole)
    text = message_text(split)
    assert "🚀" in text and "你好，世界" in text and "👩\u200d💻" in text and "\ufffd" not in text


def test_chunk_boundary_inside_a_four_byte_character() -> None:
    rocket = "🚀".encode()
    payload = b'data: {"type":"x","delta":"go ' + rocket + b'"}\n\n'
    cut = payload.index(rocket) + 2  # two of the rocket's four bytes in each chunk
    frames, _ = decode([payload[:cut], payload[cut:]])
    assert json.loads(frames[0].data)["delta"] == "go 🚀"


def test_invalid_utf8_becomes_replacement_character() -> None:
    events = events_of(b'event: x\ndata: {"type":"x","delta":"a\xffb\xc3"}\n\n')
    assert len(events) == 1 and events[0].error is None
    assert events[0].payload["delta"] == "a\ufffdb\ufffd"


# -- bad payloads ---------------------------------------------------------------------------------------------------
def test_data_that_is_not_json_is_kept_with_an_error() -> None:
    seed = SEED.read_bytes()
    data = seed.replace(b"\n\n", b"\n\nevent: response.output_text.delta\ndata: not json {\n\n", 1)
    events = events_of(data)
    bad = [ev for ev in events if ev.error]
    assert len(bad) == 1
    assert bad[0].kind == "event" and bad[0].type == "response.output_text.delta" and bad[0].payload is None
    assert bad[0].data == "not json {" and "not JSON" in bad[0].error
    assert assemble(events).text() == "Hello, test!"  # the rest still assembles


def test_file_truncated_mid_line_keeps_the_last_event() -> None:
    seed = SEED.read_bytes()
    cut = seed.rindex(b'"usage"')
    events = events_of(seed[:cut])
    last = events[-1]
    assert last.kind == "event" and last.name == "response.completed"
    assert last.data.startswith('{"type":"response.completed"')
    assert last.error is not None and "cut off" in last.error and "not JSON" in last.error
    assert all(ev.error is None for ev in events[:-1])
    state = assemble(events)
    assert state.text() == "Hello, test!" and state.terminal_event is None


def test_file_ending_without_blank_line_is_flagged_truncated_but_parsed() -> None:
    seed = SEED.read_bytes()
    events = events_of(seed[:-1])  # the last event's line is complete, its blank line is missing
    last = events[-1]
    assert last.payload is not None and last.type == "response.completed"
    assert last.error is not None and "cut off" in last.error
    assert assemble(events).status == "completed"


def test_binary_garbage_gives_junk_frames_and_never_raises() -> None:
    rng = random.Random(1234)
    garbage = bytes(rng.randrange(256) for _ in range(20_000))
    for data in (garbage, bytewise(garbage[:3000]), CREATED + garbage + b"\n\n" + CREATED):
        events = events_of(data)
        assert events
        assert all(ev.kind in ("event", "comment", "junk") for ev in events)
        for ev in events:
            if ev.kind == "junk":
                assert ev.type == "? not SSE" and "not SSE" in ev.error
        model = Session()
        for ev in events:
            model.add(ev)
        model.state.final()
        model.state.text()
    events = events_of(CREATED + garbage + b"\n\n" + CREATED)
    assert [ev.type for ev in events if ev.error is None][0] == "response.created"
    assert events[-1].type == "response.created" and events[-1].error is None


def test_garbage_cut_mid_line_is_flagged_truncated() -> None:
    frames, _ = decode(b"\x00\x01garbage")
    assert [f.kind for f in frames] == ["junk"]
    assert frames[0].truncated
    assert "input ended mid-line" in parse_frame(frames[0], 0).error


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n\n\r\n\r", b"\xef\xbb\xbf"], ids=["empty", "lf", "blank-lines", "bom-only"])
def test_empty_input_gives_no_events(data: bytes) -> None:
    frames, parser = decode(data)
    assert frames == []
    events, reader = read_events(io.BytesIO(data))
    assert events == [] and reader.count == 0
    assert assemble(events).status == ""


def test_event_with_no_data_is_flagged_not_called_bad_json() -> None:
    events = events_of(b"event: ping\n\n" + CREATED)
    assert events[0].kind == "event" and events[0].type == "ping" and events[0].payload is None
    assert events[0].error is not None and "no data" in events[0].error and "not JSON" not in events[0].error
    assert events[1].type == "response.created" and events[1].error is None


def test_empty_event_field_alone_is_not_dropped() -> None:
    frames, _ = decode(b"event:\n\n" + CREATED)
    assert [f.kind for f in frames] == ["event", "event"]
    assert frames[0].no_data


def test_done_sentinel() -> None:
    events = events_of(b"data: [DONE]\n\n")
    assert events[0].type == "[DONE]" and events[0].error is None


# -- comments, times, transcript header -----------------------------------------------------------------------------
def test_comment_keepalive_is_kept_as_a_comment_frame() -> None:
    events = events_of(b": keep-alive\n\n" + CREATED + b":\n\n")
    assert [(ev.kind, ev.type, ev.data) for ev in events] == [
        ("comment", ": comment", "keep-alive"),
        ("event", "response.created", '{"type":"response.created","sequence_number":0}'),
        ("comment", ": comment", ""),
    ]
    assert all(ev.error is None for ev in events)
    state = assemble(events)
    assert state.events == 3 and not state.unknown_types


def test_time_comment_is_attached_to_the_next_event() -> None:
    data = b": t=0.125\n" + CREATED + CREATED + b": t=2.5\n" + CREATED.replace(b"\n\n", b"\n") + b": t=3\n\n"
    events = events_of(data)
    assert [ev.kind for ev in events] == ["event", "event", "event"]
    assert [ev.t for ev in events] == [0.125, None, 3.0]  # the last t= before an event's blank line wins


def test_bad_time_comment_is_a_plain_comment() -> None:
    events = events_of(b": t=soon\n" + CREATED)
    assert [(ev.kind, ev.data, ev.t) for ev in events] == [("comment", "t=soon", None), ("event", CREATED.split(b"data: ")[1].strip().decode(), None)]


def test_recorded_transcript_header_fills_meta() -> None:
    header = (
        b": streamview transcript 1\n"
        b": request POST https://api.openai.com/v1/responses\n"
        b': request-body {"model":"gpt-4.1-nano","stream":true}\n'
        b": status 200\n"
        b": header x-request-id: req_1\n"
        b": header content-type: text/event-stream; charset=utf-8\n"
        b"\n"
    )
    data = header + b": t=0.31\n" + SEED.read_bytes()
    events, reader = read_events(io.BytesIO(data))
    meta = reader.meta
    assert meta.recorded is True
    assert meta.request == "POST https://api.openai.com/v1/responses"
    assert meta.request_body == '{"model":"gpt-4.1-nano","stream":true}'
    assert meta.status == 200
    assert meta.headers == [("x-request-id", "req_1"), ("content-type", "text/event-stream; charset=utf-8")]
    assert [ev.kind for ev in events] == ["event"] * 12  # the header makes no frames
    assert events[0].type == "response.created" and events[0].t == 0.31 and events[0].line == 9


def test_header_comments_without_the_marker_are_plain_comments() -> None:
    events, reader = read_events(io.BytesIO(b": status 200\n: header x-request-id: req_1\n\n" + CREATED))
    assert reader.meta.recorded is False and reader.meta.status is None and reader.meta.headers == []
    assert [(ev.kind, ev.data) for ev in events[:2]] == [("comment", "status 200"), ("comment", "header x-request-id: req_1")]


# -- events ---------------------------------------------------------------------------------------------------------
def test_sequence_number_is_read_by_key_in_both_key_orders() -> None:
    a = events_of(b'event: e\ndata: {"type":"e","sequence_number":4,"delta":"x"}\n\n')[0]
    b = events_of(b'event: e\ndata: {"type":"e","delta":"x","output_index":0,"sequence_number":5}\n\n')[0]
    c = events_of(b'event: e\ndata: {"type":"e","sequence_number":true}\n\n')[0]
    assert (a.seq, b.seq, c.seq) == (4, 5, None)


# -- time travel ----------------------------------------------------------------------------------------------------
def _expected_blocks(events: list[StreamEvent]) -> dict[tuple, str]:
    """Concatenate every delta per (output_index, block) straight from the payloads."""
    out: dict[tuple, str] = {}
    for ev in events:
        p = ev.payload
        if not (isinstance(p, dict) and ev.type.endswith(".delta")):
            continue
        if ev.type == "response.reasoning_summary_text.delta":
            key = (p["output_index"], ("summary", p["summary_index"]))
        elif ev.type == "response.function_call_arguments.delta":
            key = (p["output_index"], ("arguments",))
        else:
            key = (p["output_index"], ("content", p["content_index"]))
        out[key] = out.get(key, "") + p["delta"]
    return out


@pytest.mark.parametrize(
    "name",
    ["markdown-unicode-obfuscation.sse", "function-calls-parallel.sse", "reasoning-summary-then-message.sse", "message-two-text-parts.sse", "failed-error-event-mid-output.sse"],
)
def test_state_at_equals_the_deltas_so_far(name: str) -> None:
    events, _ = read_events(open(FIXTURES / name, "rb"))
    model = Session()
    for ev in events:
        model.add(ev)
    checked = 0
    for i in range(len(events)):
        state = model.state_at(i)
        expected = _expected_blocks(events[: i + 1])
        got = {(oi, key): b.text for oi, item in state.items.items() for key, b in item.blocks.items() if b.chunks}
        assert got == expected, f"after event {i}"
        checked += bool(expected)
    assert checked > 10
    assert model.state_at(len(events) - 1).final() == model.state.final()  # the prefix fold ends where add() did


def test_state_at_message_text_step_by_step() -> None:
    events, _ = read_events(open(SEED, "rb"))
    model = Session()
    for ev in events:
        model.add(ev)
    so_far = ""
    for i, ev in enumerate(events):
        if ev.type == "response.output_text.delta":
            so_far += ev.payload["delta"]
        if i >= 2:
            assert model.state_at(i).ordered_items()[0].text_of("output_text") == so_far
    assert so_far == "Hello, test!"


# -- O(1) per delta -------------------------------------------------------------------------------------------------
def test_assembler_appends_deltas_without_joining() -> None:
    n = 20_000
    head = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress", "output": [], "usage": None}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"}},
        {"type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}},
    ]
    model = Session()
    for i, p in enumerate(head):
        model.add(StreamEvent(index=i, kind="event", name=p["type"], data="", t=None, line=0, payload=p, type=p["type"], seq=i))
    pieces = [f"w{i} " for i in range(n)]
    for i, piece in enumerate(pieces, start=3):
        p = {"type": "response.output_text.delta", "sequence_number": i, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []}
        model.add(StreamEvent(index=i, kind="event", name=p["type"], data="", t=None, line=0, payload=p, type=p["type"], seq=i))
    block = model.state.items[0].blocks[("content", 0)]
    assert len(block.chunks) == n and block.chunks[0] == "w0 " and block.chunks[-1] == f"w{n - 1} "
    assert block._joined_n == 0 and block._joined == ""  # nothing was joined while feeding
    assert model.delta_count == n and block.first_event == 3 and block.last_event == n + 2
    assert block.text == "".join(pieces)
    assert block._joined_n == n  # one join, cached
    assert block.text is block.text


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("space", [b" ", b"", b"  "])
def test_a_data_line_that_spans_chunks_reads_as_in_one_piece(eol: bytes, space: bytes) -> None:
    """A data line that spans chunks is joined without its field name (``LineSplitter.strip_data``): cut at every
    place in and around ``data:`` and its space, and over three chunks, it gives the same frames as in one piece,
    and a recording parser (``keep_raw``) still has the whole line."""
    value = b'{"type":"response.output_text.delta","delta":"' + "héllo \u65e5".encode() * 40 + b'"}'
    wire = CREATED.replace(b"\n", eol) + b"event: response.output_text.delta" + eol + b"data:" + space + value + eol + eol
    whole, _ = decode(wire)
    assert whole[1].data == (space[1:] + value).decode()
    start = wire.index(b"data:")
    for cut in list(range(start - 2, start + 9)) + [start + 50, len(wire) - 3]:
        for pieces in ([wire[:cut], wire[cut:]], [wire[:cut], wire[cut:cut + 30], wire[cut + 30:]]):
            frames, _ = decode(pieces)
            assert [(f.kind, f.event, f.data, f.line, f.truncated) for f in frames] == [(f.kind, f.event, f.data, f.line, f.truncated) for f in whole], cut
    raw = SSEParser(keep_raw=True)
    frames = raw.feed(wire[: start + 20]) + raw.feed(wire[start + 20 :]) + raw.finish()
    assert frames[1].data == whole[1].data and frames[1].raw.endswith((b"data:" + space + value).decode())
