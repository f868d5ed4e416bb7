"""What the Line-API widgets share (``widgets/lines.py``): strips that are not reference cycles, and scrollbars
drawn again only when their cells change."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
import random

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from streamview.widgets.lines import QuietScrollBar, fit, no_pinned_styles_caches, no_strip_cycles, thumb_span


def strip_of(*pieces: tuple[str, str | None]) -> Strip:
    return Strip([Segment(text, Style.parse(style) if style else None) for text, style in pieces])


def unreachable_after(make) -> int:
    """How many objects the collector finds unreachable once what ``make`` built is dropped (cycles only: what
    reference counting frees is gone before it looks)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        make()
        return gc.collect()
    finally:
        if enabled:
            gc.enable()


def test_a_strip_cut_at_its_own_end_is_not_a_cycle():
    no_strip_cycles()
    no_strip_cycles()  # idempotent: one wrapper, not two

    def make():
        strip = strip_of(("hello ", "bold"), ("world", None))
        assert strip.divide([strip.cell_length]) == [strip]
        assert strip.divide([strip.cell_length, strip.cell_length + 4]) == [strip]  # cuts past the end dropped

    assert unreachable_after(make) == 0
    assert getattr(Strip.divide, "_no_cycles", False)


def test_other_cuts_divide_as_textual_does():
    no_strip_cycles()
    original = Strip.divide.original  # Textual's own
    rng = random.Random(7)
    for _ in range(200):
        strip = strip_of(*[("x" * rng.randint(1, 6), rng.choice(["bold", "red", None])) for _ in range(rng.randint(1, 6))])
        n = strip.cell_length
        cuts = sorted(set(rng.randint(1, n) for _ in range(rng.randint(1, 4)))) + [n]
        mine = strip.divide(cuts)
        theirs = original(Strip(list(strip), n), cuts)
        assert [list(s) for s in mine] == [list(s) for s in theirs]
        assert [s.cell_length for s in mine] == [s.cell_length for s in theirs]


def test_fit_crops_or_pads_like_crop_extend_and_makes_no_cycle():
    pad = Style.parse("on blue")
    for width in (3, 11, 20):
        strip = strip_of(("hello ", "bold"), ("world", None))
        assert list(fit(strip, width, pad)) == list(strip_of(("hello ", "bold"), ("world", None)).crop_extend(0, width, pad))
        assert fit(strip, width, pad).cell_length == width

    def make():
        strip = strip_of(("hello ", "bold"), ("world", None))
        assert fit(strip, strip.cell_length, pad) is strip

    assert unreachable_after(make) == 0


def test_crop_extend_to_its_own_length_is_the_cycle_fit_avoids():
    """The premise: Textual caches a strip in itself when asked for what it already is. If a Textual release stops
    doing that, ``fit`` is still right, only no longer needed."""

    def make():
        strip = strip_of(("abc", None))
        assert strip.crop_extend(0, 3, None) is strip

    assert unreachable_after(make) > 0


def test_a_widgets_style_cache_goes_with_it_and_the_colours_are_textuals():
    import weakref

    from textual._styles_cache import StylesCache
    from textual.color import Color

    no_pinned_styles_caches()
    no_pinned_styles_caches()  # idempotent: one wrapper, not two
    original = StylesCache.get_inner_outer.original  # Textual's own: an lru_cache keyed by the instance too
    colours = [(Color(10, 20, 30), Color(200, 100, 0, 0.5)), (Color(0, 0, 0), Color(255, 255, 255)),
               (Color(1, 2, 3, 0.25), Color(9, 8, 7, 0.75))]
    cache = StylesCache()
    gone = weakref.ref(cache)
    for base, background in colours:
        assert cache.get_inner_outer(base, background) == original.__wrapped__(None, base, background)
    del cache
    gc.collect()
    assert gone() is None

    # the premise: Textual's keeps it (if a release stops doing that, the wrapper is still right, only not needed)
    cache = StylesCache()
    kept = weakref.ref(cache)
    original(cache, *colours[0])
    del cache
    gc.collect()
    try:
        assert kept() is not None
    finally:
        original.cache_clear()
    gc.collect()
    assert kept() is None


async def test_the_widgets_of_a_closed_screen_leave_no_style_cache_behind(seed_o4):
    """The help screen is opened and closed in a running app: once it has gone, none of its widgets' style caches
    (and the lines they drew) is left."""
    import weakref

    from tests.conftest import make_app, wait_until

    app = make_app(seed_o4, instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        help_screen = app.screen
        assert type(help_screen).__name__ == "HelpScreen"
        caches = [weakref.ref(w._styles_cache) for w in help_screen.walk_children(with_self=True)]
        assert len(caches) > 1
        help_screen = None
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ != "HelpScreen"
    app = None
    gc.collect()
    assert [ref for ref in caches if ref() is not None] == []


class Bar:
    """What ``thumb_span`` reads of a ``ScrollBarRender``."""

    from textual.scrollbar import ScrollBarRender

    VERTICAL_BARS = ScrollBarRender.VERTICAL_BARS
    HORIZONTAL_BARS = ScrollBarRender.HORIZONTAL_BARS

    def __init__(self, virtual_size, window_size, position, vertical=True):
        self.virtual_size, self.window_size, self.position, self.vertical = virtual_size, window_size, position, vertical


def test_the_thumb_span_is_where_the_bar_draws_it():
    from textual.geometry import Size
    from textual.scrollbar import ScrollBarRender

    size = Size(1, 40)
    # a list that grows at its end: a few hundred rows in, the thumb stops moving between frames
    spans = {thumb_span(Bar(rows, 40, rows - 40), size) for rows in range(5_000, 5_100)}
    assert len(spans) == 1
    assert thumb_span(Bar(100, 40, 0), size) != thumb_span(Bar(100, 40, 30), size)  # a small list's thumb moves
    assert thumb_span(Bar(40, 40, 0), size) is None  # everything fits: no thumb
    # the same cells exactly when the stock renderer draws the same segments
    for a, b in [((1000, 40, 960), (1001, 40, 961)), ((100, 40, 0), (100, 40, 30)), ((5000, 40, 100), (5000, 40, 101))]:
        same_span = thumb_span(Bar(*a), size) == thumb_span(Bar(*b), size)
        same_cells = ScrollBarRender.render_bar(40, *a).segments == ScrollBarRender.render_bar(40, *b).segments
        assert same_span == same_cells


@asynccontextmanager
async def replayed_list(words: int, size: tuple[int, int]):
    """An App that has replayed a stream of ``words`` deltas: (pilot, its events list, the list's scrollbar)."""
    from tests.conftest import make_app, message_stream, sse, wait_until
    from streamview.widgets.event_list import EventList

    app = make_app(sse(message_stream([f"w{i} " for i in range(words)])), instant=True)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.2)
        events = app.query_one(EventList)
        bar = events.vertical_scrollbar
        assert isinstance(bar, QuietScrollBar)
        yield pilot, events, bar


async def test_the_panes_scrollbars_are_quiet_and_follow_the_list():
    async with replayed_list(300, (120, 30)) as (pilot, events, bar):
        drawn = bar._drawn
        assert drawn is not None  # it drew through the quiet path
        events.focus()
        await pilot.press("home")  # the first event: the thumb moves to the top, its cells are drawn again
        await pilot.pause(0.2)
        assert bar.position == 0
        assert bar._drawn is not drawn and bar._drawn[0] != drawn[0]


async def test_a_moved_thumb_is_drawn_from_the_rows_already_drawn_exactly_as_textual_draws_it():
    """Every position of the thumb, and the bar hovered: the quiet bar's lines are Textual's own, cell for cell,
    and once each kind of cell has been drawn, a moved thumb makes no render of the whole bar."""

    from textual.geometry import Region
    from textual.scrollbar import ScrollBar

    async with replayed_list(600, (100, 24)) as (_, events, bar):
        whole = []  # the renders of the whole bar Textual made
        stock = ScrollBar.render_lines

        def counted(self, crop):
            whole.append(crop)
            return stock(self, crop)

        rng = random.Random(7)
        positions = list(range(0, round(events.max_scroll_y) + 1)) + rng.sample(range(round(events.max_scroll_y)), 50)
        ScrollBar.render_lines = counted  # (QuietScrollBar's super() call goes through it)
        try:
            for hover in (False, True):
                bar.mouse_over = hover
                for y in positions:
                    events.scroll_to(y=y, animate=False, immediate=True)
                    crop = Region(0, 0, bar.size.width, bar.size.height)
                    quiet = bar.render_lines(crop)
                    before = len(whole)
                    assert quiet == stock(bar, crop), (hover, y)
                    del whole[before:]  # (the comparison's own render)
        finally:
            ScrollBar.render_lines = stock
        # a few renders of the whole bar: the first of each kind of cell (an end in eighths, hovered or not), not
        # one for each of the hundreds of positions
        assert 0 < len(whole) < 40, len(whole)


@asynccontextmanager
async def replayed_panes(deltas: list[str], size: tuple[int, int]):
    """An App that has replayed one message of ``deltas``: (pilot, app, its events list, its message text)."""
    from tests.conftest import make_app, message_stream, sse, wait_until
    from streamview.widgets.event_list import EventList
    from streamview.widgets.message_text import MessageText

    app = make_app(sse(message_stream(deltas)), instant=True)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.player.finished)
        await pilot.pause(0.2)
        yield pilot, app, app.query_one(EventList), app.query_one(MessageText)


def textuals_lines(widget, crop):
    """What Textual's own ``Widget.render_lines`` (its ``StylesCache``) draws of ``widget``, from scratch."""
    from textual.widget import Widget

    widget._styles_cache.clear()
    return Widget.render_lines(widget, crop)


MIXED = ["plain ", "日本語の文 ", "emoji 🎉🎉 ", "tab\there ", "a" * 90 + " ", "ünïcödé ", "end\n", "next line "]


async def test_the_panes_lines_are_textuals_own_segment_for_segment():
    """The events pane and the message text (padded left and right) draw through ``plain_lines``: at every scroll
    position tried, and for crops of part of their rows and columns, the same segments as Textual's ``StylesCache``
    draws, each line as long; and a line drawn again unchanged is the same strip, not a new one."""
    from textual.geometry import Region

    from streamview.widgets.lines import plain_inner

    async with replayed_panes([MIXED[i % len(MIXED)] for i in range(400)], (120, 30)) as (pilot, app, events, text):
        assert plain_inner(events) is not None and plain_inner(text) is not None  # (else this compares nothing new)
        assert plain_inner(text)[1:] == (1, 1)  # the message text's padding: one cell each side
        for widget in (events, text):
            width, height = widget.region.size
            crops = [Region(0, 0, width, height), Region(0, 3, width, 5), Region(7, 0, width - 20, height), Region(2, 1, 9, 4)]
            top = round(widget.max_scroll_y)
            for y in sorted({0, 1, top // 3, top // 2, top - 1, top}):
                widget.scroll_to(y=y, animate=False, immediate=True)
                for crop in crops:
                    mine = widget.render_lines(crop)
                    theirs = textuals_lines(widget, crop)
                    assert [list(s) for s in mine] == [list(s) for s in theirs], (type(widget).__name__, y, crop)
                    assert [s.cell_length for s in mine] == [s.cell_length for s in theirs]
            whole = Region(0, 0, width, height)
            first, again = widget.render_lines(whole), widget.render_lines(whole)
            assert all(a is b for a, b in zip(first, again)), type(widget).__name__


async def test_a_pane_with_a_border_is_drawn_by_textual():
    """What ``plain_lines`` does not draw (a border here) is left to Textual's ``StylesCache``, as before."""
    from textual.geometry import Region

    from streamview.widgets.lines import plain_inner

    async with replayed_panes(["a few words "] * 30, (100, 24)) as (pilot, app, events, text):
        events.styles.border = ("round", "red")
        await pilot.pause(0.2)
        assert plain_inner(events) is None
        crop = Region(0, 0, *events.region.size)
        lines = events.render_lines(crop)
        assert "╭" in "".join(seg.text for seg in lines[0])  # the border's corner, drawn by Textual
        assert [list(s) for s in lines] == [list(s) for s in textuals_lines(events, crop)]


async def test_an_event_row_is_the_rich_text_it_replaced_cell_for_cell():
    """``row_segments`` against what the pane drew before (``row_text``, truncated with an ellipsis and padded,
    the cursor's style over it, rendered by Rich and put on the pane's style): the same character in the same
    style in every cell, for every event of a stream with wide characters and long rows, at widths from one that
    cuts the time column to one with room to spare, selected or not, in the selected item or not, with an
    anomaly or not."""
    from rich.console import Console

    from streamview.checks import Anomaly
    from streamview.render import row_layout
    from streamview.widgets.event_list import STYLE_CURSOR, row_segments, row_text
    from streamview.widgets.theme import pane_styles

    def cells(segments):
        return [(ch, seg.style) for seg in segments for ch in seg.text]

    async with replayed_panes([MIXED[i % len(MIXED)] for i in range(40)], (120, 30)) as (pilot, app, events, text):
        session, styles, base = events.session, pane_styles(app), events.rich_style
        console = Console(width=400, color_system="truecolor")
        note = Anomaly("a-rule", 3, 3, "a note about 日本語 " * 4, severity="warning")
        error = Anomaly("b-rule", 5, 5, "an error", severity="error")
        compared = cut = 0
        for width in (8, 20, 37, 60, 91, 150):
            for index in range(len(session.events)):
                ev, prev = session.events[index], session.events[index - 1] if index else None
                layout = row_layout(width, session.numbered, session.longest_label)
                for marks in ((), (note,), (note, error)):
                    for selected, related in ((False, False), (True, False), (False, True)):
                        text = row_text(session.describe(index), ev, prev, marks, related, layout, styles)
                        cut += text.cell_len > width
                        text.truncate(width, overflow="ellipsis", pad=True)
                        if selected:
                            text.stylize(STYLE_CURSOR)
                        old = fit(Strip(list(text.render(console, end="")), width), width, base).apply_style(base)
                        new = row_segments(session.describe(index), ev, prev, marks, related, layout, styles, width,
                                           selected, base)
                        assert cells(new) == cells(old), (width, index, marks, selected, related)
                        assert Strip(new).cell_length == width
                        compared += 1
        assert compared > 500 and cut > 100  # rows cut with an ellipsis, and rows that fit, both compared
