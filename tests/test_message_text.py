"""The message pane's wrapped document: appends and cuts give the same rows as wrapping the whole text at once."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings, strategies as st

from streamview.widgets.message_text import WrappedText, wrap_starts


def rows(doc: WrappedText) -> list[str]:
    out = []
    for r in range(doc.row_count):
        li, start, end = doc.row_span(r)
        out.append(doc.lines[li][start:end])
    return out


def test_wrap_breaks_after_spaces_and_inside_long_words():
    assert wrap_starts("hello world foo", 0, 11) == [0, 12]
    assert wrap_starts("abcdefghij", 0, 4) == [0, 4, 8]
    assert wrap_starts("short", 0, 80) == [0]


def test_wide_characters_take_two_cells():
    line = "日本語のテキスト"  # 8 characters, 16 cells
    starts = wrap_starts(line, 0, 6)
    assert starts == [0, 3, 6]  # three characters (six cells) per row


def test_rows_join_back_to_the_text():
    doc = WrappedText(10)
    doc.load("one two three four five\n\nsix seven eight nine ten eleven")
    assert "".join(rows(doc)[:3]) == "one two three four five"
    assert doc.text.count("\n") == 2
    assert rows(doc)[3] == ""  # the empty line is a row


text_pieces = st.lists(st.text(alphabet="ab \n日x", max_size=12), max_size=30)


@settings(max_examples=200, deadline=None)
@given(pieces=text_pieces, width=st.integers(1, 9), cut=st.integers(0, 400))
def test_appends_and_cuts_keep_the_text_and_rows_consistent(pieces, width, cut):
    doc = WrappedText(width)
    for p in pieces:
        doc.append(p)
    text = "".join(pieces)
    assert doc.text == text and doc.length == len(text)
    fresh = WrappedText(width)
    fresh.load(text)
    assert rows(doc) == rows(fresh)  # appending re-wraps exactly as wrapping the whole text does
    doc.truncate(cut)
    assert doc.text == text[:cut]
    assert "".join(rows(doc)) == text[:cut].replace("\n", "")
    doc.append("tail")
    assert doc.text == text[:cut] + "tail"
    fresh.load(text[:cut] + "tail")
    assert rows(doc) == rows(fresh)  # a cut and an append re-wrap as a fresh wrap would
    for r in range(doc.row_count):  # every row fits the width
        li, start, end = doc.row_span(r)
        assert doc.lines[li][start:end].rstrip(" ").__len__() <= 2 * width


def test_location_finds_row_and_column():
    doc = WrappedText(5)
    doc.load("abcdefghij\nxy")
    assert doc.location(0) == (0, 0)
    assert doc.location(7) == (1, 2)
    assert doc.location(12) == (2, 1)
    rnd = random.Random(3)
    for _ in range(50):
        off = rnd.randrange(doc.length + 1)
        row, col = doc.location(off)
        li, start, _ = doc.row_span(row)
        assert doc.line_offset[li] + start + col == off


@settings(max_examples=300, deadline=None)
@given(pieces=text_pieces, width=st.integers(1, 9), a=st.integers(0, 400), b=st.integers(0, 400),
       new=st.text(alphabet="ab \n日x", max_size=15))
def test_replace_in_the_middle_is_as_a_fresh_wrap(pieces, width, a, b, new):
    text = "".join(pieces)
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    doc = WrappedText(width)
    doc.load(text)
    doc.replace(start, end, new)
    expected = text[:start] + new + text[end:]
    fresh = WrappedText(width)
    fresh.load(expected)
    assert doc.text == expected and doc.length == len(expected)
    assert rows(doc) == rows(fresh)
    assert list(doc.line_offset) == list(fresh.line_offset)
    assert list(doc.line_row) == list(fresh.line_row)
    assert list(doc.row_line) == list(fresh.row_line)
    doc.append("zz")  # and it still grows at the end as it should
    fresh.append("zz")
    assert rows(doc) == rows(fresh)


# -- the widget, in the app ---------------------------------------------------------------------------------------
from textual.geometry import Offset  # noqa: E402
from textual.selection import Selection  # noqa: E402

from tests.conftest import make_app, message_stream, sse, wait_until  # noqa: E402
from streamview.widgets.message_view import MessageView  # noqa: E402

LINES = [f"line {i:03d} of the message\n" for i in range(120)]


async def step_to(app, pilot, count: int) -> None:
    """Step the paused player until ``count`` events are in the model, then let a frame draw them."""
    for _ in range(count - len(app.model.events)):
        app.player.step()
    await wait_until(pilot, lambda: len(app.model.events) == count)
    await pilot.pause(0.1)


async def test_the_message_follows_the_end_until_the_reader_scrolls_up():
    app = make_app(sse(message_stream(LINES)), paused=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await step_to(app, pilot, 70)  # 66 lines of text so far: more than the pane holds
        view = app.query_one(MessageView).text_view
        assert view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y  # following the end
        view.scroll_home(animate=False)
        await pilot.pause(0.05)
        await step_to(app, pilot, 80)
        assert view.scroll_y == 0  # the reader's place is kept while the text grows
        assert "line 075" in view.text
        view.scroll_end(animate=False)
        await pilot.pause(0.05)
        await step_to(app, pilot, 90)
        assert view.scroll_y == view.max_scroll_y > 0  # back at the end: following again


async def test_mouse_selection_copies_the_text_as_it_is_not_as_it_is_wrapped():
    long_line = "word " * 60  # wraps over several rows of the pane
    app = make_app(sse(message_stream(["first line\n", long_line.strip(), "\nlast line"])), instant=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.1)
        view = app.query_one(MessageView).text_view
        assert view.doc.row_count >= 5  # header, first line, the long line on 3+ rows, last line
        rows = view.doc.row_count
        app.screen.selections = {view: Selection(Offset(0, 1), Offset(4, rows - 1))}
        copied = app.screen.get_selected_text()
        assert copied == "first line\n" + long_line.strip() + "\nlast"  # wrapped rows join without a newline


def _chat_stream(words: list[str] | None = None, late: str = "") -> bytes:
    """Chat Completions: text with tabs and control characters (what ``shown`` changes), a tool call after it (the
    structure changes while the text has grown since the last re-make), and the end. ``words``: what the deltas
    are drawn from; ``late``: a delta near the end of the text."""
    import json

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n".encode()

    out = [chunk({"role": "assistant", "content": ""})]
    r = random.Random(11)
    words = words or ["plain ", "tab\there ", "esc\x1b[31m ", "bell\x07 ", "line\n", "日本 ", "emoji 🙂 ", "\r\n"]
    out += [chunk({"content": r.choice(words)}) for _ in range(400)]
    if late:
        out.insert(-3, chunk({"content": late}))
    out.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                      "function": {"name": "get_weather", "arguments": ""}}]}))
    out += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in ('{"ci', 'ty": ', '"Par', 'is"}')]
    out.append(chunk({}, "tool_calls"))
    return b"".join(out) + b"data: [DONE]\n\n"


async def test_the_pane_after_each_frame_is_the_document_made_afresh():
    """Fed in batches of every size, with a frame after each (appends while only the last block grows, re-makes
    when the structure changes, the grown text not read back), the pane holds exactly the document made from the
    state at once; the re-makes that take the grown block's new piece as the one shown are taken."""
    import io

    from textual.app import App

    from streamview.render import render_document
    from streamview.session import Session
    from streamview.source import EventReader, iter_chunks
    from streamview.widgets.message_view import MessageView

    fixtures = Path(__file__).parent / "fixtures"
    long_words = [("clean words here " * 20)[:-1] + "\n", "more plain text 日本 🙂 " * 10]  # a block past 64K characters
    streams = [("chat-controls", _chat_stream()), ("chat-long-clean", _chat_stream(long_words)),
               ("chat-long-late-escape", _chat_stream(long_words, late="now \x1b[2J\x9b\u202e\t!"))] + [
        (p.name, p.read_bytes()) for p in [
            *sorted((fixtures / "responses").glob("*.sse"))[:12], *sorted((fixtures / "anthropic").glob("*.sse"))[:8],
            *sorted((fixtures / "chat").glob("*.sse"))]]
    taken = 0
    original = MessageView._shown_pieces

    def counting(self, pieces, spans):
        nonlocal taken
        pending = self._pending
        out = original(self, pieces, spans)
        if pending is not None and out is not self._doc_pieces:
            taken += 1
        return out

    class Host(App):
        def compose(self):
            yield MessageView()

    MessageView._shown_pieces = counting
    try:
        for name, data in streams:
            reader = EventReader(framing="auto")
            events = [e for c in iter_chunks(io.BytesIO(data)) for e in reader.feed(c)] + reader.finish()
            r = random.Random(name)
            app = Host()
            async with app.run_test(size=(90, 30)):
                view = app.query_one(MessageView)
                session = Session(name)
                k = 0
                while k < len(events):
                    n = r.choice([1, 1, 2, 3, 7, 20, 60])
                    for ev in events[k : k + n]:
                        session.add(ev)
                    k += n
                    view.update_live(session.state, k < len(events))
                    text = view.text_view.text
                    assert text == "".join(render_document(session.state)[0]), f"{name}: after {k} events"
                    assert not any(c in text for c in "\x1b\x07\x9b\u202e\t\r"), f"{name}: a control shown raw"
    finally:
        MessageView._shown_pieces = original
    assert taken >= 5


def test_one_cell_lines_wrap_as_character_by_character():
    """A line whose characters all take one cell (accents, Greek, Cyrillic) is wrapped by searching for spaces:
    the rows are those the character-by-character wrap finds, at every width and starting point."""
    from streamview.widgets.message_text import _ONE_CELL, _wrap_cells, _wrap_one_cell

    rnd = random.Random(7)
    alphabet = ["a", "b", " ", " ", "é", "ñ", "ß", "Ω", "ж", "-", ".", "\u00a0"]
    for _ in range(400):
        line = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 120)))
        assert _ONE_CELL.issuperset(line)
        for width in (1, 2, 3, 7, 10, 33):
            for pos in (0, min(len(line), 5)):
                assert _wrap_one_cell(line, pos, width) == _wrap_cells(line, pos, width), (line, pos, width)
                assert wrap_starts(line, pos, width) == _wrap_cells(line, pos, width)
    assert wrap_starts("日本語のテキスト", 0, 6) == [0, 3, 6]  # not one cell each: character by character
    assert wrap_starts("e\u0301" * 20, 0, 10) == _wrap_cells("e\u0301" * 20, 0, 10)  # combining marks take none
