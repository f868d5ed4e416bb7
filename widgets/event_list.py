"""The raw events pane: a Line-API list over the model's own event list (toolong's LogLines pattern).

Only visible rows are rendered, each from the model, into an LRU-cached Strip. The list follows the end of the stream
until the user scrolls or moves the cursor, and says how many events arrived since then.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from streamview.events import StreamEvent, short_repr
from streamview.sanitize import visible_line

HEADER = " " + "#".rjust(5) + " " + "seq".rjust(5) + " " + "t".rjust(7) + " " + "gap".rjust(6) + " type"
TYPE_WIDTH = 24

STYLE_PROBLEM = Style(color="red", bold=True)
STYLE_LIFECYCLE = Style(color="cyan", bold=True)
STYLE_ITEM = Style(color="green")
STYLE_DELTA = Style(dim=True)
STYLE_COMMENT = Style(color="yellow", italic=True)
STYLE_CURSOR = Style(reverse=True)
STYLE_MARK = Style(color="white", bgcolor="red", bold=True)


def _fmt_gap(dt: float | None) -> str:
    if dt is None:
        return ""
    if dt < 1.0:
        return f"+{dt * 1000:.0f}ms"
    return f"+{dt:.2f}s"


def short_type(t: str) -> str:
    return t.removeprefix("response.")


def row_text(ev: StreamEvent, prev: StreamEvent | None) -> Text:
    """One event as a row of plain text (stream text sanitized, never markup)."""
    seq = "" if ev.seq is None else str(ev.seq)
    t = "" if ev.t is None else f"{ev.t:.3f}"
    dt = None if prev is None or prev.t is None or ev.t is None else ev.t - prev.t
    kind = short_type(ev.type)
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append("!" if ev.error else " ", STYLE_MARK if ev.error else None)
    text.append(f"{ev.index:>5} {seq:>5} {t:>7} {_fmt_gap(dt):>6} ")
    if ev.error:
        style = STYLE_PROBLEM
    elif ev.kind == "comment":
        style = STYLE_COMMENT
    elif ev.type.startswith("response.output_item") or ev.type.startswith("response.content_part"):
        style = STYLE_ITEM
    elif ev.is_delta:
        style = STYLE_DELTA
    elif "." not in kind or ev.type in ("error",):
        style = STYLE_LIFECYCLE
    else:
        style = None
    text.append(visible_line(kind[:TYPE_WIDTH]).ljust(TYPE_WIDTH), style)
    text.append(" ")
    detail = ev.error if ev.error else short_repr(ev)
    text.append(visible_line(detail), STYLE_PROBLEM if ev.error else None)
    return text


class EventList(ScrollView, can_focus=True):
    """Rows are ``events[0:count]`` of a list owned by the model; ``sync(count)`` shows newly arrived ones."""

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

    def __init__(self, events: list[StreamEvent], **kwargs) -> None:
        super().__init__(**kwargs)
        self.events = events
        self.count = 0
        self.follow = True
        self.new_since_detach = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(2048)

    # -- the model side ----------------------------------------------------------------------------------------
    def set_events(self, events: list[StreamEvent]) -> None:
        self.events = events
        self.count = 0
        self.cursor = None
        self.follow = True
        self.new_since_detach = 0
        self._cache.clear()
        self.virtual_size = Size(self.size.width, 0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_subtitle()
        self.refresh()

    def sync(self, count: int) -> None:
        """Show the events that arrived since the last frame (one call per frame)."""
        if count == self.count:
            return
        added = count - self.count
        self.count = count
        self.virtual_size = Size(self.size.width, count)
        if self.follow:
            self._scroll_to_end()
        else:
            self.new_since_detach += max(0, added)
            self._update_subtitle()
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
        if not self.follow and self.new_since_detach:
            self.border_subtitle = f"+{self.new_since_detach:,} new · end to follow"
        elif not self.follow:
            self.border_subtitle = "paused follow · end to follow"
        else:
            self.border_subtitle = ""

    def _detach(self) -> None:
        if self.follow:
            self.follow = False
            self.new_since_detach = 0
            self._update_subtitle()
            self.post_message(self.FollowChanged(False))

    # -- rendering ---------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= self.count or index >= len(self.events):
            return Strip.blank(width, self.rich_style)
        selected = index == self.cursor
        key = (index, selected, width)
        strip = self._cache.get(key)
        if strip is None:
            ev = self.events[index]
            text = row_text(ev, self.events[index - 1] if index else None)
            text.truncate(width, overflow="ellipsis", pad=True)
            if selected:
                text.stylize(STYLE_CURSOR)
            segments = list(text.render(self.app.console, end=""))
            strip = Strip(segments, width).crop_extend(0, width, self.rich_style)
            self._cache[key] = strip
        return strip.apply_style(self.rich_style).apply_offsets(scroll_x, index)

    def watch_cursor(self, old: int | None, new: int | None) -> None:
        self.refresh()

    # -- actions -----------------------------------------------------------------------------------------------
    def _move_to(self, index: int) -> None:
        if self.count == 0:
            return
        index = max(0, min(self.count - 1, index))
        self._detach()
        self.cursor = index
        self.scroll_to_region_index(index)

    def scroll_to_region_index(self, index: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        if self.cursor is None:
            start = self.count - 1 if delta < 0 else round(self.scroll_y)
            self._move_to(start if delta > 0 else start)
            return
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        height = self.scrollable_content_region.height or 1
        base = self.cursor if self.cursor is not None else round(self.scroll_y)
        self._move_to(base + direction * height)

    def action_first(self) -> None:
        self._move_to(0)

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
        """Put the cursor on ``index`` and announce it as selected."""
        self._move_to(index)
        if self.cursor is not None:
            self.post_message(self.Selected(self.cursor))

    def action_select(self) -> None:
        if self.cursor is None:
            if self.count == 0:
                return
            self._move_to(self.count - 1)
        if self.cursor is not None:
            self.post_message(self.Selected(self.cursor))

    def on_click(self, event) -> None:
        index = round(self.scroll_y) + event.y
        if 0 <= index < self.count:
            self.select(index)

    def on_mouse_scroll_up(self, event) -> None:
        self._detach()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.follow and self.cursor is None and new_value >= self.max_scroll_y and self.count:
            self.follow_end()
