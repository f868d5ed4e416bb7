"""What streamview's Line-API widgets (the events pane, the message text, the flow table) share to keep a frame
cheap when they change every frame (a live stream).

- ``set_virtual_size``: ``Widget.virtual_size`` is a reactive that asks for a layout of the whole screen whenever it
  changes: a list that grows every frame paid for one each frame, 15 ms and up to 70 ms at 200x50 with the three
  panes (``benchmarks/live_latency.py``). Only the scrollbars depend on it: this sets it quietly, updates them, and
  repaints the widget; when a scrollbar appears or goes, Textual's own scrollbar reactives lay the screen out.
- ``PassStyle``: ``rich_style`` walks the widget's ancestors each time it is read (0.1 ms); a render pass reads it
  for every line, in the widget and in Textual's line cache. It is worked out once a pass.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def set_virtual_size(widget: Widget, size: Size) -> None:
    if size == widget.virtual_size:
        return
    if not widget.is_mounted or size.width != widget.virtual_size.width:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)  # scrollbars: shown or not (their reactives lay out if that changes), sized
    widget.refresh()


class PassStyle:
    """A mixin for a Line-API widget: ``rich_style`` worked out once a render pass."""

    _pass_style = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass_style = DOMNode.rich_style.fget(self)  # type: ignore[attr-defined]
        try:
            return super().render_lines(crop)  # type: ignore[misc]
        finally:
            self._pass_style = None

    @property
    def rich_style(self):
        style = self._pass_style
        return style if style is not None else DOMNode.rich_style.fget(self)  # type: ignore[attr-defined]
