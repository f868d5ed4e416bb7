"""What streamview's Line-API widgets (the events pane, the message text, the flow table) share to keep a frame
cheap when they change every frame (a live stream).

- ``set_virtual_size``: ``Widget.virtual_size`` is a reactive that asks for a layout of the whole screen whenever it
  changes: a list that grows every frame paid for one each frame, 15 ms and up to 70 ms at 200x50 with the three
  panes (``benchmarks/live_latency.py``). Only the scrollbars depend on it: this sets it quietly, updates them, and
  repaints the widget; when a scrollbar appears or goes, Textual's own scrollbar reactives lay the screen out.
- ``PassStyle``: ``rich_style`` walks the widget's ancestors each time it is read (0.1 ms); a render pass reads it
  for every line, in the widget and in Textual's line cache. It is worked out once a pass. It also gives the
  widget scrollbars that are drawn again only when what they show changes (``QuietScrollBar``).
- ``fit``, and ``no_strip_cycles`` (applied by the App): a Strip that caches itself in one of its own caches is a
  reference cycle, which only the collector frees. Textual's ``Strip.divide`` does that for every strip cut at its
  own end, which is every widget line the compositor places, and ``Strip.crop_extend`` for a strip already as long
  as asked: together 20,000 to 50,000 objects of cyclic garbage a second at 1,000 events a second, and full
  collections of 20 to 200 ms (``benchmarks/live_latency.py``).
- ``no_pinned_styles_caches`` (applied by the App): Textual's ``StylesCache.get_inner_outer`` is an ``lru_cache``
  on a method, so its 1,024 entries keep the style caches of widgets long gone alive, with every line they had
  drawn (Textual issue #6665): after the 39 tests of ``tests/test_tui.py`` in one process, 60,000 strips and
  420,000 of their caches, and every full collection walked them. The colours alone are the key now.
"""

from __future__ import annotations

from functools import lru_cache
from math import ceil

from rich.style import Style
from textual.dom import DOMNode
from textual.geometry import Region, Size
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual._segment_tools import line_pad
from textual.strip import Strip
from textual.widget import Widget


def fit(strip: Strip, width: int, style) -> Strip:
    """``strip.crop_extend(0, width, style)``, without the cycle when it already is ``width`` cells long."""
    return strip if strip.cell_length == width else strip.crop_extend(0, width, style)


def no_strip_cycles() -> None:
    """Make ``Strip.divide`` give a strip cut only at its own end back as itself without caching that (the cache
    entry was the strip holding a list of itself). Idempotent; what it returns is unchanged."""
    divide = Strip.divide
    if getattr(divide, "_no_cycles", False):
        return

    def divide_without_cycle(self: Strip, cuts):
        length = self.cell_length
        cuts = [cut for cut in cuts if cut <= length]
        if cuts == [length]:
            return [self]
        return divide(self, cuts)

    divide_without_cycle._no_cycles = True  # type: ignore[attr-defined]
    divide_without_cycle.original = divide  # type: ignore[attr-defined]  (Textual's, for the tests to compare)
    divide_without_cycle.__doc__ = divide.__doc__
    Strip.divide = divide_without_cycle  # type: ignore[method-assign]


def no_pinned_styles_caches() -> None:
    """Make ``StylesCache.get_inner_outer`` cache by the two colours only, not by the instance as well (it does not
    use the instance). Idempotent; what it returns is unchanged."""
    from textual._styles_cache import StylesCache

    original = StylesCache.get_inner_outer
    if getattr(original, "_unpinned", False):
        return
    wrapped = getattr(original, "__wrapped__", original)
    # a static method over the cache itself: a line's lookup is one C call, as Textual's was (the lambda runs only
    # on a miss)
    inner_outer = lru_cache(1024)(lambda base_background, background: wrapped(None, base_background, background))
    inner_outer._unpinned = True  # type: ignore[attr-defined]
    inner_outer.original = original  # type: ignore[attr-defined]  (Textual's, for the tests to compare)
    inner_outer.__doc__ = original.__doc__
    StylesCache.get_inner_outer = staticmethod(inner_outer)  # type: ignore[method-assign]


def set_virtual_size(widget: Widget, size: Size) -> None:
    if size == widget.virtual_size:
        return
    if not widget.is_mounted or size.width != widget.virtual_size.width:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)  # scrollbars: shown or not (their reactives lay out if that changes), sized
    widget.refresh()


class QuietScrollBar(ScrollBar):
    """A scrollbar whose lines are made again only when its cells would differ. A list that grows every frame
    moves its scrollbar's position every frame, and Textual draws the bar again each time (a Rich renderable made
    into strips: 2 ms a bar at 50 rows, two bars a live frame), though once there are a few hundred rows the thumb
    sits in the same cells. The cells depend on the bar's size, the thumb's span in eighths of a cell (as
    ``ScrollBarRender.render_bar`` works it out) and the style. When the thumb has moved, each row is the line
    Textual drew for a row with the same cell (``bar_cells``), and the whole bar is drawn only when a cell is new."""

    _drawn: tuple | None = None
    _cells: tuple | None = None  # (what every row's look depends on but its cell, {a row's cell: its line})

    def render_lines(self, crop: Region) -> list[Strip]:
        bar = self.render()
        look = (crop.x, crop.width, self.size, getattr(bar, "style", None), self.mouse_over, self.grabbed is not None)
        key = (crop, look, thumb_span(bar, self.size))
        drawn = self._drawn
        if drawn is not None and drawn[0] == key:
            return list(drawn[1])  # (a list of its own for each caller, as Textual's render gives)
        # the thumb moved: a row is drawn as Textual drew a row with the same cell (back above, thumb, back below,
        # an end in eighths), and Textual draws only when a cell is new (a whole bar took 1.6 to 2 ms a frame)
        cells = bar_cells(bar, self.size, self.vertical)
        rows = cells[crop.y : crop.y + crop.height] if cells is not None else None
        known = self._cells
        if rows is not None and known is not None and known[0] == look and all(cell in known[1] for cell in rows):
            lines = [known[1][cell] for cell in rows]
        else:
            lines = super().render_lines(crop)
            if rows is not None and len(rows) == len(lines):
                table = known[1] if known is not None and known[0] == look else {}
                table.update(zip(rows, lines))
                self._cells = (look, table)
        self._drawn = (key, list(lines))
        return lines


def bar_cells(bar, size: Size, vertical: bool) -> list | None:
    """Each row's cell of a vertical bar, as the stock renderer draws it (None: not the stock renderer, or not
    vertical): the segments ``ScrollBarRender.__rich_console__`` yields for this size, one a row."""
    if not vertical or not isinstance(bar, ScrollBarRender) or not isinstance(bar.style, Style):
        return None
    style = bar.style
    kwargs = {}
    if style.bgcolor is not None:
        kwargs["back_color"] = style.bgcolor
    if style.color is not None:
        kwargs["bar_color"] = style.color
    segments = bar.render_bar(size=size.height, virtual_size=bar.virtual_size, window_size=bar.window_size,
                              position=bar.position, thickness=size.width, vertical=True, **kwargs)
    return list(segments.segments)


def thumb_span(bar, size: Size) -> tuple[int, int] | None:
    """Where ``render_bar`` puts the thumb, in eighths of a cell (None: no thumb; or not the stock renderer)."""
    try:
        virtual_size, window_size, position = bar.virtual_size, bar.window_size, bar.position
        length = size.height if bar.vertical else size.width
        eighths = len(bar.VERTICAL_BARS if bar.vertical else bar.HORIZONTAL_BARS)
    except AttributeError:
        return None
    if not (window_size and length and virtual_size and length != virtual_size):
        return None
    thumb = max(1, window_size / (virtual_size / length))
    start = int((length - thumb) * (position / (virtual_size - window_size)) * eighths)
    return start, start + ceil(thumb * eighths)


class PassStyle:
    """A mixin for a Line-API widget: ``rich_style`` worked out once a render pass, and quiet scrollbars."""

    _pass_style = None

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        bar = Widget.vertical_scrollbar.fget(self)  # type: ignore[attr-defined]
        if type(bar) is ScrollBar:
            bar.__class__ = QuietScrollBar  # (a subclass with no state of its own: only how it draws)
        return bar

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass_style = DOMNode.rich_style.fget(self)  # type: ignore[attr-defined]
        try:
            plain = plain_inner(self)  # type: ignore[arg-type]
            if plain is None:
                return super().render_lines(crop)  # type: ignore[misc]
            return plain_lines(self, crop, plain)  # type: ignore[arg-type]
        finally:
            self._pass_style = None

    @property
    def rich_style(self):
        style = self._pass_style
        return style if style is not None else DOMNode.rich_style.fget(self)  # type: ignore[attr-defined]



def plain_inner(widget: Widget) -> tuple[Style, int, int] | None:
    """The background style a widget's content lines are drawn on and its left and right padding, if Textual's
    ``StylesCache`` would add nothing else to them (no border, outline, padding above or below, tint, hatch,
    opacity, text opacity, or a hovered link); else None."""
    styles = widget.styles
    if widget.BLANK or widget.opacity != 1.0 or styles.text_opacity != 1.0 or styles.tint.a:
        return None
    top, right, bottom, left = styles.padding
    if top or bottom or any(edge for edge, _ in styles.border) or any(edge for edge, _ in styles.outline):
        return None
    if styles.has_rule("hatch") and styles.hatch != "none":
        return None
    if widget.auto_links and widget.hover_style._link_id:
        return None
    width, height = widget.region.size
    if widget.content_region.size != (width - left - right, height):
        return None
    base_background, background = widget.background_colors
    return widget._styles_cache.get_inner_outer(base_background, background)[0].rich_style, left, right


def plain_lines(widget: Widget, crop: Region, plain: tuple[Style, int, int]) -> list[Strip]:
    """``Widget.render_lines(crop)`` for a widget ``plain_inner`` found plain: the same lines, with the same
    segments, but each line the widget drew last time (its ``render_line`` gave the same strip: a row it had
    cached) is the strip made of it then, not a new one. Textual's ``StylesCache`` makes a new strip of every line
    it draws, and each new strip runs the app's line filters again: 70 to 100 us a line. At 1,000 events a second
    the events pane and the message text are drawn again up to 40 times a second, every row moved by a scroll,
    though nearly all of them are rows the widgets had cached (``benchmarks/live_latency.py``)."""
    inner, pad_left, pad_right = plain
    width, height = widget.region.size
    content_width = width - pad_left - pad_right
    _, background = widget.background_colors
    filters = tuple(widget.get_line_filters())
    key = (width, inner, background, filters)
    last = widget.__dict__.get("_plain_lines")
    known: dict = last[1] if last is not None and last[0] == key else {}
    drawn: dict = {}
    render_line = widget.render_line
    strips: list[Strip] = []
    for y in crop.line_range:
        line = render_line(y) if y < height else Strip.blank(content_width, inner)
        hit = known.get(id(line))
        if hit is not None and hit[0] is line:
            strip = hit[1]
        else:
            strip = line.adjust_cell_length(content_width, inner)
            if pad_left or pad_right:
                strip = Strip(line_pad(strip, pad_left, pad_right, inner), width)
            elif strip.cell_length != width:
                strip = Strip(strip, width)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
        drawn[id(line)] = (line, strip)  # (the line is kept with it: its id is not another's while it is here)
        strips.append(strip)
    if crop.line_range == range(height):
        widget.__dict__["_plain_lines"] = (key, drawn)
    else:  # a part of the widget: what it drew elsewhere is kept too
        known.update(drawn)
        widget.__dict__["_plain_lines"] = (key, known if len(known) <= 4 * height else drawn)
    if crop.column_span != (0, width):
        x1, x2 = crop.column_span
        strips = [strip.crop(x1, x2) for strip in strips]
    return strips
