"""Property-based hardening (issue 5, part 3): arbitrary bytes and mutated transcripts never break the pipeline.

The decoder (``SSEParser`` / ``EventReader``), the assembler, the checker, the pane renderers, ``streamview print`` /
``check`` and the UI are fed arbitrary bytes in arbitrary chunkings, and valid transcripts (the seeds and the
fixtures) with lines dropped, swapped, duplicated, truncated, bytes flipped, CRLF and CR endings, a BOM, NUL bytes
and invalid UTF-8. The properties:

- no exception escapes;
- every frame the parser produced becomes an event, and the events do not depend on how the bytes were chunked;
- every complete ``event:``/``data:`` block of the input whose data is JSON is among the events, with its payload
  (checked against an independent, deliberately simple reading of the same bytes);
- the command line exits 0, 1 or 2, with no traceback.

The example counts are bounded (``STREAMVIEW_FUZZ_EXAMPLES`` scales the main properties, default 150; the subprocess
and UI tests use a handful of inputs) so this file runs in about 20 seconds; the 10 MB lines are one explicit test,
not an example. The bugs it found are fixed and kept as tests (the lone-CR junk line, the huge line in the UI).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streamview.protocols.responses.assemble import assemble
from streamview.protocols.responses.check import RULES, check_events
from streamview.events import StreamEvent, parse_frame
from streamview.protocols import registered
from streamview.session import Session
from streamview.source import EventReader, read_events
from streamview.sse import SSEParser
from tests.conftest import make_app, message_stream, screen_segment_texts, sse, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _speaks_responses(path: Path) -> bool:
    from streamview.protocols import sniff_events

    with open(path, "rb") as fp:
        return sniff_events(read_events(fp)[0]).name == "responses"


# Responses API transcripts (the examples of the other protocols have their own tests): chosen by what they sniff as
SEEDS = sorted(p for p in (ROOT / "streamview" / "examples").glob("*.sse") if _speaks_responses(p)) + sorted((ROOT / "tests" / "fixtures" / "responses").glob("*.sse"))
BROKEN = sorted((ROOT / "tests" / "fixtures" / "broken").glob("*.sse"))
CORPUS = [p.read_bytes() for p in SEEDS + BROKEN]
CORPUS_NAMES = [p.name for p in SEEDS + BROKEN]

N = int(os.environ.get("STREAMVIEW_FUZZ_EXAMPLES", "150"))
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example, HealthCheck.filter_too_much]
FUZZ = settings(max_examples=N, deadline=None, suppress_health_check=_HEALTH)
FEW = settings(max_examples=max(3, N // 5), deadline=None, suppress_health_check=_HEALTH)
SUBPROCESS = settings(max_examples=4, deadline=None, suppress_health_check=_HEALTH)


# -- feeding ----------------------------------------------------------------------------------------------------------
def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, start = [], 0
    for p in points:
        chunks.append(data[start:p])  # empty chunks included: a read can return b"" mid-stream in a loop
        start = p
    chunks.append(data[start:])
    return chunks


def frames_of(chunks: list[bytes]):
    parser = SSEParser()
    frames = []
    for chunk in chunks:
        frames += parser.feed(chunk)
    frames += parser.finish()
    return frames, parser


def events_of(chunks: list[bytes]) -> tuple[list[StreamEvent], EventReader]:
    reader = EventReader()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += reader.feed(chunk)
    events += reader.finish()
    return events, reader


def _num(v):
    return None if v is None else repr(v)  # NaN from ": t=nan" compares equal as text


def frame_shape(f) -> tuple:
    return (f.kind, f.event, f.data, f.id, f.retry, _num(f.t), f.line, f.no_data, f.truncated, f.text, f.count)


def event_shape(ev: StreamEvent) -> tuple:
    payload = json.dumps(ev.payload, sort_keys=True)  # ensure_ascii: lone surrogates and NaN dump fine
    return (ev.index, ev.kind, ev.name, ev.type, ev.data, ev.seq, ev.error, ev.line, _num(ev.t), payload)


def meta_shape(meta) -> tuple:
    return (meta.recorded, meta.request, meta.request_body, meta.status, tuple(meta.headers))


def exercise(events: list[StreamEvent], meta=None) -> None:
    """Everything headless that reads events: assemble, check, the model, the report and print paths."""
    state = assemble(events)
    state.text()
    json.dumps(state.final())
    anomalies = check_events(events)
    for a in anomalies:
        assert a.rule in RULES
        assert 0 <= a.index < len(events)
        json.dumps(a.as_dict())
    model = Session("fuzz", meta=meta)
    for ev in events:
        model.add(ev)
        for proto in registered():
            proto.describe(ev)
    model.finish()
    model.marks()
    if events:
        model.state_at(len(events) // 2).text()
        model.state_at(len(events) - 1).text()
    assert model.state.text() == state.text()


def render_panes(events: list[StreamEvent], meta=None) -> None:
    """The panes' pure renderers (no app): message document, Markdown source, metadata grid, rows, details."""
    from rich.console import Console

    from streamview.widgets.detail_view import render_detail
    from streamview.widgets.event_list import row_text
    from streamview.widgets.message_view import markdown_document, render_document
    from streamview.widgets.response_view import ResponseView

    model = Session("fuzz", meta=meta)
    for ev in events:
        model.add(ev)
    model.finish()
    render_document(model.state)
    markdown_document(model.state)
    console = Console(width=100, file=io.StringIO(), color_system="truecolor", legacy_windows=False)
    console.print(ResponseView.render_body(model, {"speed": "1x"}))
    marks = model.marks()
    for i, ev in enumerate(events):
        console.print(row_text(model.describe(i), ev, events[i - 1] if i else None, marks.get(i, ()), related=bool(i % 2)))
    for ev in events[:: max(1, len(events) // 6)]:  # a handful of details: rich's JSON highlighter is slow
        console.print(render_detail(ev))


# -- an independent reading of the bytes: the complete event/data blocks that hold JSON ----------------------------
_EOL = re.compile(r"\r\n|\r|\n")


def decodable_blocks(data: bytes) -> list[tuple[str, str]]:
    """(event name, data) of every block closed by a blank line with at least one ``data`` field whose value is JSON
    (not ``[DONE]``). Written from the WHATWG rules, sharing no code with streamview.sse."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = _EOL.split(text)[:-1]  # the last piece has no line ending: never part of a complete block
    out: list[tuple[str, str]] = []
    name, values, fields = "", [], 0
    for line in lines:
        if line == "":
            if fields and values:
                value = "\n".join(values)
                if value != "[DONE]":
                    try:
                        json.loads(value)
                    except ValueError:
                        pass
                    else:
                        out.append((name or "message", value))
            name, values, fields = "", [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
            fields += 1
        elif field == "data":
            values.append(value)
            fields += 1
        elif field in ("id", "retry"):
            fields += 1
    return out


def cut_tail(data: bytes) -> tuple[str, str] | None:
    """(event name, data) of a block with a ``data`` field that the end of input cut off (no blank line after it)."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    pieces = _EOL.split(text)
    block: list[str] = []
    for line in pieces[:-1] + ([pieces[-1]] if pieces[-1] else []):
        block = [] if line == "" else block + [line]
    name, values = "", []
    for line in block:
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            values.append(value)
    return (name or "message", "\n".join(values)) if values else None


def assert_decodable_kept(data: bytes, events: list[StreamEvent]) -> None:
    tail = cut_tail(data)
    if tail is not None:  # kept too, flagged as cut off
        last = [ev for ev in events if ev.kind == "event"][-1]
        assert (last.name, last.data) == tail
        assert "cut off" in (last.error or "")
    expected = decodable_blocks(data)
    got = [ev for ev in events if ev.kind == "event"]
    i = 0
    for name, value in expected:
        while i < len(got) and (got[i].name, got[i].data) != (name, value):
            i += 1
        assert i < len(got), f"decodable event lost: event {name!r} data {value[:120]!r}"
        ev = got[i]
        assert ev.error is None, (ev.index, ev.error)
        assert json.dumps(ev.payload, sort_keys=True) == json.dumps(json.loads(value), sort_keys=True)
        ptype = ev.payload.get("type") if isinstance(ev.payload, dict) else None
        assert ev.type == (ptype if isinstance(ptype, str) and ptype else name)
        i += 1


# -- mutations ----------------------------------------------------------------------------------------------------------
INSERTS = [
    b"\x00", b"\x00" * 7, b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80\xbf",
    b"\xef\xbb\xbf", b"\r", b"\n", b"\r\n", b"\n\n", b"\x1b[2J", b"\x9b", b"data: ", b"event: x\n", b": keep-alive\n",
    b"junk line\n", b"id: 7\n", b"retry: x\n", b": t=1.5\n", b"data: [DONE]\n\n", b'data: {"type":"x"}\n\n', b"\\ud800",
    b'"', b"}", b"{", b"\t", b"\\u001b[2J", b"\\u009b", b"\\u202e", b"\\u200b", b"[bold]", b"[/]",
]
OPS = ("drop", "swap", "dup", "truncate", "flip", "insert", "crlf", "cr", "bom", "nul_line", "utf8_line", "blank")
op_strategy = st.tuples(st.sampled_from(OPS), st.integers(0, 2**31), st.integers(0, 2**31), st.integers(1, 255))


def apply_op(data: bytes, op: tuple) -> bytes:
    name, a, b, c = op
    lines = data.split(b"\n")
    n = len(lines)
    if name == "drop":
        del lines[a % n]
    elif name == "swap":
        i, j = a % n, b % n
        lines[i], lines[j] = lines[j], lines[i]
    elif name == "dup":
        i = a % n
        lines[i:i] = [lines[i]] * (1 + c % 3)
    elif name == "truncate":
        return data[: a % (len(data) + 1)]
    elif name == "flip":
        if not data:
            return data
        k = a % len(data)
        return data[:k] + bytes([data[k] ^ c]) + data[k + 1 :]
    elif name == "insert":
        k = a % (len(data) + 1)
        return data[:k] + INSERTS[b % len(INSERTS)] + data[k:]
    elif name == "crlf":
        return data.replace(b"\n", b"\r\n")
    elif name == "cr":
        return data.replace(b"\n", b"\r")
    elif name == "bom":
        return b"\xef\xbb\xbf" + data
    elif name == "nul_line":
        i = a % n
        lines[i] = lines[i][: b % (len(lines[i]) + 1)] + b"\x00" * (c % 5 + 1) + lines[i][b % (len(lines[i]) + 1) :]
    elif name == "utf8_line":
        i = a % n
        lines[i] += bytes([0x80 | (c & 0x3F), 0xC0 | (c & 0x1F), 0xFF])
    elif name == "blank":
        lines.insert(a % (n + 1), b"")
    return b"\n".join(lines)


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    for op in ops:
        data = apply_op(data, op)
    return data


def random_ops(rng: random.Random, k: int) -> list[tuple]:
    return [(rng.choice(OPS), rng.getrandbits(31), rng.getrandbits(31), rng.randrange(1, 256)) for _ in range(k)]


corpus_index = st.integers(0, len(CORPUS) - 1)
mutations = st.lists(op_strategy, min_size=1, max_size=5)

TOKENS = [
    b"event:", b"event: ", b"data:", b"data: ", b"id:", b"id: 1", b"retry:", b"retry: 10", b":", b": t=", b"0.25", b"nan",
    b": streamview transcript 1\n", b": header x-request-id: r\n", b": status 200\n", b": request POST /\n", b"\n", b"\r",
    b"\r\n", b"\n\n", b"\xef\xbb\xbf", b"\x00", b"\xff", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80", b"{", b"}", b"[DONE]",
    b'{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"x","sequence_number":3}',
    b'{"type":"response.completed","response":{"status":"completed","output":[{"type":"message","content":[{}]}]}}',
    b'{"type":"response.output_item.added","output_index":true,"item":{"type":"function_call","arguments":"{"}}',
    b'{"type":"error","message":null}', b'{"type":"response.output_text.done","text":7,"output_index":-1}',
    b'{"sequence_number":1e999}', b"NaN", b"1", b'"\\ud800"', b"response.created",
]
sse_ish = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=6)), max_size=60).map(b"".join)
any_bytes = st.one_of(st.binary(max_size=400), sse_ish)
cuts = st.lists(st.integers(0, 2**31), max_size=12)


# -- arbitrary bytes --------------------------------------------------------------------------------------------------
@FUZZ
@given(data=any_bytes, cuts=cuts)
def test_arbitrary_bytes_in_any_chunking_decode_the_same_and_never_raise(data: bytes, cuts: list[int]) -> None:
    whole, parser1 = frames_of([data])
    chunked, parser2 = frames_of(split_at(data, cuts))
    assert [frame_shape(f) for f in chunked] == [frame_shape(f) for f in whole]
    assert meta_shape(parser2.meta) == meta_shape(parser1.meta) and parser1.bom == parser2.bom

    events, reader = events_of(split_at(data, cuts))
    assert len(events) == len(whole) == reader.count  # every frame becomes an event
    assert [ev.index for ev in events] == list(range(len(events)))
    assert [event_shape(ev) for ev in events] == [event_shape(parse_frame(f, i)) for i, f in enumerate(whole)]
    assert_decodable_kept(data, events)
    exercise(events, reader.meta)


@FUZZ
@given(data=any_bytes)
def test_arbitrary_bytes_one_byte_at_a_time(data: bytes) -> None:
    whole, _ = events_of([data])
    bytewise, _ = events_of([data[i : i + 1] for i in range(len(data))])
    assert [event_shape(ev) for ev in bytewise] == [event_shape(ev) for ev in whole]


@FEW
@given(data=any_bytes)
def test_arbitrary_bytes_render_in_every_pane_renderer(data: bytes) -> None:
    events, reader = events_of([data])
    render_panes(events, reader.meta)


# -- mutated transcripts --------------------------------------------------------------------------------------------------
@FUZZ
@given(which=corpus_index, ops=mutations, cuts=cuts)
def test_mutated_transcripts_keep_every_decodable_event(which: int, ops: list[tuple], cuts: list[int]) -> None:
    data = mutate(CORPUS[which], ops)
    frames, _ = frames_of([data])
    events, reader = events_of(split_at(data, cuts))
    assert len(events) == len(frames) == reader.count
    whole, _ = events_of([data])
    assert [event_shape(ev) for ev in events] == [event_shape(ev) for ev in whole]
    assert_decodable_kept(data, events)
    exercise(events, reader.meta)


@FEW
@given(which=corpus_index, ops=mutations)
def test_mutated_transcripts_render_in_every_pane_renderer(which: int, ops: list[tuple]) -> None:
    events, reader = events_of([mutate(CORPUS[which], ops)])
    render_panes(events, reader.meta)


@FUZZ
@given(which=corpus_index, ops=mutations, eol=st.sampled_from([b"\r\n", b"\r"]), cuts=cuts)
def test_crlf_and_cr_endings_give_the_same_events(which: int, ops: list[tuple], eol: bytes, cuts: list[int]) -> None:
    lf = mutate(CORPUS[which], ops).replace(b"\r", b"")
    other = lf.replace(b"\n", eol)
    ref, _ = events_of([lf])
    got, _ = events_of(split_at(other, cuts))
    assert [event_shape(ev) for ev in got] == [event_shape(ev) for ev in ref]


@FUZZ
@given(which=corpus_index, ops=mutations)
def test_a_bom_changes_nothing_but_the_bom_flag(which: int, ops: list[tuple]) -> None:
    data = mutate(CORPUS[which], ops)
    while data.startswith(b"\xef\xbb\xbf"):  # only the first BOM is one: a second is text
        data = data[3:]
    plain, _ = frames_of([data])
    bommed, parser = frames_of([b"\xef", b"\xbb", b"\xbf" + data[:1], data[1:]])
    assert parser.bom
    assert [frame_shape(f) for f in bommed] == [frame_shape(f) for f in plain]


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_every_unmutated_transcript_keeps_all_its_events(name: str) -> None:
    data = CORPUS[CORPUS_NAMES.index(name)]
    events, _ = read_events(io.BytesIO(data))
    expected = decodable_blocks(data)
    assert expected, "the oracle reads the transcript"
    assert_decodable_kept(data, events)
    assert len([ev for ev in events if ev.kind == "event" and ev.error is None]) == len(expected)


def test_the_oracle_is_not_vacuous() -> None:
    data = b'junk\n\ndata: {"a":1}\n\nevent: e\ndata: [1,\ndata: 2]\n\ndata: nope\n\ndata: {"cut":1}\n'
    assert decodable_blocks(data) == [("message", '{"a":1}'), ("e", "[1,\n2]")]
    events, _ = read_events(io.BytesIO(data))
    assert_decodable_kept(data, events)
    with pytest.raises(AssertionError, match="decodable event lost"):
        assert_decodable_kept(data, [ev for ev in events if ev.data != "[1,\n2]"])


# -- a decoder bug found by the line-ending property (fixed) ------------------------------------------------------------
def test_junk_line_ended_by_a_final_cr_is_not_cut_off() -> None:
    lf, _ = read_events(io.BytesIO(b"junk\n"))
    cr, _ = read_events(io.BytesIO(b"junk\r"))
    assert cr[0].error == lf[0].error == "line at line 1 not SSE (no known field name)"


# -- one huge line ------------------------------------------------------------------------------------------------------
def test_ten_megabyte_lines_stream_through_and_are_kept() -> None:
    big = "é" * 5_000_000  # 10 MB of UTF-8, cut across chunk boundaries mid-character
    delta = {"type": "response.output_text.delta", "item_id": "msg_test", "output_index": 0, "content_index": 0, "delta": big, "sequence_number": 4}
    seed = sse(message_stream(["a"]))
    cut = seed.index(b"event: response.output_text.delta")
    head = seed[:cut] + b"event: response.output_text.delta\ndata: " + json.dumps(delta, ensure_ascii=False).encode() + b"\n\n"
    data = head + b"J" * 10_000_000 + b"\n\n" + seed[cut:] + b"\x00" * 10_000_000  # a huge junk line, a huge cut-off NUL line
    events, reader = read_events(io.BytesIO(data))
    kinds = [ev.kind for ev in events]
    assert kinds.count("junk") == 2
    huge = [ev for ev in events if ev.kind == "event" and isinstance(ev.payload, dict) and ev.payload.get("delta") == big]
    assert len(huge) == 1 and huge[0].error is None
    junk = [ev for ev in events if ev.kind == "junk"]
    assert len(junk[0].data) <= 200 and "not SSE" in junk[0].error  # a sample, not 10 MB in a row
    assert "input ended mid-line" in junk[1].error
    state = assemble(events)
    assert state.text() == big + "a"
    check_events(events)
    assert_decodable_kept(data[: len(data) - 10_000_000], events)


async def _replay_seconds(delta: str) -> float:
    """Seconds from start until a replay of one message made of ``delta`` is at its end, on screen, and a key was handled."""
    evs = message_stream(["a", "b"])
    evs[4]["delta"] = delta
    app = make_app(sse(evs), instant=True)
    async with app.run_test(size=(120, 30)) as pilot:
        start = time.monotonic()
        await wait_until(pilot, lambda: app.player.finished, timeout=120)
        await pilot.press("down")
        assert app.is_running
        return time.monotonic() - start


async def test_a_huge_line_in_the_ui_costs_no_more_than_the_same_text_in_lines() -> None:
    n = 300_000
    lines = await _replay_seconds(("é" * 79 + "\n") * (n // 80))
    one = await _replay_seconds("é" * n)
    assert one < 2.5 * lines, f"one line: {one:.2f}s, the same text in lines: {lines:.2f}s"


async def test_a_ten_megabyte_delta_time_travels_with_a_clipped_detail() -> None:
    """Selecting the event of a 10 MB delta shows the message as of it (all of it) and the event's JSON with the
    string cut, saying how much was left out (laying out 10 MB as highlighted JSON took Rich over 20 s)."""
    from textual.widgets import Static

    from streamview.widgets.detail_view import CLIP
    from streamview.widgets.event_list import EventList
    from streamview.widgets.message_view import MessageView

    big = "é" * 5_000_000
    evs = message_stream(["a", "b"])
    evs[4]["delta"] = big
    app = make_app(sse(evs), instant=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.player.finished, timeout=120)
        app.query_one(EventList).select(4)
        await wait_until(pilot, lambda: app.travel == 4, timeout=120)
        await pilot.pause()
        view = app.query_one(MessageView).text_view
        assert big in view.text and big + "b" not in view.text
        assert view.selected_text == big
        from rich.console import Console

        console = Console(width=200, file=io.StringIO(), record=True)
        console.print(app.query_one("#detail-body", Static).content)
        body = console.export_text()
        unwrapped = re.sub(r"\s*\n\s*", " ", body)  # the long string continues on indented lines
        assert f"{len(big) - CLIP:,} more characters" in unwrapped
        assert len(body) < 4 * CLIP
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.travel is None, timeout=120)
        assert big + "b" in app.query_one(MessageView).text_view.text


# -- the command line ------------------------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamview", *args], capture_output=True, timeout=60)


def assert_clean_exit(proc: subprocess.CompletedProcess) -> None:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode in (0, 1, 2), (proc.returncode, err[-2000:])
    assert "Traceback" not in err, err[-2000:]


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape of a lone surrogate: crashes `print` (see test_escapes.py)


def run_main(args: list[str], tty: bool = False) -> tuple[int, bytes, str]:
    """``streamview.cli.main`` in-process, stdout a strict UTF-8 byte stream like a pipe (or a terminal, ``tty``)."""
    import contextlib

    from streamview.cli import main

    class Out(io.TextIOWrapper):
        def isatty(self) -> bool:
            return tty

    buf = io.BytesIO()
    out = Out(buf, encoding="utf-8", errors="strict", write_through=True)
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    out.flush()
    return code, buf.getvalue(), err.getvalue()


TTY_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")


@FUZZ
@given(which=corpus_index, ops=mutations)
def test_print_and_check_in_process_never_raise_and_never_pass_escapes_to_a_terminal(which: int, ops: list[tuple]) -> None:
    data = mutate(CORPUS[which], ops)
    assume(not SURROGATE_ESCAPE.search(data))
    events, _ = read_events(io.BytesIO(data))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mutated.sse")
        with open(path, "wb") as fh:
            fh.write(data)
        for args in (["print", path], ["print", "--json", path], ["check", path], ["check", "--json", path]):
            code, out, err = run_main(args)
            assert code in (0, 1, 2), (args, code, err)
            if args[:2] == ["print", "--json"] and code != 2:
                assert json.loads(out)["events"] == len(events)
        for args in (["print", path], ["check", path]):
            code, out, _ = run_main(args, tty=True)
            assert code in (0, 1, 2)
            m = TTY_BAD.search(out.decode("utf-8"))
            assert m is None, f"{args[0]} on a terminal writes {m.group()!r}"


@SUBPROCESS
@given(which=corpus_index, ops=mutations)
def test_print_and_check_on_mutated_files_exit_0_1_or_2_without_a_traceback(which: int, ops: list[tuple]) -> None:
    data = mutate(CORPUS[which], ops)
    assume(not SURROGATE_ESCAPE.search(data))
    events, _ = read_events(io.BytesIO(data))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mutated.sse")
        with open(path, "wb") as fh:
            fh.write(data)
        printed = run_cli("print", "--json", path)
        assert_clean_exit(printed)
        if any(ev.kind == "event" for ev in events):
            assert json.loads(printed.stdout)["events"] == len(events)
        else:
            assert printed.returncode == 2 and printed.stdout == b""
        assert_clean_exit(run_cli("print", path))
        checked = run_cli("check", "--json", path)
        assert_clean_exit(checked)
        report = json.loads(checked.stdout)
        # the outcome table: 2 no SSE event or an unknown protocol; else 1 with an error anomaly; 0 only without one
        if not any(ev.kind == "event" for ev in events) or any(a["rule"] == "unknown-protocol" for a in report):
            assert checked.returncode == 2
        elif any(a["severity"] == "error" for a in report):
            assert checked.returncode == 1
        else:
            assert checked.returncode in (0, 1)  # 1: a clean stream that ended in failure (response.failed)


def test_check_and_print_on_a_batch_of_mutated_files(tmp_path: Path) -> None:
    rng = random.Random(5)
    paths = []
    for i in range(12):
        data = mutate(CORPUS[i % len(CORPUS)], random_ops(rng, 1 + i % 4))
        data = SURROGATE_ESCAPE.sub(b"", data)
        path = tmp_path / f"m{i}.sse"
        path.write_bytes(data)
        paths.append(str(path))
    paths.append(str(tmp_path / "empty.sse"))
    Path(paths[-1]).write_bytes(b"")
    paths.append(str(tmp_path / "garbage.sse"))
    Path(paths[-1]).write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    checked = run_cli("check", *paths)
    assert_clean_exit(checked)
    verdicts = [line for line in checked.stdout.decode("utf-8", "replace").splitlines()
                if re.search(r" in [\d,]+ events?( \(.*\))?$", line) and "#" not in line.split(": ", 1)[1][:2]]
    assert len(verdicts) == len(paths)  # one verdict line per file
    assert any("not checked (empty input" in line for line in verdicts)
    assert_clean_exit(run_cli("check", "--json", *paths))
    for p in paths[-2:] + paths[:2]:
        proc = run_cli("print", p)
        assert_clean_exit(proc)
    assert run_cli("print", paths[-2]).returncode == 2  # empty input
    assert run_cli("print", paths[-1]).returncode in (1, 2)


# -- the UI ---------------------------------------------------------------------------------------------------------
BAD_CELLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")

PILOT_CASES = [
    ("o4-mini-hello.sse", [("crlf", 0, 0, 1), ("flip", 1234, 0, 0x20), ("truncate", 6000, 0, 1)]),
    ("gpt-4.1-nano-hello.sse", [("cr", 0, 0, 1), ("bom", 0, 0, 1), ("insert", 900, 14, 1), ("nul_line", 7, 3, 9)]),
    ("function-calls-parallel.sse", [("swap", 3, 11, 1), ("dup", 8, 0, 2), ("drop", 20, 0, 1), ("utf8_line", 5, 0, 77),
                                     ("insert", 4000, 2, 1), ("insert", 700, 25, 1), ("flip", 9000, 0, 0x80)]),
]


@pytest.mark.parametrize("name,ops", PILOT_CASES, ids=[c[0] for c in PILOT_CASES])
async def test_mutations_replay_in_the_ui(name: str, ops: list[tuple]) -> None:
    data = mutate(CORPUS[CORPUS_NAMES.index(name)], ops)
    expected, _ = read_events(io.BytesIO(data))
    app = make_app(data, instant=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert app.is_running
        assert len(app.model.events) == len(expected)  # every decoded event reached the model
        assert [event_shape(ev)[:8] for ev in app.model.events] == [event_shape(ev)[:8] for ev in expected]
        await pilot.press("enter", "up", "up", "m", "enter", "f", "f", "escape", "m", "a", "home", "enter")
        await pilot.pause()
        assert app.is_running
        assert not BAD_CELLS.search("".join(screen_segment_texts(app)))


def _random_mutation_cases(k: int) -> list[bytes]:
    rng = random.Random(99)
    return [mutate(CORPUS[rng.randrange(len(CORPUS))], random_ops(rng, rng.randrange(1, 6))) for _ in range(k)]


async def test_random_mutations_replay_in_the_ui_without_an_exception() -> None:
    # one app per input, each replayed to its end; a failure names the case index for reproduction
    for n, data in enumerate(_random_mutation_cases(3)):
        expected, _ = read_events(io.BytesIO(data))
        app = make_app(data, instant=True)
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_until(pilot, lambda: app.player.finished)
            await pilot.press("end", "enter", "m")
            await pilot.pause()
            assert app.is_running, n
            assert len(app.model.events) == len(expected), n
