"""Hostile stream text in every place a stream can put text a pane shows (issue 5, part 3; DESIGN.md section 7).

Rich markup, ANSI and OSC escape sequences (SGR colour, cursor home, clear screen, an OSC 52 clipboard write, an
OSC 8 hyperlink), bidi overrides and isolates, zero-width characters, C1 controls, DEL, BEL and a lone surrogate
(a JSON ``\\ud800`` escape) are put in message deltas, a reasoning summary, a function call's name and arguments, a
refusal, item ids, the model name, the instructions, an ``error`` event, the recorded transcript's header comments,
an SSE event name, an unknown event type, a server comment and lines that are not SSE. For each, with the replay at
its end, in every pane (the event detail and the Markdown view included) and on the help screen: no segment the
compositor sends holds a control, bidi or zero-width character, the markup shows literally, and the app runs on.
``tests/test_safety.py`` covers the sanitizer itself and the message deltas; this file covers the other places and
the command line on pipes and terminals.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import make_app, wait_until
from streamview.widgets.event_list import EventList
from streamview.widgets.response_view import ResponseView

MARK = "[b]MARK[/b]"  # markup that must show as these very characters
H = (
    f"{MARK} [@click=app.quit]q[/] [/foo] \x1b[31mRED\x1b[0m \x1b[H\x1b[2J \x1b]52;c;aGVsbG8=\x07 "
    "\x1b]8;;http://evil.example/\x1b\\LINK\x1b]8;;\x1b\\ \u202eRLO\u202c \u2066LRI\u2069 Z\u200bW\ufeffJ "
    "C1\x9b[2J NEL\x85 LS\u2028 DEL\x7f BEL\x07 SUR\ud800 end"
)
H_NO_SURROGATE = H.replace("\ud800", "")
# the same, as raw bytes on a line (a header comment, an event name, a comment, a junk line): no CR or LF in it,
# and an encoded surrogate (invalid UTF-8) in place of the JSON escape
RAW = H_NO_SURROGATE.encode().replace(b"SUR", b"SUR\xed\xa0\x80")

# what must never reach the terminal: C0 and C1 controls, DEL, bidi controls, zero-width and invisible characters,
# line/paragraph separators, lone surrogates
BAD = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]")
BAD_BYTES = [b"\x1b", b"\x07", b"\xc2\x9b", b"\xc2\x85", b"\xe2\x80\xae", b"\xe2\x81\xa6", b"\xe2\x80\x8b", b"\xef\xbb\xbf", b"\x7f"]


# -- transcripts --------------------------------------------------------------------------------------------------
def wire(events: list[dict]) -> bytes:
    """Events in the wire format; the JSON is ASCII (``\\u001b``, ``\\ud800``), the ``event:`` line raw UTF-8."""
    out = []
    for ev in events:
        name = ev["type"].encode("utf-8", "replace")  # a lone surrogate cannot be a raw byte: '?'
        out.append(b"event: " + name + b"\ndata: " + json.dumps(ev).encode() + b"\n\n")
    return b"".join(out)


def envelope(body: list[dict], output: list[dict], *, model: str = "test-model", instructions: str = "be brief",
             rid: str = "resp_test", terminal: dict | None = None) -> list[dict]:
    base = {"id": rid, "object": "response", "created_at": 1752774614, "model": model, "instructions": instructions, "output": [], "usage": None}
    evs = [
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress"}},
        *body,
        terminal or {"type": "response.completed", "response": {**base, "status": "completed", "output": output, "usage": {"input_tokens": 5, "output_tokens": 9, "total_tokens": 14}}},
    ]
    for i, ev in enumerate(evs):
        ev["sequence_number"] = i
    return evs


def message_events(idx: int, mid: str, deltas: list[str], kind: str = "output_text") -> tuple[list[dict], dict]:
    text = "".join(deltas)
    field = "refusal" if kind == "refusal" else "text"
    part = {"type": kind, field: text} | ({"annotations": []} if kind == "output_text" else {})
    item = {"id": mid, "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    where = {"item_id": mid, "output_index": idx, "content_index": 0}
    delta_type = "response.refusal.delta" if kind == "refusal" else "response.output_text.delta"
    done_type = "response.refusal.done" if kind == "refusal" else "response.output_text.done"
    evs = [
        {"type": "response.output_item.added", "output_index": idx, "item": {**item, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **where, "part": {**part, field: ""}},
        *({"type": delta_type, **where, "delta": d} for d in deltas),
        {"type": done_type, **where, field: text},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": idx, "item": item},
    ]
    return evs, item


def reasoning_events(idx: int, rid: str, deltas: list[str]) -> tuple[list[dict], dict]:
    text = "".join(deltas)
    item = {"id": rid, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}
    where = {"item_id": rid, "output_index": idx, "summary_index": 0}
    evs = [
        {"type": "response.output_item.added", "output_index": idx, "item": {**item, "summary": []}},
        {"type": "response.reasoning_summary_part.added", **where, "part": {"type": "summary_text", "text": ""}},
        *({"type": "response.reasoning_summary_text.delta", **where, "delta": d} for d in deltas),
        {"type": "response.reasoning_summary_text.done", **where, "text": text},
        {"type": "response.reasoning_summary_part.done", **where, "part": {"type": "summary_text", "text": text}},
        {"type": "response.output_item.done", "output_index": idx, "item": item},
    ]
    return evs, item


def function_call_events(idx: int, fid: str, name: str, deltas: list[str]) -> tuple[list[dict], dict]:
    args = "".join(deltas)
    item = {"id": fid, "type": "function_call", "status": "completed", "arguments": args, "call_id": "call_1", "name": name}
    where = {"item_id": fid, "output_index": idx}
    evs = [
        {"type": "response.output_item.added", "output_index": idx, "item": {**item, "status": "in_progress", "arguments": ""}},
        *({"type": "response.function_call_arguments.delta", **where, "delta": d} for d in deltas),
        {"type": "response.function_call_arguments.done", **where, "arguments": args},
        {"type": "response.output_item.done", "output_index": idx, "item": item},
    ]
    return evs, item


def simple(deltas: list[str] = ("ok",), **kw) -> list[dict]:
    body, item = message_events(0, "msg_1", list(deltas))
    return envelope(body, [item], **kw)


def insert_after(data: bytes, n: int, extra: bytes) -> bytes:
    """``extra`` after the ``n``-th event block of ``data``."""
    at = 0
    for _ in range(n):
        at = data.index(b"\n\n", at) + 2
    return data[:at] + extra + data[at:]


def _scenarios() -> dict[str, tuple[bytes, list]]:
    """name -> (transcript, texts that must show literally on the screen at the end of the replay)."""
    s: dict[str, tuple[bytes, list]] = {}
    s["message-deltas"] = (wire(simple(["Hello ", H, " world"])), [MARK, "␛[31mRED", "⟨U+202E⟩RLO", "Z⟨U+200B⟩W"])
    body, reasoning = reasoning_events(0, "rs_1", ["Thinking ", H])
    msg, item = message_events(1, "msg_1", ["fine"])
    s["reasoning-summary"] = (wire(envelope(body + msg, [reasoning, item])), [MARK, "␛]52;c;aGVsbG8=␇"])
    args = json.dumps({"query": H})
    body, call = function_call_events(0, "fc_1", "lookup" + H, [args[:20], args[20:]])
    s["function-call"] = (wire(envelope(body, [call])), [f"lookup{MARK}", f'"query": "{MARK}'])
    body, call = function_call_events(0, "fc_1", "raw", ["not json ", H])  # arguments that are not JSON
    s["function-call-raw-arguments"] = (wire(envelope(body, [call])), [f"not json {MARK}"])
    body, item = message_events(0, "msg_1", ["I can't ", H], kind="refusal")
    s["refusal"] = (wire(envelope(body, [item])), [MARK, "refusal"])
    body, item = message_events(0, "msg_" + H, ["text"])
    s["item-ids"] = (wire(envelope(body, [item], rid="resp_" + H)), [f"msg_{MARK}", f"resp_{MARK}"])
    s["model"] = (wire(simple(model="gpt-" + H)), [f"gpt-{MARK}"])
    s["instructions"] = (wire(simple(instructions="Obey " + H)), [f"Obey {MARK}"])
    evs = simple(["partial"])
    evs[-1] = {"type": "error", "code": "E" + H, "message": "M" + H, "param": "P" + H, "sequence_number": evs[-1]["sequence_number"]}
    s["error-event"] = (wire(evs), [f"E{MARK}", f"M{MARK}"])
    evs = simple(["partial"])
    evs[-1] = {"type": "response.failed", "sequence_number": evs[-1]["sequence_number"], "response": {
        "id": "resp_test", "model": "test-model", "status": "failed", "output": [], "error": {"code": "F" + H, "message": "G" + H}}}
    s["response-failed"] = (wire(evs), [f"F{MARK}"])
    header = (b": streamview transcript 1\n: request POST https://api.example/v1/responses?" + RAW + b"\n"
              b": request-body {\"input\":\"" + RAW + b"\"}\n: status 200\n: header x-request-id: " + RAW + b"\n"
              b": header openai-processing-ms: " + RAW + b"\n\n")  # header names: see the test below
    s["recorded-headers"] = (header + wire(simple()), [MARK, re.compile(r"request +POST"), re.compile(r"x-request-id +\[b\]MARK\[/b\]")])
    named = (b"event: " + RAW + b"\ndata: " + json.dumps({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
             "content_index": 0, "delta": "!", "sequence_number": 3}).encode() + b"\n\n"
             b"event: " + RAW + b"\ndata: {\"no_type\": true}\n\n"
             b"event: " + RAW + b"\ndata: not json\n\n")
    s["event-name"] = (insert_after(wire(simple()), 4, named), [MARK])
    s["unknown-event-type"] = (insert_after(wire(simple()), 3, wire([{"type": "response.x." + H, "sequence_number": 3, "delta": H}])), [f"x.{MARK}", "unknown-event"])
    s["server-comment"] = (insert_after(wire(simple()), 2, b": " + RAW + b"\n\n: " + RAW + b"\n"), [MARK])
    junk = b"JUNK " + RAW + b"\n\x1b]52;c;aGVsbG8=\x07\x9b\xc2\x9b\x1b[2J\n"
    s["junk-lines"] = (insert_after(wire(simple()), 2, junk) + b"JUNK tail " + RAW, ["not SSE"])
    return s


SCENARIOS = _scenarios()


# -- the UI -------------------------------------------------------------------------------------------------------
def snapshot(app) -> tuple[str, list[str]]:
    """The screen as text and the text of every segment the compositor sends, from one full render."""
    import io

    from rich.console import Console

    update = app.screen._compositor.render_update(full=True)
    segments = [seg.text for line in update.strips for strip in line for seg in strip]
    console = Console(width=app.size.width, record=True, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(update)
    return console.export_text(), segments


def assert_clean(app, where: str) -> str:
    """No control, bidi or zero-width character in any segment; the app still runs. Returns the screen text."""
    assert app.is_running, f"{where}: the app stopped"
    text, segments = snapshot(app)
    for seg in segments:
        m = BAD.search(seg)
        assert m is None, f"{where}: {m.group()!r} reaches the terminal in segment {seg!r}"
    return text


def hostile_events(app) -> list[int]:
    """The events that carry hostile text, and the last one."""
    events = app.model.events
    picked = [i for i, ev in enumerate(events) if "MARK" in ev.data or "MARK" in ev.name]
    return sorted({len(events) - 1, *picked})


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_hostile_text_is_inert_in_every_pane(name: str) -> None:
    data, literal = SCENARIOS[name]
    app = make_app(data, label=f"label {MARK} \x1b[31m\u202e", instant=True)
    async with app.run_test(size=(170, 44)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        text = assert_clean(app, "live")
        app.query_one(ResponseView).scroll_end(animate=False, immediate=True)  # the http section is at the bottom
        await pilot.pause()
        text += assert_clean(app, "live, response pane scrolled to its end")
        for lit in literal + [f"label {MARK} ␛[31m⟨U+202E⟩"]:
            found = lit.search(text) if isinstance(lit, re.Pattern) else lit in text
            assert found, f"{lit!r} not shown literally on the live screen"

        events = app.query_one(EventList)
        for i in hostile_events(app):
            events.select(i)
            await pilot.pause()
            text = assert_clean(app, f"detail of event #{i}")
            assert f"event #{i}" in text
            if "MARK" in app.model.events[i].data:
                assert MARK in text, f"event #{i}: markup not shown literally in its detail"

        await pilot.press("m")  # the Markdown view of the time-travelled state
        await pilot.pause()
        assert_clean(app, "markdown, time travel")
        await pilot.press("escape")  # back to live, still in Markdown
        await pilot.pause()
        md = assert_clean(app, "markdown, live")
        if name in ("message-deltas", "refusal", "reasoning-summary"):
            assert "MARK" in md  # the Markdown view shows the text
        await pilot.press("m")
        await pilot.press("question_mark")
        await pilot.pause()
        assert "streamview keys" in assert_clean(app, "help screen")
        await pilot.press("escape")
        assert app.is_running
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x9b" not in svg and "\u202e" not in svg


async def test_every_scenario_at_once_with_filters_and_search() -> None:
    """All the hostile places in one stream, walked with the keys: filters, anomaly jumps, search, restart."""
    data = b"".join(d for d, _ in SCENARIOS.values())
    app = make_app(data, instant=True)
    async with app.run_test(size=(100, 30)) as pilot:  # narrow: the stacked layout
        await wait_until(pilot, lambda: app.player.finished)
        assert_clean(app, "live, narrow")
        for keys in (["a"], ["a", "a"], ["A"], ["f"], ["f"], ["f"], ["f"], ["m"], ["slash", "M", "A", "R", "K", "enter"], ["escape"], ["m"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert_clean(app, f"after {keys}")
        await pilot.press("r", "e")
        await wait_until(pilot, lambda: app.player.finished)
        assert_clean(app, "after restart")


async def test_header_names_are_sanitized_in_the_response_pane() -> None:
    data = b": streamview transcript 1\n: status 200\n: header x-ratelimit-a\x1b[2Jb\xe2\x80\xae: 1\n\n" + wire(simple())
    app = make_app(data, instant=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert_clean(app, "header name")


# -- the command line -------------------------------------------------------------------------------------------------
def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamview", *args], input=stdin, capture_output=True, timeout=60)


def run_on_tty(*args: str) -> tuple[int, bytes]:
    """Run the command with stdout and stderr on a pseudo-terminal; return the exit code and what it wrote."""
    import pty
    import termios

    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # no LF -> CRLF translation: the bytes as written
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen([sys.executable, "-m", "streamview", *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out


def assert_terminal_safe(out: bytes) -> None:
    assert b"Traceback" not in out, out.decode("utf-8", "replace")[-1500:]
    for bad in BAD_BYTES:
        assert bad not in out, f"{bad!r} reaches the terminal: {out[max(0, out.find(bad) - 60):out.find(bad) + 20]!r}"


def test_print_to_a_pipe_keeps_the_text_byte_exact(tmp_path) -> None:
    body, reasoning = reasoning_events(0, "rs_1", ["Think ", H_NO_SURROGATE])
    msg, item = message_events(1, "msg_1", ["Hello ", H_NO_SURROGATE, " \t tab\nnewline"])
    path = tmp_path / "hostile.sse"
    path.write_bytes(wire(envelope(body + msg, [reasoning, item])))
    proc = run_cli("print", str(path))
    assert proc.returncode == 0, proc.stderr
    expected = f"[reasoning summary] Think {H_NO_SURROGATE}\n\nHello {H_NO_SURROGATE} \t tab\nnewline\n"
    assert proc.stdout == expected.encode()  # a pipe gets the data, escapes and all
    assert proc.stderr == b""
    piped = run_cli("print", "-", stdin=path.read_bytes())
    assert piped.stdout == expected.encode()
    as_json = run_cli("print", "--json", str(path))
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["output"][1]["text"] == f"Hello {H_NO_SURROGATE} \t tab\nnewline"


def test_print_and_check_on_a_terminal_pass_no_escapes(tmp_path) -> None:
    body, item = message_events(0, "msg_" + H_NO_SURROGATE, ["Hello ", H_NO_SURROGATE])
    evs = envelope(body, [item], model="gpt-" + H_NO_SURROGATE)
    evs.insert(3, {"type": "response.x." + H_NO_SURROGATE, "sequence_number": 40})  # unknown type + seq anomalies
    evs.insert(6, {**evs[5], "sequence_number": 41})  # a delta after its part... and a duplicate delta
    path = tmp_path / "hostile.sse"
    path.write_bytes(wire(evs))
    code, out = run_on_tty("print", str(path))
    assert code in (0, 1)
    assert_terminal_safe(out)
    assert f"Hello {MARK}".encode() in out and "␛[31mRED".encode() in out
    code, out = run_on_tty("check", str(path))
    assert code == 1
    assert_terminal_safe(out)
    assert b"unknown-event" in out


def test_check_names_hostile_item_ids_safely_on_a_terminal(tmp_path) -> None:
    body, item = message_events(0, "msg_" + H_NO_SURROGATE, ["Hello"])
    evs = envelope(body, [item])
    evs.insert(len(evs) - 1, {**evs[4], "sequence_number": 90})  # a delta after output_item.done names the item
    path = tmp_path / "ids.sse"
    path.write_bytes(wire(evs))
    code, out = run_on_tty("check", str(path))
    assert code == 1 and b"after-done" in out
    assert_terminal_safe(out)
    assert f"msg_{MARK}".encode() in out  # the id is shown, markup and all, with its escapes as visible marks


def test_check_on_a_terminal_over_every_scenario_passes_no_escapes(tmp_path) -> None:
    paths = []
    for name, (data, _) in SCENARIOS.items():
        path = tmp_path / f"{name}.sse"
        path.write_bytes(data)
        paths.append(str(path))
    code, out = run_on_tty("check", *paths)
    assert code == 1  # the scenarios have anomalies (unknown types, no terminal, bad JSON...)
    assert_terminal_safe(out)
    assert out.count(b" in ") >= len(paths)  # a verdict line per file: nothing died half-way


@pytest.mark.parametrize("name", ["message-deltas", "reasoning-summary", "function-call", "refusal", "item-ids"])
def test_print_on_a_terminal_passes_no_escapes(tmp_path, name) -> None:
    path = tmp_path / f"{name}.sse"
    path.write_bytes(SCENARIOS[name][0])
    code, out = run_on_tty("print", str(path))
    assert code in (0, 1)
    assert_terminal_safe(out)
    assert b"\xe2\x90\x9b" in out or name == "item-ids"  # ESC shown as the visible mark U+241B


# -- bugs found: lone surrogates and the JSON / stderr paths --------------------------------------------------------
def test_print_survives_a_lone_surrogate_in_a_pipe(tmp_path) -> None:
    path = tmp_path / "surrogate.sse"
    path.write_bytes(wire(simple(["a\ud800b"])))
    proc = run_cli("print", str(path))
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 0
    assert proc.stdout.startswith(b"a") and proc.stdout.endswith(b"b\n")


def test_print_json_survives_a_lone_surrogate(tmp_path) -> None:
    path = tmp_path / "surrogate.sse"
    path.write_bytes(wire(simple(["a\ud800b"])))
    proc = run_cli("print", "--json", str(path))
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 0
    json.loads(proc.stdout)


@pytest.mark.parametrize("flag", [[], ["--json"]], ids=["text", "json"])
def test_check_survives_a_lone_surrogate_in_an_anomaly(tmp_path, flag) -> None:
    body, item = message_events(0, "msg_\ud800", ["Hello"])
    evs = envelope(body, [item])
    evs.insert(len(evs) - 1, {**evs[4], "sequence_number": 90})  # after-done names the item id
    path = tmp_path / "surrogate.sse"
    path.write_bytes(wire(evs))
    proc = run_cli("check", *flag, str(path))
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 1


def test_plain_replay_survives_a_lone_surrogate(tmp_path) -> None:
    path = tmp_path / "surrogate.sse"
    path.write_bytes(wire(simple(["a\ud800b"])))
    proc = run_cli("replay", "--instant", str(path))
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 0


def test_print_failure_line_on_a_terminal_passes_no_escapes(tmp_path) -> None:
    evs = simple(["partial"])
    evs[-1] = {"type": "response.failed", "sequence_number": evs[-1]["sequence_number"], "response": {
        "id": "resp_test", "status": "failed", "output": [], "error": {"code": "F" + H_NO_SURROGATE, "message": "G\x1b[2J"}}}
    path = tmp_path / "failed.sse"
    path.write_bytes(wire(evs))
    code, out = run_on_tty("print", str(path))
    assert code == 1
    assert_terminal_safe(out)


@pytest.mark.parametrize("command", ["print", "check"])
def test_json_output_on_a_terminal_passes_no_controls(tmp_path, command) -> None:
    body, item = message_events(0, "msg_" + H_NO_SURROGATE, ["Hello ", H_NO_SURROGATE])
    evs = envelope(body, [item])
    evs.insert(len(evs) - 1, {**evs[4], "sequence_number": 90})  # an anomaly that carries the item id
    path = tmp_path / "hostile.sse"
    path.write_bytes(wire(evs))
    code, out = run_on_tty(command, "--json", str(path))
    assert code in (0, 1)
    assert_terminal_safe(out)


def test_long_text_is_shown_the_same_when_it_was_looked_at_before():
    """``render.shown`` remembers long texts it had nothing to change in (by identity, a few at a time): the answer
    is the same as looking again, for clean texts, texts with controls and tabs, and past the memory's size."""
    from streamview import render

    clean = [("word " * 20_000) + str(i) for i in range(12)]  # more than it keeps
    dirty = "a\x1b[31mred\x07\tb" * 10_000
    for _ in range(2):
        for text in clean:
            assert render.shown(text, remember=True) is text
        out = render.shown(dirty, remember=True)
        assert "\x1b" not in out and "\x07" not in out and "\t" not in out
        assert out == render.visible(dirty).replace("\t", render.TAB)
    assert len(render._SHOWN_AS_IS) <= 8 and all(id(v) == k for k, v in render._SHOWN_AS_IS.items())
    assert id(dirty) not in render._SHOWN_AS_IS  # only texts shown as they are
    once = "word " * 20_000 + "once"
    assert render.shown(once) is once and id(once) not in render._SHOWN_AS_IS  # a text not held by the state


def test_a_remembered_text_is_let_go_once_nothing_else_holds_it():
    """The memory of long texts shown as they are holds none of them alive: a block's text made again as it grew
    (or a stream closed) is forgotten at the next long text shown, and its memory freed."""
    import tracemalloc

    from streamview import render

    render._SHOWN_AS_IS.clear()
    kept = "kept " * 20_000
    tracemalloc.start()
    try:
        gone = "gone " * 1_000_000  # 5 MB
        gone_id = id(gone)
        assert render.shown(kept, remember=True) is kept and render.shown(gone, remember=True) is gone
        assert set(render._SHOWN_AS_IS) == {id(kept), gone_id}
        del gone
        held = tracemalloc.get_traced_memory()[0]
        assert gone_id in render._SHOWN_AS_IS  # the memory still has it ...
        other = "other " * 20_000
        render.shown(other)
        assert gone_id not in render._SHOWN_AS_IS  # ... until the next long text: then it is let go
        assert tracemalloc.get_traced_memory()[0] < held - 4_000_000  # and freed
    finally:
        tracemalloc.stop()
    assert set(render._SHOWN_AS_IS) == {id(kept)} and render.shown(kept, remember=True) is kept
