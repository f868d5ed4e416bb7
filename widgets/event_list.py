"""The raw events pane: a Line-API list over the model's own event list (toolong's LogLines pattern).

Only visible rows are rendered, each from the model, into an LRU-cached Strip. The list follows the end of the stream
until the user scrolls or moves the cursor, and says how many events arrived since then.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

import time
from bisect import bisect_left
from typing import Callable, Sequence

from streamview.checks import Anomaly
from streamview.events import StreamEvent
from streamview.protocols.base import Description
from streamview.render import EVENT_HEADER, RowLayout, event_header, event_row, row_layout

from .theme import pane_styles
from .lines import PassStyle, fit, set_virtual_size

HEADER = EVENT_HEADER

STYLE_CURSOR = Style(reverse=True)
SCAN_SLICE = 0.008  # seconds a filter's scan runs before the loop has its turn again


def row_text(desc: Description, ev: StreamEvent, prev: StreamEvent | None, anomalies: Sequence[Anomaly] = (),
             related: bool = False, layout: RowLayout = RowLayout(), styles: dict | None = None) -> Text:
    """One event as a row of text: ``render.event_row`` drawn (stream text sanitized there, never markup), in
    ``styles`` (``theme.pane_styles``: the app's theme)."""
    styles = styles or {}
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    for piece, style in event_row(desc, ev, prev, anomalies, related, layout):
        text.append(piece, styles.get(style))
    if related and styles.get("related") is not None:
        text.stylize(styles["related"])
    return text


def row_segments(desc: Description, ev: StreamEvent, prev: StreamEvent | None, anomalies: Sequence[Anomaly], related: bool,
                 layout: RowLayout, styles: dict, width: int, selected: bool, base: Style) -> list[Segment]:
    """``row_text`` as the pane draws it, ``width`` cells (cut with an ellipsis, or padded), the cursor's style over
    all of it when ``selected``, on the pane's own style ``base``: the same cells in the same styles as that text
    truncated, padded, styled, rendered and put on ``base`` (``Strip.apply_style``), made as segments directly, in
    half the time (at 1,000 events a second most rows on screen are new each frame)."""
    related_style = styles.get("related") if related else None
    spans = event_row(desc, ev, prev, anomalies, related, layout)
    total = 0
    for piece, _ in spans:
        total += cell_len(piece)
    room = width if total <= width else width - 1  # (cut: the last cell is the ellipsis, in the style it falls in)
    segments: list[Segment] = []
    used = 0
    for piece, name in spans:
        if not piece:
            continue
        style = styles.get(name)
        if related_style is not None:
            style = related_style if style is None else style + related_style
        if selected:
            style = STYLE_CURSOR if style is None else style + STYLE_CURSOR
        style = base if style is None else base + style
        n = cell_len(piece)
        if used + n <= room:
            segments.append(Segment(piece, style))
            used += n
            continue
        segments.append(Segment(set_cell_size(piece, room - used) + "\u2026", style))
        used = width
        break
    if used < width:  # the padding: the text's own style (none), the cursor's over it
        segments.append(Segment(" " * (width - used), base + STYLE_CURSOR if selected else base))
    return segments


class EventList(PassStyle, ScrollView, can_focus=True):
    """Rows are the events of a session (``sync(count)`` shows newly arrived ones), all of them or the ones a filter
    keeps; the cursor is an event index. Each row is drawn from the session's description of its event."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "follow", "Follow", show=False),
        Binding("enter", "select", "Detail", id="event.detail"),
    ]

    DEFAULT_CSS = """
    EventList { height: 1fr; overflow-x: hidden; }
    """

    cursor: reactive[int | None] = reactive(None, repaint=False)

    class Selected(Message):
        """The user chose an event (Enter or click): show its detail and time-travel to it."""

        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    class FollowChanged(Message):
        def __init__(self, follow: bool) -> None:
            self.follow = follow
            super().__init__()

    def __init__(self, session, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.events = session.events
        self.marks = session.marks
        self.count = 0
        self.follow = True
        self.new_since_detach = 0
        self.rows: list[int] | None = None  # event indexes a filter keeps (None: every event)
        self._scanned: int | None = None  # while a filter's scan runs: the events it has looked at
        self._scan_id = 0
        self.filter_name = "all"
        self._keep: Callable[[int], bool] | None = None
        self._cache: LRUCache[tuple, Strip] = LRUCache(512)  # rows on screen and near it: few objects for the GC

    # -- rows and events -----------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return self.count if self.rows is None else len(self.rows)

    def event_at(self, row: int) -> int:
        return row if self.rows is None else self.rows[row]

    def row_of(self, index: int) -> int | None:
        if self.rows is None:
            return index if index < self.count else None
        i = bisect_left(self.rows, index)
        return i if i < len(self.rows) and self.rows[i] == index else None

    # -- the model side ----------------------------------------------------------------------------------------
    def set_session(self, session) -> None:
        """Show another stream (the proxy's flows): its events, from the top, with no filter."""
        self.session = session
        self.marks = session.marks
        self.rows = None
        self.filter_name = "all"
        self._keep = None
        self.set_events(session.events)

    def set_events(self, events: list[StreamEvent]) -> None:
        self.events = events
        self.count = 0
        self.cursor = None
        self.follow = True
        self.new_since_detach = 0
        if self.rows is not None:
            self.rows = []
        self._scan_id += 1  # a filter's scan of the old events stops; the new ones are filtered as they come
        self._scanned = None
        self._cache.clear()
        set_virtual_size(self, Size(self.size.width, 0))
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_subtitle()
        self.refresh()

    def sync(self, count: int) -> None:
        """Show the events that arrived since the last frame (one call per frame)."""
        if count == self.count:
            return
        before = self.row_count
        if self.rows is not None and self._keep is not None and self._scanned is None:  # (a scan covers them)
            keep = self._keep
            self.rows.extend(i for i in range(self.count, count) if keep(i))
        self.count = count
        set_virtual_size(self, Size(self.size.width, self.row_count))
        if self.follow:
            self._scroll_to_end()
        else:
            self.new_since_detach += max(0, self.row_count - before)
            self._update_subtitle()
        self.refresh()

    def set_filter(self, name: str, keep: Callable[[int], bool] | None) -> None:
        """Show only the events whose index ``keep`` accepts (None: all of them). The cursor stays on its event if
        it can. The events are looked at a slice of time at a go (``_scan``), the loop answering keys in between
        (a million take a second), the rows found so far shown and the progress in the subtitle; a new filter
        stops the scan."""
        self.filter_name = name
        self._keep = keep
        self._scan_id += 1
        self._cache.clear()
        if keep is None:
            self.rows, self._scanned = None, None
            self._filtered()
            return
        self.rows, self._scanned = [], 0
        self._scan(self._scan_id)

    def _scan(self, scan_id: int) -> None:
        if scan_id != self._scan_id or self._scanned is None or not self.is_attached:
            return  # another filter since, or no filter
        keep, rows, i = self._keep, self.rows, self._scanned
        until = time.perf_counter() + SCAN_SLICE
        while i < self.count:
            stop = min(self.count, i + 2_000)
            rows.extend(j for j in range(i, stop) if keep(j))
            i = stop
            if time.perf_counter() >= until:
                break
        self._scanned = i
        if i < self.count:
            set_virtual_size(self, Size(self.size.width, self.row_count))
            self._update_subtitle()
            self.refresh()
            self.set_timer(0.001, lambda: self._scan(scan_id))  # the rest after the loop has had its turn
            return
        self._scanned = None
        self._filtered()

    @property
    def filtering(self) -> bool:
        """Whether a filter's scan is still going through the events."""
        return self._scanned is not None

    def _filtered(self) -> None:
        set_virtual_size(self, Size(self.size.width, self.row_count))
        self._update_subtitle()
        if self.cursor is not None and self.row_of(self.cursor) is not None:
            self.scroll_to_row(self.row_of(self.cursor))
        elif self.follow:
            self._scroll_to_end()
        self.refresh()

    def redraw(self) -> None:
        """Marks changed outside the new rows (a withdrawn gap, the end of the stream): draw every row again."""
        self._cache.clear()
        self.refresh()

    def _scroll_to_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        # the first frames can come before layout has sized the list: scroll again once it has
        self.call_after_refresh(self._scroll_end_if_following)

    def _scroll_end_if_following(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self, event) -> None:
        self._cache.clear()
        if self.follow:
            self._scroll_to_end()

    def _update_subtitle(self) -> None:
        bits = []
        if self.filter_name != "all":
            scanning = f", looking: {self._scanned / max(1, self.count):.0%}" if self._scanned is not None else ""
            bits.append(f"filter: {self.filter_name} ({self.row_count:,} of {self.count:,}{scanning})")
        if not self.follow and self.new_since_detach:
            bits.append(f"+{self.new_since_detach:,} new · end to follow")
        elif not self.follow:
            bits.append("not following · end to follow")
        self.border_subtitle = " · ".join(bits)
        if self.parent is not None:
            self.parent.border_subtitle = self.border_subtitle

    def _detach(self) -> None:
        if self.follow:
            self.follow = False
            self.new_since_detach = 0
            self._update_subtitle()
            self.post_message(self.FollowChanged(False))

    # -- rendering ---------------------------------------------------------------------------------------------
    _pass: tuple | None = None  # (width, layout) while a render pass runs: worked out once a pass, not per line

    def render_lines(self, crop):
        self._pass = (self.size.width, self.layout())
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width, layout = self._pass or (self.size.width, self.layout())
        if row >= self.row_count:
            if row == 0 and self.rows is not None and self.count and self._scanned is None:  # a filter that keeps nothing says so
                note = Text(f" no events match the filter: {self.filter_name} (f: the next filter)", style="dim italic")
                note.truncate(width, overflow="ellipsis", pad=True)
                return Strip(list(note.render(self.app.console, end="")), width).apply_style(self.rich_style)
            return Strip.blank(width, self.rich_style)
        index = self.event_at(row)
        if index >= len(self.events):
            return Strip.blank(width, self.rich_style)
        ev = self.events[index]
        marks = self.marks().get(index, ())
        selected = index == self.cursor
        related = self._related_key is not None and not selected and self.session.key_of(index) == self._related_key
        base = self.rich_style
        key = (index, selected, related, width, layout, self.app.theme, tuple(id(a) for a in marks), ev.error is not None, base)
        strip = self._cache.get(key)
        if strip is None:
            segments = row_segments(self.session.describe(index), ev, self.events[index - 1] if index else None, marks,
                                    related, layout, pane_styles(self.app), width, selected, base)
            strip = fit(Strip(segments, width), width, base)
            self._cache[key] = strip
        # (no ``apply_offsets``: the rows are not text the screen's mouse selection copies, and a click is placed
        # by its own y; the offsets made a styled copy of every segment of each new row: 5 % of a live frame)
        return strip

    _related_key = None

    def layout(self) -> RowLayout:
        """The rows' columns for this width and this stream (``render.row_layout``)."""
        return row_layout(self.size.width, self.session.numbered, self.session.longest_label)

    def header(self) -> str:
        """The column header over the rows, for the same layout."""
        return event_header(self.layout())

    def watch_cursor(self, old: int | None, new: int | None) -> None:
        # the events of the selected event's item are highlighted: when the cursor moves within an item (or between
        # events of none), only its old and new rows change, and only they are drawn again (a key held down while a
        # big file loads repainted the whole pane each time: 8 ms a key at 200x50)
        key = self.session.key_of(new) if new is not None and new < len(self.events) else None
        same_item = old is not None and new is not None and key == self._related_key
        self._related_key = key
        if not same_item:
            self.refresh()
            return
        top, width, height = round(self.scroll_y), self.size.width, self.size.height
        for index in (old, new):
            row = self.row_of(index)
            if row is not None and 0 <= row - top < height:
                self.refresh(Region(0, row - top, width, 1))

    # -- actions -----------------------------------------------------------------------------------------------
    def _move_to_row(self, row: int) -> None:
        if self.row_count == 0:
            return
        row = max(0, min(self.row_count - 1, row))
        self._detach()
        self.cursor = self.event_at(row)
        self.scroll_to_row(row)

    def scroll_to_row(self, row: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def _cursor_row(self) -> int | None:
        return None if self.cursor is None else self.row_of(self.cursor)

    def action_cursor(self, delta: int) -> None:
        row = self._cursor_row()
        if row is None:
            self._move_to_row(self.row_count - 1 if delta < 0 else round(self.scroll_y))
            return
        self._move_to_row(row + delta)

    def action_page(self, direction: int) -> None:
        height = self.scrollable_content_region.height or 1
        row = self._cursor_row()
        base = row if row is not None else round(self.scroll_y)
        self._move_to_row(base + direction * height)

    def action_first(self) -> None:
        self._move_to_row(0)

    def action_follow(self) -> None:
        self.follow_end()

    def follow_end(self) -> None:
        """Follow the end of the stream again, with no selection."""
        self.cursor = None
        self.follow = True
        self.new_since_detach = 0
        self._update_subtitle()
        self._scroll_to_end()
        self.post_message(self.FollowChanged(True))

    def select(self, index: int) -> None:
        """Put the cursor on event ``index`` (showing every event if the filter hides it) and announce it."""
        if index >= self.count:
            return
        if self.row_of(index) is None:
            self.set_filter("all", None)
        self._move_to_row(self.row_of(index) or 0)
        if self.cursor is not None:
            self.post_message(self.Selected(self.cursor))

    def action_select(self) -> None:
        if self.cursor is None:
            if self.row_count == 0:
                return
            self._move_to_row(self.row_count - 1)
        if self.cursor is not None:
            self.post_message(self.Selected(self.cursor))

    def on_click(self, event) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < self.row_count:
            self.select(self.event_at(row))

    def on_mouse_scroll_up(self, event) -> None:
        self._detach()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.follow and self.cursor is None and new_value >= self.max_scroll_y and self.row_count:
            self.follow_end()
