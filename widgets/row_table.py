"""A table of text rows for lists that change while they are shown (the proxy's flow list): a Line-API view over
rows its owner hands it (``set_rows``), with a header line and a row cursor.

Only visible rows are drawn, each into a cached Strip keyed by its cells, so a tick that changes one row redraws
that line only, and a row is segments cut to their column's width (no Rich layout per cell). Textual's DataTable
measures and re-renders every row when its rows are replaced, which held the event loop for tens of
milliseconds per update at 50 rows (``benchmarks/proxy_ui.py``). Cells are plain text (never markup); the owner
makes them visible (``sanitize.visible_line``).
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .lines import PassStyle, set_virtual_size

GAP = 2  # cells between columns
CAP = 60  # a column is never wider than this; a longer cell ends in an ellipsis
ROWS_PER_FRAME = 12  # changed rows drawn in one frame, at most


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to ``width`` cells (an ellipsis where it was cut; wide characters counted right)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, max(0, width - 1)) + "…" if width > 0 else ""


class RowTable(PassStyle, ScrollView, can_focus=True):
    """``set_rows(keys, rows)`` shows rows (tuples of cell texts, one per column) under the header; the cursor is a
    row number (``cursor_row``), kept on the same key when the rows change. A click (or ``action_select``, which the
    owner binds to Enter) posts ``Selected``."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "cursor_to(0)", "First", show=False),
        Binding("end,G", "cursor_to(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES = {"row-table--header", "row-table--cursor", "row-table--even-row"}

    DEFAULT_CSS = """
    RowTable {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        & > .row-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .row-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .row-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .row-table--even-row { background: $surface-darken-1 40%; }
    }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False)

    class Selected(Message):
        """The user chose a row (Enter or a click)."""

        def __init__(self, key: str) -> None:
            self.key = key
            super().__init__()

    def __init__(self, columns: Sequence[str], shrink: dict[int, int] | None = None, drop: Sequence[int] = (),
                 **kwargs) -> None:
        """``columns``: the header. When the rows are wider than the table, the space between columns narrows,
        then the columns in ``shrink`` (index -> the narrowest it may get) give up width, the widest first; then
        the columns in ``drop`` are left out, in that order; then the columns whose narrowest is 0 in ``shrink``
        give up width down to their widest cell (only their headers are cut); what is still too wide is cut at
        the right edge."""
        super().__init__(**kwargs)
        self.columns = tuple(columns)
        self.widths = [min(CAP, cell_len(c)) for c in self.columns]  # they only grow: the layout stays put
        self.cells = [0] * len(self.columns)  # each column's widest cell (the header not counted)
        self.shrink = dict(shrink or {})
        self.drop = tuple(drop)
        self.keys: list[str] = []
        self.rows: list[tuple[str, ...]] = []
        self._cache: LRUCache[tuple, Strip] = LRUCache(256)
        self._layout: tuple[int, tuple[int, ...], list[tuple[int, int, int]]] | None = None
        self._dirty: deque[Region] = deque()  # cells changed and not drawn yet (``_redraw``)
        self._drawing = False

    def layout(self) -> list[tuple[int, int, int]]:
        """``(column, x, width)`` of each column shown, for the table's width (made once per width and widths)."""
        key = (self.size.width, tuple(self.widths))
        if self._layout is not None and self._layout[:2] == key:
            return self._layout[2]
        width = self.size.width
        widths = list(self.widths)
        shown = list(range(len(widths)))
        gap = GAP

        def total() -> int:
            return 1 + sum(widths[i] for i in shown) + gap * max(0, len(shown) - 1)

        if total() > width:  # first the space between columns narrows
            gap = 1

        def narrow(least: dict[int, int]) -> None:  # these columns give up width, the widest first
            while total() > width:
                flexible = [i for i in least if i in shown and widths[i] > least[i]]
                if not flexible:
                    return
                i = max(flexible, key=lambda i: widths[i] - least[i])
                widths[i] = max(least[i], widths[i] - (total() - width))

        narrow({i: m for i, m in self.shrink.items() if m})  # cells cut
        for i in self.drop:  # then columns are left out
            if total() <= width:
                break
            if i in shown:
                shown.remove(i)
        for i in self.shrink:  # what leaving them out freed goes back to the columns cut (in ``shrink``'s order)
            if i in shown and widths[i] < self.widths[i] and total() < width:
                widths[i] = min(self.widths[i], widths[i] + width - total())
        narrow({i: max(1, self.cells[i]) for i, m in self.shrink.items() if not m})  # then only headers cut
        placed, x = [], 1
        for i in shown:
            placed.append((i, x, widths[i]))
            x += widths[i] + gap
        self._layout = (key[0], key[1], placed)
        return placed

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if 0 <= self.cursor_row < len(self.keys) else None

    # -- the owner's side ----------------------------------------------------------------------------------------
    def set_rows(self, keys: Sequence[str], rows: Sequence[tuple[str, ...]]) -> None:
        """Show these rows; the cursor stays on its key (or its row number, when the key is gone). Only the lines
        whose cells changed are drawn again."""
        keys, rows = list(keys), [tuple(r) for r in rows]
        if keys == self.keys and rows == self.rows:
            return
        widths = list(self.widths)
        cells = self.cells
        for row in rows:
            for i, cell in enumerate(row[: len(widths)]):
                n = cell_len(cell)
                if n > cells[i]:
                    cells[i] = min(CAP, n)
                    widths[i] = max(widths[i], cells[i])
        keep = self.cursor_key
        old_keys, old_rows = self.keys, self.rows
        self.keys, self.rows = keys, rows
        if len(rows) != len(old_rows):  # a new virtual size lays the screen out again: only when it changes
            set_virtual_size(self, Size(self.size.width, len(rows) + 1))
        if keep is not None and keep in keys:
            cursor = keys.index(keep)
        else:
            cursor = max(0, min(self.cursor_row, len(rows) - 1))
        moved = cursor != self.cursor_row
        self.set_reactive(RowTable.cursor_row, cursor)
        if widths != self.widths or moved or len(rows) != len(old_rows):
            self.widths = widths
            self._cache.clear()
            self.refresh()
            if moved:
                self.scroll_to_row(cursor)
            return
        top = round(self.scroll_y)
        changed: list[Region] = []
        for n, (key, row) in enumerate(zip(keys, rows)):
            old = old_rows[n]
            if row == old and key == old_keys[n]:
                continue
            y = n - top + 1
            if not 1 <= y < self.size.height:
                continue
            if key != old_keys[n]:
                changed.append(Region(0, y, self.size.width, 1))
                continue
            for i, x, w in self.layout():  # only the cells that changed (a duration ticking)
                if i < len(row) and (i >= len(old) or row[i] != old[i]):
                    changed.append(Region(x, y, w, 1))
        self._redraw(changed)

    def _redraw(self, regions: list[Region]) -> None:
        """Redraw these regions a few rows a frame: 50 flows ticking at once would otherwise be one long frame,
        and the proxy forwards its chunks on the same loop (``benchmarks/proxy_ui.py``). A line drawn for another
        reason meanwhile shows its row as it is now."""
        self._dirty.extend(regions)
        if self._dirty and not self._drawing:
            self._drawing = True
            self._draw_some()

    def _draw_some(self) -> None:
        rows: set[int] = set()
        batch: list[Region] = []
        while self._dirty and (len(rows) < ROWS_PER_FRAME or self._dirty[0].y in rows):
            region = self._dirty.popleft()
            rows.add(region.y)
            batch.append(region)
        if batch and self.is_attached:
            self.refresh(*batch)
        if self._dirty and self.is_attached:
            self.call_after_refresh(self._draw_some)
        else:
            self._dirty.clear()
            self._drawing = False

    # -- rendering -----------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._line(self.columns, "row-table--header", width)
        row = round(self.scroll_y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        if row == self.cursor_row:
            return self._line(self.rows[row], "row-table--cursor", width)
        return self._line(self.rows[row], "row-table--even-row" if row % 2 else "", width)

    def _line(self, cells: tuple[str, ...], component: str, width: int) -> Strip:
        key = (cells, component, width, self.app.theme, self.has_focus)
        strip = self._cache.get(key)
        if strip is None:
            style = self.rich_style + self.get_component_rich_style(component) if component else self.rich_style
            # a segment per cell, each exactly its column's width (so a screenshot places each at its column)
            segments = []
            used = 0
            for i, x, w in self.layout():
                segments.append(Segment(" " * (x - used), style))  # the space before the column
                segments.append(Segment(fit(cells[i] if i < len(cells) else "", w), style))
                used = x + w
            if used < width:
                segments.append(Segment(" " * (width - used), style))
            strip = Strip(segments, used if used > width else width)
            if used > width:
                strip = strip.crop(0, width)
            self._cache[key] = strip
        return strip

    def on_resize(self, event) -> None:
        self._cache.clear()
        set_virtual_size(self, Size(self.size.width, len(self.rows) + 1))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- the cursor ----------------------------------------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        width = self.size.width
        top = round(self.scroll_y)
        for row in (old, new):
            y = row - top + 1
            if 1 <= y < self.size.height:
                self.refresh(Region(0, y, width, 1))

    def move_cursor(self, row: int) -> None:
        if not self.rows:
            return
        row = max(0, min(len(self.rows) - 1, row))
        self.cursor_row = row
        self.scroll_to_row(row)

    def scroll_to_row(self, row: int) -> None:
        height = max(1, self.size.height - 1)  # the header takes a line
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self.rows) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.Selected(self.cursor_key))

    def on_click(self, event) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self.move_cursor(row)
            self.action_select()
