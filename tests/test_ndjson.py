"""The framing seam and the NDJSON framer: one JSON value a line, cut into the same events the SSE framer makes."""

from __future__ import annotations

import io
import json
import random
from types import SimpleNamespace

import pytest

from streamview import framing
from streamview.framing import FRAMINGS, framer
from streamview.ndjson import CUT, NOT_NDJSON, NDJSONParser
from streamview.source import EventReader, read_events
from streamview.sse import SSEParser

OBJECTS = [
    {"model": "llama3.2", "created_at": "2026-01-01T00:00:00Z", "message": {"role": "assistant", "content": "Hel"}, "done": False},
    {"model": "llama3.2", "created_at": "2026-01-01T00:00:01Z", "message": {"role": "assistant", "content": "lo ☃"}, "done": False},
    {"model": "llama3.2", "done": True, "done_reason": "stop", "eval_count": 2},
]


def ndjson(objs, end="\n") -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + end for o in objs).encode()


def frames_of(data: bytes, chunks: list[bytes] | None = None, keep_raw: bool = False):
    parser = NDJSONParser(keep_raw=keep_raw)
    out = []
    for chunk in chunks if chunks is not None else [data]:
        out.extend(parser.feed(chunk))
    out.extend(parser.finish())
    return out, parser


def summary(frames):
    return [(f.kind, f.event, f.data, f.line, f.truncated, f.count, f.why) for f in frames]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_one_event_a_line_whatever_the_line_ending(end):
    frames, _ = frames_of(ndjson(OBJECTS, end))
    assert [f.kind for f in frames] == ["event"] * 3
    assert [json.loads(f.data) for f in frames] == OBJECTS
    assert [f.line for f in frames] == [1, 2, 3]
    assert not any(f.truncated for f in frames)
    assert {f.event for f in frames} == {"message"}


def test_any_split_of_the_bytes_gives_the_same_frames():
    data = b"\xef\xbb\xbf" + ndjson(OBJECTS, "\r\n") + b"\n  \n: keep-alive\n" + ndjson(OBJECTS[:1])
    whole = summary(frames_of(data)[0])
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 12)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        assert summary(frames_of(data, pieces)[0]) == whole
    one_byte = [data[i : i + 1] for i in range(len(data))]
    assert summary(frames_of(data, one_byte)[0]) == whole


def test_blank_lines_are_skipped_and_whitespace_is_not_data():
    data = b"\n\n  " + json.dumps(OBJECTS[0]).encode() + b"  \n\t\n" + json.dumps(OBJECTS[2]).encode() + b"\n\n"
    frames, _ = frames_of(data)
    assert [f.kind for f in frames] == ["event", "event"]
    assert json.loads(frames[0].data) == OBJECTS[0] and frames[0].data.startswith("{")
    assert [f.line for f in frames] == [3, 5]


def test_bom_removed_and_invalid_utf8_replaced():
    frames, parser = frames_of(b"\xef\xbb\xbf" + b'{"a": "x\xff"}\n')
    assert parser.bom
    assert frames[0].data == '{"a": "x\ufffd"}'


def test_a_line_that_is_not_json_is_an_event_whose_reason_is_kept():
    data = ndjson(OBJECTS[:1]) + b'{"message": {"content": "lo"\n' + ndjson(OBJECTS[2:])
    events, _ = read_events_ndjson(data)
    assert [e.kind for e in events] == ["event"] * 3
    assert events[0].error is None and events[2].error is None
    assert events[1].error.startswith("data is not JSON")
    assert events[1].payload is None


def test_lines_that_cannot_start_json_are_one_junk_run():
    page = b"<html>\n<body>502 Bad Gateway</body>\n</html>\n"
    frames, _ = frames_of(ndjson(OBJECTS[:1]) + page + ndjson(OBJECTS[1:2]))
    assert [f.kind for f in frames] == ["event", "junk", "event"]
    junk = frames[1]
    assert (junk.count, junk.line, junk.text, junk.why) == (3, 2, "<html>", NOT_NDJSON)
    events, _ = read_events_ndjson(ndjson(OBJECTS[:1]) + page)
    assert events[1].error == f"3 lines at line 2 {NOT_NDJSON}"


def test_random_bytes_are_kept_not_dropped():
    rng = random.Random(3)
    data = bytes(rng.randrange(256) for _ in range(5000))
    frames, _ = frames_of(data)
    assert frames, "nothing decoded from 5000 bytes"
    assert all(f.kind in ("event", "junk", "comment") for f in frames)
    text = data.decode("utf-8", "replace")
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln.strip()]
    kept = sum(f.count if f.kind == "junk" else 1 for f in frames)
    assert kept == len(lines)


def test_the_last_line_without_a_line_ending():
    whole = json.dumps(OBJECTS[0]).encode()
    frames, _ = frames_of(ndjson(OBJECTS[1:2]) + whole)
    assert [f.truncated for f in frames] == [False, False], "a complete last value is a complete event"
    cut = whole[:-7]
    frames, _ = frames_of(ndjson(OBJECTS[1:2]) + cut)
    assert frames[-1].truncated and frames[-1].data == cut.decode()
    events, _ = read_events_ndjson(ndjson(OBJECTS[1:2]) + cut)
    assert events[-1].error.startswith(CUT + "; data is not JSON")
    frames, _ = frames_of(whole + b"\r")  # a CR at the very end ends the line
    assert not frames[-1].truncated


def test_comments_time_events_and_carry_a_transcript_header():
    data = (
        b": streamview transcript\n: request POST http://127.0.0.1:1/api/chat\n: status 200\n"
        b": header content-type: application/x-ndjson\n"
        b": t=0.125\n" + ndjson(OBJECTS[:1]) + b": t=0.5\n" + ndjson(OBJECTS[1:2]) + b": keep-alive\n"
    )
    frames, parser = frames_of(data)
    assert parser.meta.recorded and parser.meta.status == 200
    assert parser.meta.request == "POST http://127.0.0.1:1/api/chat"
    assert parser.meta.headers == [("content-type", "application/x-ndjson")]
    assert [(f.kind, f.t) for f in frames] == [("event", 0.125), ("event", 0.5), ("comment", None)]
    assert frames[2].text == "keep-alive"


def test_raw_lines_are_kept_for_recording():
    data = b'  {"a": 1}\r\n: hi\nnot json\n'
    frames, _ = frames_of(data, keep_raw=True)
    assert [f.raw for f in frames] == ['  {"a": 1}', ": hi", "not json"]
    frames, _ = frames_of(data)
    assert [f.raw for f in frames] == ["", "", ""]


def read_events_ndjson(data: bytes):
    reader = EventReader(framing="ndjson")
    events = reader.feed(data) + reader.finish()
    return events, reader


def test_event_reader_reads_ndjson_into_the_same_events():
    events, reader = read_events_ndjson(ndjson(OBJECTS))
    assert [e.index for e in events] == [0, 1, 2]
    assert [e.payload for e in events] == OBJECTS
    assert [e.line for e in events] == [1, 2, 3]
    assert reader.count == 3
    # the SSE framer reads the same lines as junk: the framing is what decides
    sse = EventReader()
    assert [e.kind for e in sse.feed(ndjson(OBJECTS)) + sse.finish()] == ["junk"]


def test_a_protocol_that_declares_ndjson_is_read_with_it(monkeypatch):
    import streamview.protocols as registry

    monkeypatch.setattr(registry, "get", lambda name: SimpleNamespace(name=name, framing="ndjson"))
    events, _ = read_events(io.BytesIO(ndjson(OBJECTS)), protocol="line-protocol")
    assert [e.payload for e in events] == OBJECTS


def test_every_registered_protocol_declares_a_known_framing():
    from streamview.protocols import registered

    for proto in registered():
        assert proto.framing in FRAMINGS, proto.name


def test_the_seam():
    assert isinstance(framer("sse"), SSEParser)
    assert isinstance(framer("ndjson", keep_raw=True), NDJSONParser) and framer("ndjson", keep_raw=True).keep_raw
    with pytest.raises(ValueError, match="unknown framing 'xml'"):
        framer("xml")
    for cls in FRAMINGS.values():  # every framer has the whole interface
        for name in ("feed", "feed_records", "finish"):
            assert callable(getattr(cls, name)), (cls, name)
        inst = cls()
        assert hasattr(inst, "meta") and hasattr(inst, "bom")
    assert framing.DEFAULT == "sse"
