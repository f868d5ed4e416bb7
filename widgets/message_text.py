"""The message text: a Line-API view over its own wrapped document (toolong's pattern, for text that grows).

``WrappedText`` keeps the text as logical lines and where each screen row starts; an append re-wraps only the last
row, so a frame costs what arrived in it, whatever the size of the message. ``MessageText`` draws only the visible
rows (each cached as a Strip), follows the end while the user has not scrolled up, highlights a range (the selected
event's contribution in time travel) and supports the screen's mouse selection for copying.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from streamview.render import TAB  # noqa: F401  (a tab as the message pane shows it)

from .lines import PassStyle, fit, set_virtual_size

STYLE_HIGHLIGHT = Style(reverse=True)
STYLE_CURSOR = Style(reverse=True)
CACHE_ROWS = 400  # rendered rows kept (a Strip is a few hundred bytes and several objects the GC walks)


# characters one cell wide, whatever the terminal: Latin (accents included, combining marks not), Greek, Cyrillic
# (the ranges rich's ``cell_len`` counts as one cell without looking them up)
_ONE_CELL = frozenset(chr(c) for a, b in ((0x20, 0x7E), (0xA0, 0xAC), (0xAE, 0x2FF), (0x370, 0x482))
                      for c in range(a, b + 1))


def wrap_starts(line: str, pos: int, width: int) -> list[int]:
    """Where the rows of ``line[pos:]`` start when wrapped greedily to ``width`` cells, breaking after a space when
    there is one in the row, else inside the word. The first element is ``pos``."""
    n = len(line)
    if n - pos <= width and (n - pos <= width // 2 or line.isascii() or cell_len(line[pos:]) <= width):
        return [pos]
    if line.isascii() or _ONE_CELL.issuperset(line[pos:] if pos else line):
        return _wrap_one_cell(line, pos, width)
    return _wrap_cells(line, pos, width)


def _wrap_one_cell(line: str, pos: int, width: int) -> list[int]:
    """``wrap_starts`` for a line whose every character takes one cell (``café`` as much as ``cafe``): the rows
    are found by searching for spaces, not character by character."""
    out = [pos]
    n = len(line)
    while n - pos > width:
        cut = line.rfind(" ", pos, pos + width + 1)
        pos = cut + 1 if cut > pos else pos + width
        out.append(pos)
    return out


def _wrap_cells(line: str, pos: int, width: int) -> list[int]:
    """``wrap_starts`` character by character: wide characters take two cells, combining marks none."""
    out = [pos]
    n = len(line)
    row = pos
    w = 0
    space = -1
    i = pos
    while i < n:
        ch = line[i]
        cw = 1 if " " <= ch < "\x7f" else get_character_cell_size(ch)
        if w + cw > width and i > row:
            if ch == " ":
                nxt = i + 1
            elif space > row:
                nxt = space + 1
            else:
                nxt = i
            out.append(nxt)
            row = nxt
            w = cell_len(line[row:i])
            space = -1
            if ch == " ":
                i += 1
                continue
        if ch == " ":
            space = i
        w += cw
        i += 1
    return out


class WrappedText:
    """Text as logical lines and the rows they wrap to. Appends and cuts near the end cost what they change."""

    def __init__(self, width: int = 80) -> None:
        self.width = max(1, width)
        self.load("")

    def load(self, text: str) -> None:
        self.lines: list[str] = text.split("\n")
        self.line_offset = array("q")  # where each line starts in the text
        self.line_row = array("q")  # each line's first row
        self.row_line = array("q")  # each row's line
        self.row_start = array("q")  # each row's first character in its line
        self.length = 0
        for i, line in enumerate(self.lines):
            self.line_offset.append(self.length)
            self.length += len(line) + 1
            self._wrap_line(i, 0)
        self.length -= 1
        self._text: str | None = text
        self.changed_from = 0  # the first row that changed since the owner last looked

    # -- reading -----------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "\n".join(self.lines)
        return self._text

    @property
    def row_count(self) -> int:
        return len(self.row_start)

    def row_span(self, row: int) -> tuple[int, int, int]:
        """(line, start, end) of a row: its characters are ``lines[line][start:end]``."""
        li = self.row_line[row]
        start = self.row_start[row]
        if row + 1 < len(self.row_start) and self.row_line[row + 1] == li:
            end = self.row_start[row + 1]
        else:
            end = len(self.lines[li])
        return li, start, end

    def location(self, offset: int) -> tuple[int, int]:
        """The (row, column in characters) of a text offset."""
        offset = max(0, min(offset, self.length))
        li = bisect_right(self.line_offset, offset) - 1
        col = offset - self.line_offset[li]
        first = self.line_row[li]
        last = self.line_row[li + 1] if li + 1 < len(self.line_row) else len(self.row_start)
        row = bisect_right(self.row_start, col, first, last) - 1
        return row, col - self.row_start[row]

    # -- changing ----------------------------------------------------------------------------------------------
    def _wrap_line(self, li: int, start: int) -> None:
        """Add the rows of line ``li`` from character ``start`` on (its rows from there on were removed)."""
        if start == 0:
            if li < len(self.line_row):
                self.line_row[li] = len(self.row_start)
            else:
                self.line_row.append(len(self.row_start))
        starts = wrap_starts(self.lines[li], start, self.width)
        self.row_start.extend(starts)
        self.row_line.extend([li] * len(starts))

    def _cut_rows(self, row: int) -> None:
        del self.row_start[row:]
        del self.row_line[row:]
        self.changed_from = min(self.changed_from, row)

    def append(self, text: str) -> None:
        if not text:
            return
        self._text = None
        parts = text.split("\n")
        li = len(self.lines) - 1
        last_row = len(self.row_start) - 1
        self.lines[li] += parts[0]
        self.length += len(text)
        start = self.row_start[last_row]
        self._cut_rows(last_row)
        self._wrap_line(li, start)
        offset = self.line_offset[li] + len(self.lines[li]) + 1
        for part in parts[1:]:
            self.lines.append(part)
            self.line_offset.append(offset)
            offset += len(part) + 1
            self._wrap_line(len(self.lines) - 1, 0)

    def truncate(self, offset: int) -> None:
        """Keep the first ``offset`` characters."""
        if offset >= self.length:
            return
        self._text = None
        offset = max(0, offset)
        li = bisect_right(self.line_offset, offset) - 1
        col = offset - self.line_offset[li]
        first = self.line_row[li]
        last = self.line_row[li + 1] if li + 1 < len(self.line_row) else len(self.row_start)
        del self.lines[li + 1 :]
        del self.line_offset[li + 1 :]
        del self.line_row[li + 1 :]
        self.lines[li] = self.lines[li][:col]
        self.length = offset
        row = bisect_right(self.row_start, col, first, last) - 1
        row = max(first, row - 1)  # the row before may take words from the cut one
        start = self.row_start[row]
        self._cut_rows(row)
        self._wrap_line(li, start)

    def replace_from(self, offset: int, text: str) -> None:
        self.truncate(offset)
        self.append(text)

    def replace(self, start: int, end: int, text: str) -> None:
        """Put ``text`` in place of characters ``start:end``. Only the lines it touches are wrapped again; the rows
        and lines after it are shifted (a pass over two arrays only when the number of lines or rows changes)."""
        start = max(0, min(start, self.length))
        end = max(start, min(end, self.length))
        if end == self.length:
            self.replace_from(start, text)
            return
        self._text = None
        l0 = bisect_right(self.line_offset, start) - 1
        l1 = bisect_right(self.line_offset, end) - 1
        c0 = start - self.line_offset[l0]
        c1 = end - self.line_offset[l1]
        new_lines = (self.lines[l0][:c0] + text + self.lines[l1][c1:]).split("\n")
        r0 = self.line_row[l0]
        r1 = self.line_row[l1 + 1] if l1 + 1 < len(self.line_row) else len(self.row_start)
        rows_start: list[int] = []
        rows_line: list[int] = []
        line_rows: list[int] = []
        for k, line in enumerate(new_lines):
            line_rows.append(r0 + len(rows_start))
            starts = wrap_starts(line, 0, self.width)
            rows_start.extend(starts)
            rows_line.extend([l0 + k] * len(starts))
        dlines = len(new_lines) - (l1 - l0 + 1)
        drows = len(rows_start) - (r1 - r0)
        dchars = len(text) - (end - start)
        self.lines[l0 : l1 + 1] = new_lines
        self.row_start[r0:r1] = array("q", rows_start)
        after = r0 + len(rows_start)
        if dlines:
            self.row_line[r0:r1] = array("q", rows_line)
            self.row_line[after:] = array("q", [x + dlines for x in self.row_line[after:]])
        else:
            self.row_line[r0:r1] = array("q", rows_line)
        offsets = [self.line_offset[l0]]
        for line in new_lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        tail_offsets = self.line_offset[l1 + 1 :]
        tail_rows = self.line_row[l1 + 1 :]
        self.line_offset[l0:] = array("q", offsets)
        self.line_row[l0:] = array("q", line_rows)
        self.line_offset.extend(tail_offsets if not dchars else array("q", [x + dchars for x in tail_offsets]))
        self.line_row.extend(tail_rows if not drows else array("q", [x + drows for x in tail_rows]))
        self.length += dchars
        self.changed_from = min(self.changed_from, r0)

    def rewrap(self, width: int) -> None:
        width = max(1, width)
        if width != self.width:
            self.width = width
            text = self.text
            self.load(text)


class MessageText(PassStyle, ScrollView, can_focus=True):
    """Draws a ``WrappedText``: only the visible rows, each cached as a Strip until its row changes."""

    DEFAULT_CSS = """
    MessageText { height: 1fr; overflow-x: hidden; overflow-y: auto; scrollbar-gutter: stable; }  /* room kept, no empty track */
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.doc = WrappedText()
        self.highlight: tuple[int, int] | None = None  # text offsets shown highlighted (time travel)
        self.show_cursor = False  # a block at the end of the text while it grows
        self._cache: dict[int, Strip] = {}
        self._cache_width = 0

    # -- the document ------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def selected_text(self) -> str:
        if self.highlight is None:
            return ""
        start, end = self.highlight
        return self.doc.text[start:end]

    @property
    def following(self) -> bool:
        return self.scroll_y >= self.max_scroll_y

    def load(self, text: str) -> None:
        self.highlight = None
        self.doc.load(text)
        self._changed()

    def append(self, text: str) -> None:
        if text:
            self.doc.append(text)
            self._changed()

    def replace_from(self, offset: int, text: str) -> None:
        self.doc.replace_from(offset, text)
        self._changed()

    def replace(self, start: int, end: int, text: str) -> None:
        self.doc.replace(start, end, text)
        self._changed(shifted=True)

    def set_highlight(self, span: tuple[int, int] | None, center: bool = True) -> None:
        self.highlight = span
        self._cache.clear()
        if span is not None and center:
            row, _ = self.doc.location(span[0])
            height = self.scrollable_content_region.height or 1
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)
        self.refresh()

    def set_cursor(self, show: bool) -> None:
        if show != self.show_cursor:
            self.show_cursor = show
            self._cache.pop(self.doc.row_count - 1, None)
            self.refresh()

    def _changed(self, shifted: bool = False) -> None:
        doc = self.doc
        if doc.changed_from == 0 or shifted:
            self._cache.clear()
        else:
            for row in [r for r in self._cache if r >= doc.changed_from - 1]:  # -1: the old last row lost its cursor
                del self._cache[row]
        doc.changed_from = doc.row_count
        set_virtual_size(self, Size(self.scrollable_content_region.width, doc.row_count))
        self.refresh()

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)  # an animated scroll over a long message draws every row on the way

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def follow_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self, event) -> None:
        width = self.scrollable_content_region.width
        if width > 0 and width != self.doc.width:
            following = self.following
            top = self.doc.row_line[min(round(self.scroll_y), self.doc.row_count - 1)]
            self.doc.rewrap(width)
            self.doc.changed_from = 0
            self._changed()
            if following:
                self.call_after_refresh(self.follow_end)
            else:
                self.scroll_to(y=self.doc.line_row[top], animate=False, immediate=True)

    # -- drawing -----------------------------------------------------------------------------------------------
    def restyle(self) -> None:
        """Draw every row again (the theme changed: the cached rows hold the old colours)."""
        self._cache.clear()
        self.refresh()

    _pass: tuple | None = None  # (width, selection) while a render pass runs: worked out once a pass, not per line

    def render_lines(self, crop):
        self._pass = (self.scrollable_content_region.width, self.text_selection)
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width, selection = self._pass or (self.scrollable_content_region.width, self.text_selection)
        if width != self._cache_width:
            self._cache.clear()
            self._cache_width = width
        if row >= self.doc.row_count:
            return Strip.blank(width, self.rich_style)
        strip = self._cache.get(row) if selection is None else None
        if strip is None:
            strip = self._render_row(row, width, selection)
            if selection is None:
                cache = self._cache
                if len(cache) >= CACHE_ROWS:  # keep the rows near the view (following: the end)
                    for old in [r for r in cache if abs(r - row) > CACHE_ROWS // 2]:
                        del cache[old]
                cache[row] = strip
        return strip.apply_offsets(scroll_x, row)

    def _render_row(self, row: int, width: int, selection: Selection | None) -> Strip:
        doc = self.doc
        li, start, end = doc.row_span(row)
        chars = doc.lines[li][start:end]
        base = self.rich_style
        spans: list[tuple[int, int, Style]] = []
        if self.highlight is not None:
            row_at = doc.line_offset[li] + start
            lo, hi = max(self.highlight[0], row_at), min(self.highlight[1], row_at + len(chars))
            if lo < hi:
                spans.append((lo - row_at, hi - row_at, STYLE_HIGHLIGHT))
        if selection is not None:
            span = selection.get_span(row)
            if span is not None:
                lo, hi = span
                hi = len(chars) if hi == -1 else hi
                if lo < hi:
                    spans.append((lo, hi, self.screen.get_component_rich_style("screen--selection")))
        segments: list[Segment] = []
        if spans:
            cuts = sorted({0, len(chars), *[s for a, b, _ in spans for s in (a, b)]})
            for a, b in zip(cuts, cuts[1:]):
                style = base
                for lo, hi, extra in spans:
                    if lo <= a and b <= hi:
                        style = style + extra
                if a < b:
                    segments.append(Segment(chars[a:b], style))
        else:
            segments.append(Segment(chars, base))
        if self.show_cursor and row == doc.row_count - 1:
            segments.append(Segment(" ", base + STYLE_CURSOR))
        return fit(Strip(segments), width, base)

    # -- the screen's mouse selection (copy) -------------------------------------------------------------------
    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        doc = self.doc
        if doc.row_count == 0:
            return None
        first = 0 if selection.start is None else max(0, selection.start.y)
        last = doc.row_count - 1 if selection.end is None else min(doc.row_count - 1, selection.end.y)
        out: list[str] = []
        prev_line = None
        for row in range(first, last + 1):
            li, start, end = doc.row_span(row)
            chars = doc.lines[li][start:end]
            lo, hi = selection.get_span(row) or (0, 0)
            piece = chars[lo:] if hi == -1 else chars[lo:hi]
            if prev_line is not None and li != prev_line:
                out.append("\n")
            out.append(piece)
            prev_line = li
        return "".join(out), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._cache.clear()
        self.refresh()
