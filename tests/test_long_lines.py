"""A long data line (a stream's last events can hold the whole message again) is read as UTF-8 bytes and parsed
without the whole line as a str (``sse.LineSplitter.as_bytes``, ``bigjson``); a block's deltas are compared with
its final text segment by segment (``state.Chunks.same_text``). Each gives what the plain way gives."""

from __future__ import annotations

import gc
import json
import random
import tracemalloc

import pytest

from streamview import bigjson
from streamview.source import EventReader
from streamview.sse import _LONG_LINE, SSEParser
from streamview.state import Chunks

ALPHABET = ["a", " ", "é", "😀", "\n", '"', "\\", "\t", "/", "\x01", "\ud800", "\udc00", "z", "\u2028", "中", "\x7f"]


def _text(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(ALPHABET) for _ in range(n))


def _value(rnd: random.Random, depth: int = 0):
    r = rnd.random()
    if depth > 3 or r < 0.3:
        return _text(rnd, rnd.randint(0, 300))
    if r < 0.4:
        return rnd.choice([rnd.randint(-9, 9), 1.5, None, True, False])
    if r < 0.7:
        return {_text(rnd, rnd.randint(0, 90)): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def _outcome(fn, arg):
    try:
        return "value", fn(arg)
    except ValueError as exc:
        return "error", str(exc)


def test_bigjson_gives_what_json_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random JSON (long strings with escapes, surrogates, control characters, long keys), some of it broken: the
    same value or the same error message as ``json.loads``; and the long strings were taken piece by piece."""
    monkeypatch.setattr(bigjson, "LONG", 64)
    monkeypatch.setattr(bigjson, "PIECE", 40)
    taken = []
    real = bigjson._loads_in_pieces
    monkeypatch.setattr(bigjson, "_loads_in_pieces", lambda d: taken.append(real(d)) or taken[-1])
    rnd = random.Random(14)
    for _ in range(2500):
        text = json.dumps(_value(rnd), ensure_ascii=rnd.random() < 0.3, indent=rnd.choice([None, None, 1]))
        if rnd.random() < 0.2:
            at = rnd.randrange(len(text) + 1)
            text = text[:at] + rnd.choice(['"', "\\", "\x01", "}", ",", "x", "\\u12", "\\ud83d"]) + text[at:]
        assert _outcome(bigjson.loads, text.encode("utf-8", "surrogatepass")) == _outcome(json.loads, text), text
    assert sum(1 for t in taken if t is not bigjson._NO) > 500


@pytest.mark.parametrize("piece", [6, 7, 8, 9, 12, 13, 100])
def test_bigjson_never_cuts_an_escape_or_a_pair(monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    """Cut every few bytes, a long string is still decoded piece by piece (not by the plain parse after a failed
    try) to what ``json`` gives: no escape and no surrogate pair (two escapes: cut between them, each half would
    decode on its own, wrongly) is cut in two. Nothing but escapes leaves nowhere to cut: one piece."""
    monkeypatch.setattr(bigjson, "LONG", 16)
    monkeypatch.setattr(bigjson, "PIECE", piece)
    text = "😀a\\\"é\n" * 300 + "\ud83d" + "x" + "\\" * 9 + "😀" * 50
    cases = [json.dumps({"t": text}), json.dumps({"t": text}, ensure_ascii=False), json.dumps([text, 1, text]),
             json.dumps({"t": "😀" * 2000})]
    for data in cases:
        raw = data.encode("utf-8", "surrogatepass")
        assert bigjson._loads_in_pieces(raw) == json.loads(data)


def _sse(payloads: list[dict], sep: bytes = b" ") -> bytes:
    return b"".join(b"event: " + p["type"].encode() + b"\ndata:" + sep + json.dumps(p, ensure_ascii=False).encode()
                    + b"\n\n" for p in payloads)


def _read(wire: bytes, size: int) -> list:
    reader = EventReader()
    events = []
    for i in range(0, len(wire), size):
        events.extend(reader.feed(wire[i : i + size]))
    return events + reader.finish()


def _long_stream(rnd: random.Random) -> list[dict]:
    long = "".join(rnd.choice(["word ", "é", "\n", '"q"', "\\", "\t"]) for _ in range(40_000)) + "😀"
    return [
        {"type": "response.output_text.delta", "sequence_number": 0, "delta": "hi"},
        {"type": "response.output_text.done", "sequence_number": 1, "text": long, "n": [1, {"k": long[:70_000]}]},
        {"type": "response.completed", "sequence_number": 2, "response": {"output": [{"text": long}]}},
    ]


@pytest.mark.parametrize("sep", [b" ", b""])
def test_a_long_data_line_read_in_chunks_is_the_same_event(sep: bytes) -> None:
    """Read in chunks (a long line then spans them and comes as bytes) or whole (it does not), the events are the
    same: data, payload, type, sequence number, line, error; and the long one's data is kept as bytes."""
    wire = _sse(_long_stream(random.Random(1)), sep)
    whole = _read(wire, len(wire))
    assert whole[1].payload["text"].endswith("😀")
    for size in (5, 4096, 65536, 100_000):
        events = _read(wire, size)
        assert events == whole, size
        assert events[1]._data.__class__ is bytes and len(events[1]._data) > _LONG_LINE
        assert events[1].data == whole[1].data  # (a str, decoded when asked for)


def test_long_lines_that_are_not_one_clean_data_line() -> None:
    """A long data line beside a short one, one with invalid UTF-8, one that is not JSON, one with a CR LF split
    across chunks, one cut off at the end of input, and a long comment: the same as read whole."""
    long = "é" * 70_000 + "😀"
    bad = b"data: " + b'{"text": "' + ("x" * 70_000).encode() + b"\xff\xfe" + b'"}'
    wire = (b"event: a\ndata: first\ndata: " + json.dumps({"text": long}).encode() + b"\r\n\r\n"
            + bad + b"\n\n"
            + b"data: {not json " + b"y" * 70_000 + b"\n\n"
            + b": " + b"c" * 70_000 + b"\n\n"
            + b"data: " + json.dumps({"text": long}, ensure_ascii=False).encode())  # cut off: no line end
    whole = _read(wire, len(wire))
    assert [e.kind for e in whole] == ["event", "event", "event", "comment", "event"]
    assert whole[1].data.endswith("\ufffd\ufffd\"}") and whole[2].error.startswith("data is not JSON")
    assert whole[4].error and "cut off" in whole[4].error and whole[4].payload["text"] == long
    for size in (3, 1000, 65536):
        assert _read(wire, size) == whole, size


def test_da_ta_cut_inside_the_field_name() -> None:
    """The first piece of a long line may hold only part of ``data:``: it is still read as a data line."""
    payload = {"type": "x", "text": "é" * 100_000}
    wire = _sse([payload])
    start = wire.index(b"data:")
    for cut in range(start, start + 7):
        reader = EventReader()
        events = reader.feed(wire[:cut])
        for i in range(cut, len(wire), 65536):
            events += reader.feed(wire[i : i + 65536])
        events += reader.finish()
        assert [e.payload for e in events] == [payload], cut


def test_a_recording_parser_still_sees_str_frames() -> None:
    """``feed`` (frames, as a recorder and the live source read) never hands out bytes."""
    wire = _sse(_long_stream(random.Random(2)))
    parser = SSEParser()
    frames = []
    for i in range(0, len(wire), 4096):
        frames += parser.feed(wire[i : i + 4096])
    frames += parser.finish()
    assert all(f.data.__class__ is str for f in frames)
    assert json.loads(frames[1].data)["text"].endswith("😀")


def test_parsing_a_long_event_holds_less_than_the_line_as_a_str() -> None:
    """A 4 MB line whose text holds one emoji: as a str it is 16 MB (4 bytes a character), its text another 16 MB,
    and its data kept as UTF-8 4 MB more: 9 times the line at once, as it was read before (40.6 MB measured).
    Read in chunks now, the most held at once is its bytes, its text's pieces and its text: under 8 times."""
    text = ("the quick brown fox é\n" * 200_000)[:4_000_000] + "😀"
    wire = _sse([{"type": "response.output_text.done", "text": text}])
    reader = EventReader()
    gc.collect()
    tracemalloc.start()
    try:
        events = []
        for i in range(0, len(wire), 65536):
            events += reader.feed(wire[i : i + 65536])
        events += reader.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events[0].payload["text"] == text
    assert peak < 8 * len(wire), f"peak {peak / 2**20:.1f} MB for a {len(wire) / 2**20:.1f} MB line"


def test_chunks_compare_with_a_text_segment_by_segment() -> None:
    deltas = [f"d{i} é " + ("😀" if i == 700 else "") for i in range(1500)]
    whole = "".join(deltas)
    for differ in (None, 0, 600, len(whole) - 1):
        chunks = Chunks(deltas)
        text = whole if differ is None else whole[:differ] + "#" + whole[differ + 1 :]
        got = chunks.same_text(text)
        if differ is None:
            assert got is text and chunks._segs == [text] and not chunks._tail  # held once: the text given
            assert chunks.same_text(whole) is text  # the one kept is handed back
        else:
            assert got is None and len(chunks._segs) > 1  # nothing changed
        assert list(chunks) == deltas and chunks.text_from(1499) == deltas[-1] and chunks.text() == whole
    assert Chunks(deltas).same_text(whole + "x") is None and Chunks().same_text("") == ""


def test_a_known_text_is_not_made_again() -> None:
    """A long string equal to a text the state holds (``bigjson.known``) is that text, not a copy; one that differs
    anywhere, even in its last character, is decoded as it is; a known text nothing else holds is let go."""
    text = "".join(f"line {i} é \"q\" \\ 😀\n" for i in range(20_000))
    held = text[:-1] + "\n"  # equal, but another object
    assert held == text and held is not text
    bigjson.known(held)
    for data in (json.dumps({"t": text}), json.dumps({"t": text}, ensure_ascii=False), json.dumps([1, {"t": text}])):
        got = bigjson.loads(data.encode())
        assert got == json.loads(data)
        assert (got["t"] if isinstance(got, dict) else got[1]["t"]) is held
    for other in (text[:-2] + "x\n", "#" + text[1:], text + "x", text[:-1]):
        got = bigjson.loads(json.dumps({"t": other}).encode())["t"]
        assert got == other and got is not held
    del held
    bigjson._KNOWN.forget_unheld()
    assert not any(t == text for t in bigjson._KNOWN.values())


def test_a_done_text_equal_to_the_deltas_is_held_once() -> None:
    """The Responses stream's end (``output_text.done``, ``content_part.done``, ``output_item.done``, the final
    response) carries the message four times over: read in chunks, the block's text, the done text and the final
    response's text are one string."""
    text = "".join(f"word{i} é 😀 " for i in range(30_000))
    deltas = [text[i : i + 7] for i in range(0, len(text), 7)]
    item = {"id": "m1", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}
    events = [{"type": "response.created", "response": {"id": "r", "status": "in_progress", "output": []}},
              {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
              {"type": "response.content_part.added", "output_index": 0, "content_index": 0, "item_id": "m1",
               "part": {"type": "output_text", "text": ""}}]
    events += [{"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "item_id": "m1",
                "delta": d} for d in deltas]
    events += [{"type": "response.output_text.done", "output_index": 0, "content_index": 0, "item_id": "m1",
                "text": text},
               {"type": "response.content_part.done", "output_index": 0, "content_index": 0, "item_id": "m1",
                "part": {"type": "output_text", "text": text}},
               {"type": "response.output_item.done", "output_index": 0, "item": item},
               {"type": "response.completed", "response": {"id": "r", "status": "completed", "output": [item]}}]
    for i, e in enumerate(events):
        e["sequence_number"] = i
    from streamview.session import read_session
    import io

    session = read_session(io.BytesIO(_sse(events)), keep=True)
    block = session.state.items[0].blocks[("content", 0)]
    assert block.text == text and block.done is block.text
    final = session.state.response["output"][0]["content"][0]["text"]
    assert final == text and final is block.text
    # and each of the last three events' payloads holds that string too: it was not decoded again
    n = len(session.events)
    done_part, done_item, completed = (session.events[i].payload for i in range(n - 3, n))
    assert done_part["part"]["text"] is block.text and done_item["item"]["content"][0]["text"] is block.text
    assert completed["response"]["output"][0]["content"][0]["text"] is block.text
