"""Behaviour of the App under Pilot: every key of the replay, detail and time travel, help, quit."""

from __future__ import annotations

import os
import subprocess
import sys

from textual.widgets import ContentSwitcher, Markdown

from tests.conftest import SEED_NANO, SEED_O4, make_app, screen_text, wait_until
from streamview.tui.help import HelpScreen
from streamview.widgets.event_list import EventList
from streamview.widgets.message_view import MessageView

O4_TEXT = "Hello there! How can I assist you today?"


async def test_replay_streams_and_ends_with_all_panes_filled():
    app = make_app(SEED_O4)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: 0 < len(app.model.events) < 20)
        assert not app.player.finished  # it streams: not everything at once
        await wait_until(pilot, lambda: app.player.finished)
        text = screen_text(app)
        assert O4_TEXT in text
        assert "o4-mini-2025-04-16" in text
        assert "20/20 events" in text
        assert "completed" in text
        assert app.query_one(EventList).count == 20
        assert O4_TEXT in app.query_one(MessageView).text_view.text


async def test_space_pauses_and_resumes():
    app = make_app(SEED_O4)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.model.events) >= 3)
        await pilot.press("space")
        assert app.player.paused
        held = len(app.model.events)
        await pilot.pause(0.4)
        assert len(app.model.events) == held
        assert "paused" in screen_text(app)
        await pilot.press("space")
        assert not app.player.paused
        await wait_until(pilot, lambda: app.player.finished)
        assert len(app.model.events) == 20


async def test_n_steps_one_event_at_a_time():
    app = make_app(SEED_O4, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert app.model.events == []
        for expected in (1, 2, 3):
            await pilot.press("n")
            await wait_until(pilot, lambda: len(app.model.events) == expected)
        await pilot.pause(0.3)
        assert len(app.model.events) == 3
        assert app.query_one(EventList).count == 3
        assert "3/20 events" in screen_text(app)


async def test_plus_and_minus_change_speed():
    app = make_app(SEED_O4, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert app.player.speed == 2.0
        await pilot.press("plus", "plus")
        assert app.player.speed == 8.0
        await pilot.press("minus", "minus", "minus", "minus")
        assert app.player.speed == 0.5
        await pilot.pause(0.1)
        assert "0.5x" in screen_text(app)


async def test_e_jumps_to_the_end():
    app = make_app(SEED_O4, speed=0.1)  # 20 events would take 15 s at this speed
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.model.events) >= 1)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.player.finished, timeout=3)
        assert len(app.model.events) == 20
        assert O4_TEXT in app.query_one(MessageView).text_view.text


async def test_r_restarts_from_the_first_event():
    app = make_app(SEED_NANO, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        assert "Hello, test!" in app.query_one(MessageView).text_view.text
        app.player.instant = False
        app.player.paused = True
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.model.events == []
        assert app.query_one(EventList).count == 0
        assert "Hello, test!" not in app.query_one(MessageView).text_view.text
        await pilot.press("space")
        await wait_until(pilot, lambda: app.player.finished)
        assert len(app.model.events) == 12
        assert "Hello, test!" in app.query_one(MessageView).text_view.text


async def test_enter_shows_detail_and_time_travels_escape_returns_live():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        events = app.query_one(EventList)
        events.focus()
        # event 9 is the delta " How": the message as of it is "Hello there! How"
        await pilot.press("home")
        for _ in range(9):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.travel == 9
        ta = app.query_one(MessageView).text_view
        assert "Hello there! How" in ta.text
        assert "Hello there! How can" not in ta.text
        assert ta.selected_text == " How"  # that event's contribution is highlighted
        assert app.query_one("#right", ContentSwitcher).current == "detail"
        text = screen_text(app)
        assert '"delta": " How"' in text
        assert "time travel @ #9" in text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.travel is None
        assert app.query_one("#right", ContentSwitcher).current == "response"
        assert O4_TEXT in app.query_one(MessageView).text_view.text


async def test_following_stops_when_the_user_moves_and_e_follows_again():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        events = app.query_one(EventList)
        assert events.follow
        assert events.scroll_y == events.max_scroll_y > 0  # the end of the stream is in view
        await pilot.press("home")
        assert not events.follow
        assert events.scroll_y == 0
        await pilot.press("end")
        assert events.follow


async def test_m_toggles_markdown_and_raw():
    app = make_app(SEED_NANO, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        view = app.query_one(MessageView)
        await pilot.press("m")
        await pilot.pause(0.3)
        assert view.markdown_mode
        assert view.has_class("markdown")
        assert app.query_one("#markdown-scroll").styles.display == "block"
        assert view.text_view.styles.display == "none"
        assert "Hello, test!" in app.query_one(Markdown).source
        await pilot.press("m")
        assert not view.markdown_mode
        assert not view.has_class("markdown")


async def test_question_mark_shows_help_and_escape_closes_it():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in ("space", "Replay from the first event", "Markdown", "time-travel"):  # the help's own lines
            assert key in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        await pilot.pause(0.1)
    assert app.return_code == 0
    assert not app.is_running


async def test_footer_and_palette_offer_the_actions():
    app = make_app(SEED_O4, paused=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: "Quit" in screen_text(app))
        text = screen_text(app)
        for label in ("Pause", "Step", "Faster", "Slower", "End", "Restart", "Markdown", "Help", "Quit"):
            assert label in text
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for label in ("Pause", "Step", "Restart", "Markdown"):
            assert label in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Step")
        from textual.command import CommandList

        await wait_until(pilot, lambda: app.screen.query(CommandList) and app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.model.events) == 1)


FIXTURE_FILES = sorted((SEED_O4.parent.parent.parent / "tests" / "fixtures" / "responses").glob("*.sse"))


import pytest  # noqa: E402


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
async def test_every_fixture_replays_into_the_panes(path):
    """Function calls, reasoning summaries, refusals, incomplete and failed streams all reach the message pane."""
    from streamview.protocols.responses.assemble import assemble
    from streamview.sanitize import visible
    from streamview.source import read_events

    with open(path, "rb") as fp:
        expected = assemble(read_events(fp)[0])
    app = make_app(path, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        shown = app.query_one(MessageView).text_view.text
        for item in expected.ordered_items():
            assert item.type in shown
            for block in item.blocks.values():
                first_line = visible(block.text).split("\n")[0].strip()
                if block.kind not in ("arguments", "input"):  # those are shown pretty-printed
                    assert first_line in shown, (item.type, block.kind)
        if expected.status:
            assert expected.status in screen_text(app)
        if expected.error:
            assert "── error" in shown


# -- anomalies, filters, search (issue 4) ------------------------------------------------------------------------

def _broken_seed() -> bytes:
    """The o4 seed with the event of seq 8 removed and the output_text.done text corrupted: two anomalies."""
    blocks = SEED_O4.read_bytes().split(b"\n\n")[:-1]
    del blocks[8]
    blocks[15] = blocks[15].replace(b"assist you today", b"assist you tomorrow")
    return b"\n\n".join(blocks) + b"\n\n"


async def test_a_and_shift_a_walk_the_anomalies():
    app = make_app(_broken_seed(), instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        marks = sorted(app.model.marks())
        assert [a.rule for i in marks for a in app.model.marks()[i]] == ["seq-gap", "done-mismatch"]
        text = screen_text(app)
        assert "! 2 anomalies" in text and "seq-gap ×1" in text
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.travel == marks[0] and app.query_one(EventList).cursor == marks[0]
        assert "seq-gap" in screen_text(app)
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.travel == marks[1]
        await pilot.press("a")  # wraps around
        await pilot.pause(0.1)
        assert app.travel == marks[0]
        await pilot.press("A")
        await pilot.pause(0.1)
        assert app.travel == marks[1]


async def test_f_cycles_filters_and_selection_highlights_the_item():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        events = app.query_one(EventList)
        await pilot.press("f")
        assert events.filter_name == "no deltas"
        assert events.row_count == 10 and all(not app.model.is_delta(i) for i in events.rows)
        assert "filter: no deltas (10 of 20)" in screen_text(app)
        await pilot.press("home", "down", "down", "down", "down")  # event 4: output_item.added of the message
        assert events.cursor == 4
        assert events._related_key == 1  # the message's output_index: its rows are highlighted
        await pilot.press("f")
        assert events.filter_name == "output item 1"
        assert events.rows == list(range(4, 19))
        await pilot.press("f")
        assert events.filter_name == "anomalies" and events.rows == []
        await pilot.press("f")
        assert events.filter_name == "all" and events.rows is None


async def test_slash_searches_event_payloads():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.press("slash")
        await pilot.press(*"today")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.travel == 14  # the delta " today"
        await pilot.press("enter")  # the next match
        await pilot.pause(0.1)
        assert app.travel == 16  # output_text.done holds "today" too
        await pilot.press("escape")  # closes the search box
        await pilot.press("escape")  # back to live
        assert app.travel is None


async def test_anomalies_are_marked_as_they_arrive():
    app = make_app(_broken_seed(), paused=True)
    async with app.run_test(size=(200, 50)) as pilot:
        for _ in range(9):
            await pilot.press("n")
        await wait_until(pilot, lambda: app.query_one(EventList).count == 9)
        text = screen_text(app)
        assert "seq-gap" in text and "1 error(s)" in text
        assert not any(a.rule == "done-mismatch" for a in app.model.anomalies)


async def test_the_key_bar_lists_the_keys_and_a_click_runs_one():
    from streamview.tui.keybar import KeyBar

    app = make_app(SEED_O4, paused=True)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause(0.1)
        bar = app.query_one(KeyBar)
        shown = str(bar.content)
        for label in ("space Pause", "n Step", "a Next anomaly", "q Quit", "^p palette"):
            assert label in shown
        x = shown.index("space Pause")
        assert app.player.paused
        await pilot.click(KeyBar, offset=(x + 2, 0))
        assert not app.player.paused  # the click ran the key's action
        await pilot.click(KeyBar, offset=(shown.index("n Step") + 1, 0))
        assert app.player.paused  # step pauses


async def test_y_copies_the_selected_event_json_or_the_focused_pane():
    import json as _json

    from streamview.widgets.message_view import MessageView
    from streamview.widgets.response_view import ResponseView

    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.press("y")  # nothing selected yet
        assert app.clipboard == ""
        await pilot.press("home")
        await pilot.press("down", "down")
        index = app.query_one(EventList).cursor
        await pilot.press("y")
        assert _json.loads(app.clipboard) == app.model.events[index].payload
        assert app.clipboard.startswith("{\n  ")  # pretty, as the detail shows it
        app.query_one(MessageView).text_view.focus()
        await pilot.press("y")
        assert app.clipboard == "Hello there! How can I assist you today?"
        app.query_one(ResponseView).focus()
        await pilot.press("y")
        assert "resp_687937d6852c819199d18805b160d13e0d28eb600b6e01a0" in app.clipboard and "o4-mini-2025-04-16" in app.clipboard


async def test_a_filter_that_keeps_nothing_says_so():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        events = app.query_one(EventList)
        for _ in range(4):
            await pilot.press("f")
            if events.filter_name == "anomalies":
                break
        await pilot.pause(0.1)
        assert events.filter_name == "anomalies" and events.row_count == 0
        assert "no events match the filter: anomalies" in screen_text(app)


async def test_save_asks_where_with_a_default_and_says_the_absolute_path(tmp_path, monkeypatch):
    from textual.widgets import Input

    from streamview.tui.save import SavePrompt

    monkeypatch.chdir(tmp_path)
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert isinstance(app.screen, SavePrompt)
        box = app.screen.query_one(Input)
        assert box.value.startswith("streamview-") and box.value.endswith(".sse")
        await pilot.press("escape")  # cancelled: nothing written
        await pilot.pause(0.1)
        assert not isinstance(app.screen, SavePrompt) and list(tmp_path.iterdir()) == []
        (tmp_path / "run.sse").write_text("old")
        await pilot.press("s")
        await pilot.pause(0.1)
        app.screen.query_one(Input).value = "run.sse"
        await pilot.press("enter")  # exists: asks again
        await pilot.pause(0.1)
        assert isinstance(app.screen, SavePrompt) and "exists" in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: getattr(app, "saved_path", None) is not None)
        assert app.saved_path == str(tmp_path / "run.sse")
        assert (tmp_path / "run.sse").read_text().startswith(": streamview transcript")
        assert any(n.message == f"saved 20 events to {tmp_path / 'run.sse'}" for n in app._notifications)  # the toast


async def test_a_theme_switch_repaints_every_pane_and_is_kept(tmp_path):
    import json as _json

    from streamview.tui import settings
    from streamview.widgets.theme import pane_styles

    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.press("home")
        await pilot.press("down")
        dark_rows = [app.query_one(EventList).render_line(y) for y in range(6)]
        app.theme = "textual-light"
        await pilot.pause(0.3)
        light = pane_styles(app)
        light_rows = [app.query_one(EventList).render_line(y) for y in range(6)]
        assert [s.text for s in light_rows] == [s.text for s in dark_rows]  # the same rows, in new colours
        assert [list(s) for s in light_rows] != [list(s) for s in dark_rows]
        # the related rows are readable on a light theme: their background is light, their text dark
        related = light["related"]
        assert related.bgcolor.triplet is not None and sum(related.bgcolor.triplet) > 3 * 160
        assert sum(related.color.triplet) < 3 * 100
    assert _json.loads(settings.path().read_text())["theme"] == "textual-light"
    app = make_app(SEED_O4, instant=True)  # the next run starts in the chosen theme
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert app.theme == "textual-light"


def test_every_builtin_theme_gives_readable_row_colours():
    from textual.app import App

    from streamview.widgets.theme import _contrast, pane_styles
    from textual.color import Color

    app = App()
    checked = 0
    for name in app.available_themes:
        if name.startswith("ansi-"):
            continue  # ANSI themes name the terminal's own palette: no colour to measure
        checked += 1
        app.theme = name
        theme = app.current_theme
        background = Color.parse(theme.background or ("#121212" if theme.dark else "#efefef"))
        styles = pane_styles(app)
        for key in ("note", "item", "problem", "lifecycle", "good", "bad", "warn"):
            color = styles[key].color.triplet
            assert _contrast(Color(*color), background) >= 2.9, (name, key)
    assert checked >= 15


async def test_the_palette_offers_one_help():
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
    assert "Keys" not in titles and titles.count("Help") == 1


def test_the_timeline_scale_starts_at_zero():
    import io
    from textual.renderables.sparkline import Sparkline as Bars

    from streamview.tui.app import zero_based

    from rich.console import Console

    def drawn(data, width):
        console = Console(width=width, file=io.StringIO(), color_system=None)
        with console.capture() as cap:
            console.print(Bars(data, width=width))
        return cap.get().strip("\n")

    steady = [3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]  # a steady stream: one slice got one event more
    bars = drawn(zero_based(steady, 40), 40)
    assert len(bars) == 40 and "▁" not in bars  # no slice draws as empty: the floor is 0, not 2
    assert zero_based([], 40) == []
    assert drawn(zero_based([0, 5, 0], 30), 30).count("█") == 10  # an empty slice is still empty


async def test_the_response_and_detail_panes_can_be_selected_with_the_mouse():
    from textual.selection import SELECT_ALL
    from textual.widgets import Static

    from streamview.widgets.response_view import ResponseView

    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.4)
        body = app.query_one(ResponseView).query_one("#response-body", Static)
        assert body.allow_select
        selected = body.get_selection(SELECT_ALL)
        assert selected is not None, "the response pane's text cannot be selected"
        text = selected[0]
        lines = text.splitlines()
        width = app.query_one(ResponseView).scrollable_content_region.width
        assert all(len(line) <= width for line in lines), (width, [l for l in lines if len(l) > width])
        spaced = " ".join(line.strip() for line in lines)
        assert "completed" in spaced and "18 (0 cached)" in spaced  # wrapped at spaces
        joined = "".join(line.strip() for line in lines)
        assert "resp_687937d6852c819199d18805b160d13e0d28eb600b6e01a0" in joined  # a long id, cut across lines
        assert "o4-mini-2025-04-16" in joined
        await pilot.press("home", "enter")  # the detail of event #0: its JSON
        await pilot.pause(0.2)
        from streamview.widgets.detail_view import DetailView

        detail = app.query_one(DetailView)
        selected = detail.query_one("#detail-body", Static).get_selection(SELECT_ALL)
        assert selected is not None, "the detail pane's text cannot be selected"
        lines = selected[0].splitlines()
        json_lines = lines[lines.index("{"):]
        dwidth = detail.size.width
        assert all(len(line) <= dwidth for line in json_lines), [l for l in json_lines if len(l) > dwidth]
        at = next(i for i, line in enumerate(json_lines) if '"id":' in line)  # the long id continues indented
        assert json_lines[at + 1].startswith("    ") and json_lines[at + 1].strip()


async def test_the_message_panes_pieces_read_back_what_it_appended_while_the_text_grew():
    """The growing block's text is not kept twice: what the pane appended frame by frame is read back from the
    block's chunks when its pieces are read, and equals what the text pane shows and what the state renders."""
    from streamview.render import render_document
    from tests.conftest import message_stream, sse

    deltas = [f"word{i} \u65e5\t\x1b " if i % 7 == 0 else f"w{i} " for i in range(400)]
    app = make_app(sse(message_stream(deltas)), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(MessageView)
        for target in (60, 61, 150, 300):
            while len(app.model.events) < target:
                app.player.step()
                await pilot.pause(0.01)
            await pilot.pause(0.15)  # a frame: the pane appended what arrived
            assert view._pending is not None  # the appended text is not held as text here
            assert "".join(view._pieces) == view.text_view.text == "".join(render_document(app.model.state)[0])
            assert view._pending is None
        app.player.to_end()
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.2)
        assert "".join(view._pieces) == view.text_view.text == "".join(render_document(app.model.state)[0])


async def test_the_heap_is_frozen_while_events_arrive_and_swept_when_due(monkeypatch):
    """While events arrive the App freezes the heap (short collector passes, no automatic full ones); a second
    after they stop what was made since the last freeze is collected and frozen; and once ``SWEEP_EVERY`` has
    passed, at a quiet moment, the freezes are undone and the whole heap collected, so garbage alive at a freeze
    does not stay for ever. The collector's thresholds are the process's own again once the app has gone."""
    import gc

    from streamview.tui import app as app_module

    before = gc.get_threshold()
    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        assert gc.get_threshold()[2] == app_module.GC_FULL_NEVER
        await wait_until(pilot, lambda: app.player.finished)
        assert app._young and gc.get_freeze_count() > 0  # frozen while the events came
        swept = app._swept_time
        await wait_until(pilot, lambda: not app._young, timeout=5)  # quiet: the young collected
        assert app._swept_time == swept and gc.get_freeze_count() > 0  # and no sweep yet: not due
        monkeypatch.setattr(app_module, "SWEEP_EVERY", 0.5)
        await wait_until(pilot, lambda: app._swept_time > swept, timeout=5)  # due: swept at a quiet moment
    assert gc.get_threshold() == before


async def test_moving_the_cursor_draws_the_rows_it_leaves_and_reaches():
    """A cursor move within an item draws only its old and new rows again; what the screen shows must still be
    right: one reversed row, the cursor's, and the rest of the item highlighted as related."""
    from tests.conftest import message_stream, sse

    app = make_app(sse(message_stream([f"w{i} " for i in range(30)])), instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        events = app.query_one(EventList)
        events.focus()
        await pilot.press("home")
        for _ in range(6):
            await pilot.press("down")
        await pilot.pause(0.1)
        region, top = events.content_region, round(events.scroll_y)

        def reversed_rows() -> list[int]:
            return [row for row in range(top, min(events.row_count, top + region.height))
                    if app.screen.get_style_at(region.x + 3, region.y + row - top).reverse]

        assert events.cursor == 6 and reversed_rows() == [6]
        await pilot.press("up")
        await pilot.pause(0.1)
        assert events.cursor == 5 and reversed_rows() == [5]
        related = events.session.key_of(5)
        assert related is not None and events.session.key_of(6) == related  # a move within one item


async def _frames_on_a_fake_clock(app, pilot, monkeypatch) -> tuple[list[float], list[str]]:
    """Once ``app`` has played its stream: the App's clock made a list to move by hand (10 s after its last frame),
    and a list that each frame's drawing of the events and of the message notes itself in."""
    import types

    from streamview.tui import app as app_mod

    await wait_until(pilot, lambda: app.player.finished)
    await pilot.pause(0.2)
    clock = [app._drawn_at + 10.0]
    monkeypatch.setattr(app_mod, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    drawn: list[str] = []
    sync, live = app._events.sync, app._message_view.update_live
    monkeypatch.setattr(app._events, "sync", lambda n: (drawn.append("events"), sync(n)))
    monkeypatch.setattr(app._message_view, "update_live", lambda *a: (drawn.append("message"), live(*a)))
    return clock, drawn


async def test_a_file_loading_at_full_speed_is_drawn_half_the_panes_at_a_time(monkeypatch):
    """While a file loads at full speed, a frame brings either the events' half of the panes (the list, the header,
    the timeline, the status) or the message and the response up to date, in turn, LOADING_FRAME apart: no
    repaint holds the loop as long as all of them at once. At the end every pane is drawn in one frame."""
    from streamview.tui import app as app_mod

    app = make_app(SEED_O4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        clock, drawn = await _frames_on_a_fake_clock(app, pilot, monkeypatch)
        app.player.finished = False  # as if it were still loading (nothing awaits between the frames below)

        def frame(after: float) -> list[str]:
            clock[0] += after
            drawn.clear()
            app.render_frame()
            return list(drawn)

        assert frame(0.0) == ["events"]
        assert frame(0.0) == []  # too soon
        assert frame(app_mod.LOADING_FRAME + 0.001) == ["message"]
        assert frame(app_mod.LOADING_FRAME + 0.001) == []  # nothing new since: no frame
        app.player.speed = app.player.speed * 2  # something changed
        assert frame(app_mod.LOADING_FRAME + 0.001) == ["events"]
        app.player.finished = True
        assert frame(app_mod.MIN_GAP + 0.001) == ["events", "message"]


async def test_frames_come_half_as_often_while_events_pour_in(monkeypatch):
    """Events arriving faster than ``BUSY_RATE`` a second have the next frame wait ``BUSY_GAP`` (the loop reads
    meanwhile: 40 repaints a second left a 10,000 events/s stream behind), slower ones ``MIN_GAP``: a frame asked
    for sooner draws nothing, and the one after the gap draws every pane."""
    from streamview.tui import app as app_mod

    assert app_mod.BUSY_GAP > app_mod.MIN_GAP
    app = make_app(SEED_O4, pace=0.001)
    async with app.run_test(size=(120, 40)) as pilot:
        clock, drawn = await _frames_on_a_fake_clock(app, pilot, monkeypatch)
        n = len(app.model.events)

        def frame(after: float, new_events: int) -> list[str]:
            """A frame ``after`` seconds after the last one, as if ``new_events`` had come since the last drawn."""
            clock[0] += after
            app._drawn_n = n - new_events
            app.player.speed = app.player.speed * 2  # something changed: the frame has something to draw
            drawn.clear()
            app.render_frame()
            if app._frame_soon is not None:  # (the deferred frame, asked for on the real loop: not wanted here)
                app._frame_soon.cancel()
                app._frame_soon = None
            return list(drawn)

        both = ["events", "message"]
        assert frame(10.0, 1) == both  # one event in 10 s: the next frame may come MIN_GAP later
        gap = app_mod.MIN_GAP
        fast = int(app_mod.BUSY_RATE * 2 * (gap + 0.001))  # twice the busy rate over the gap
        assert frame(gap + 0.001, fast) == both  # drawn (the gap was MIN_GAP), and the rate is now high
        assert frame(gap + 0.001, 0) == []  # too soon: BUSY_GAP has not passed
        assert frame(app_mod.BUSY_GAP - gap, 0) == both  # BUSY_GAP after the last frame (none came since)
        slow = int(app_mod.BUSY_RATE / 2 * (gap + 0.001))  # half the busy rate
        assert frame(gap + 0.001, slow) == both  # MIN_GAP again: the last frame saw no new event
        assert frame(gap + 0.001, 0) == both  # and after one at half the busy rate, MIN_GAP still


def _repaint_period(env: dict) -> str:
    """What Textual's repaint timer and the environment look like after ``streamview.tui`` is imported, in a fresh
    interpreter (Textual reads ``TEXTUAL_FPS`` once, when it is first imported)."""
    code = ("import os, streamview.tui, textual.constants as c, textual.screen as s; "
            "print(c.MAX_FPS, round(s.UPDATE_PERIOD, 6), os.environ.get('TEXTUAL_FPS'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_screen_is_repainted_within_a_millisecond_of_a_frame_and_a_users_fps_is_kept():
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    # a repaint asked for waits for the timer's next tick: at most a millisecond, and the variable is not left set
    # for the processes the app starts
    assert _repaint_period(env) == "1000 0.001 None"
    assert _repaint_period({**env, "TEXTUAL_FPS": "30"}) == "30 0.033333 30"


async def test_the_status_lines_counts_are_drawn_a_few_times_a_second_and_the_last_ones_always(monkeypatch):
    """600 events played 2 ms apart (over a second): a status line that changes only in its counts is drawn at
    most every ``STATUS_EVERY`` seconds (it spans the screen: drawn each frame, it had Textual repaint the whole
    screen), a change of anything else at once (the phase, here), and once the stream has ended and gone quiet,
    the line shows the last counts exactly."""
    import time

    from streamview.tui import app as app_module
    from tests.conftest import make_app, message_stream, sse, wait_until

    app = make_app(sse(message_stream([f"w{i} " for i in range(592)])), pace=0.002)
    drawn: list[tuple[float, str]] = []
    async with app.run_test(size=(120, 30)) as pilot:
        status = app._status
        update = status.update

        def recorded(content, *args, **kwargs):
            drawn.append((time.monotonic(), str(content)))
            return update(content, *args, **kwargs)

        status.update = recorded
        await wait_until(pilot, lambda: app.player.finished, timeout=20)
        await pilot.pause(app_module.STATUS_EVERY + 0.2)
        total = len(app.model.events)
        assert total == 600
        assert f"{total:,} events" in drawn[-1][1] and "ended" in drawn[-1][1]  # the last counts, exactly
        # a count that changes just after a draw, and nothing after it: drawn once the interval has passed
        monkeypatch.setattr(type(app.player), "total", property(lambda self: 12_344))
        app._update_status()  # (drawn: the last draw was long enough ago)
        assert "/12,344 events" in str(status.render())
        monkeypatch.setattr(type(app.player), "total", property(lambda self: 12_345))
        app._update_status()
        assert "/12,345 events" not in str(status.render())  # (not yet: too soon after the last draw)
        await pilot.pause(app_module.STATUS_EVERY + 0.15)
        assert "/12,345 events" in str(status.render())
    import re

    def steady(text: str) -> str:  # the line but its counts (events, the rate)
        return re.sub(r"[\d,]+(/[\d,]+)? events|[\d,]+ ev/s", "#", text)

    counts_only = [t1 - t0 for (t0, a), (t1, b) in zip(drawn, drawn[1:]) if steady(a) == steady(b)]
    assert counts_only, drawn  # (the stream took long enough for counts to tick between draws)
    assert min(counts_only) >= app_module.STATUS_EVERY - 0.01, counts_only
    assert len(drawn) < 20, len(drawn)  # not one a frame: 600 events over a second and more at 40 frames a second


async def test_a_slow_streams_status_line_shows_every_count():
    """Events 80 ms apart (frames far apart): every count is drawn as it comes, so the status line agrees with the
    rows; only fast streams have their counts drawn a few times a second."""
    import re

    from tests.conftest import make_app, message_stream, sse, wait_until

    app = make_app(sse(message_stream([f"w{i} " for i in range(12)])), pace=0.08)
    counts: list[int] = []
    async with app.run_test(size=(120, 30)) as pilot:
        status = app._status
        update = status.update

        def recorded(content, *args, **kwargs):
            found = re.search(r"([\d,]+)(/[\d,]+)? events", str(content))
            if found:
                counts.append(int(found.group(1).replace(",", "")))
            return update(content, *args, **kwargs)

        status.update = recorded
        await wait_until(pilot, lambda: app.player.finished, timeout=20)
    total = len(app.model.events)
    assert total == 20
    shown = sorted(set(counts))
    # every one once the stream is under way, but where a busy machine drew two events in one frame (drawn every
    # 0.25 s, it would be one in three)
    assert shown[-1] == total and len([n for n in shown if n >= 5]) >= 0.8 * (total - 4), counts
