"""Stream text is data: markup shows literally, escape sequences and invisible characters become visible marks."""

from __future__ import annotations

import subprocess
import sys

from streamview.sanitize import visible, visible_line
from tests.conftest import make_app, message_stream, screen_segment_texts, screen_text, sse, wait_until
from streamview.widgets.event_list import EventList

HOSTILE = [
    "[bold red]x[/]",
    " [/foo] ",
    "[@click=app.quit]click[/]",
    " \x1b[2J\x1b[31mRED",
    " \x1b]52;c;aGVsbG8=\x07",
    " \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    " \u202eevil\u202c zero\u200bwidth",
    " bell\x07 del\x7f c1\x9b",
]


def test_sanitizer_maps_every_control_to_a_visible_mark():
    s = "".join(HOSTILE) + "\ud800"
    out = visible(s)
    assert "\x1b" not in out and "\x07" not in out and "\x7f" not in out and "\x9b" not in out
    assert "\u202e" not in out and "\u200b" not in out and "\ud800" not in out
    assert "␛[2J" in out and "⟨U+202E⟩" in out and "⟨U+200B⟩" in out and "␇" in out and "␡" in out
    assert "[bold red]x[/]" in out  # markup is not the sanitizer's business: it stays text
    assert visible("a\nb\tc") == "a\nb\tc"
    assert visible_line("a\nb\tc") == "a␊b␉c"


async def test_markup_and_escapes_show_literally_in_every_pane():
    evs = message_stream(HOSTILE, model="[bold]gpt[/] \x1b[5m", instructions="[/x] \x1b]0;title\x07")
    app = make_app(sse(evs), instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert app.is_running  # no MarkupError took it down
        text = screen_text(app)
        assert "[bold red]x[/]" in text  # message pane, literally
        assert "␛[2J" in text
        assert "⟨U+202E⟩" in text
        assert "[bold]gpt[/]" in text  # response pane
        segments = "".join(screen_segment_texts(app))
        for bad in ("\x1b", "\x07", "\u202e", "\u200b", "\x9b", "\x7f"):
            assert bad not in segments, repr(bad)
        # the detail of a hostile delta, and the message time-travelled to it
        app.query_one(EventList).select(8)  # the OSC 52 clipboard write
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "time travel @ #8" in text
        assert "␛]52;c;aGVsbG8=␇" in text  # the message as of that event
        assert "\\u001b]52;c;aGVsbG8=\\u0007" in text  # the event's JSON, escaped as JSON escapes it
        segments = "".join(screen_segment_texts(app))
        assert "\x1b" not in segments and "\x07" not in segments
        await pilot.press("m")  # the Markdown view too
        await pilot.pause(0.8)
        segments = "".join(screen_segment_texts(app))
        assert "\x1b" not in segments and "\u202e" not in segments
        assert app.is_running
        svg = app.export_screenshot()
        assert "\x1b" not in svg


def test_print_sanitizes_on_a_terminal_and_keeps_data_in_a_pipe(tmp_path):
    path = tmp_path / "hostile.sse"
    path.write_bytes(sse(message_stream(["a\x1b[2Jb"])))
    piped = subprocess.run([sys.executable, "-m", "streamview", "print", str(path)], capture_output=True, text=True)
    assert piped.returncode == 0
    assert piped.stdout == "a\x1b[2Jb\n"  # a pipe gets the data exactly
