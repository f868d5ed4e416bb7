"""The detail of one event: its position, its problem if any, and its payload as pretty, highlighted JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamview.events import StreamEvent
from streamview.sanitize import visible, visible_line

CLIP = 4000  # characters of one string value shown in the detail (the message pane holds the whole text)


def clip(value: Any, limit: int = CLIP) -> Any:
    """``value`` with every string longer than ``limit`` cut, saying how much was left out: a 10 MB delta would
    take Rich seconds to lay out as highlighted JSON, for text no one reads in this pane."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"… [{len(value) - limit:,} more characters]"
    if isinstance(value, dict):
        return {k: clip(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit) for v in value]
    return value


def render_detail(ev: StreamEvent, anomalies=(), styles: dict | None = None, width: int = 0) -> Text:
    """The event's place, its anomalies in full (rule and message, wrapped: a row has room for few words of them),
    its problem, then its payload as highlighted JSON. One Text, so the mouse can select it; with ``width``, a JSON
    line too long for it continues under its own indent (not at column 0)."""
    head = Text()
    head.append(f"event #{ev.index}", style="bold")
    if ev.seq is not None:
        head.append(f"  seq {ev.seq}")
    head.append(f"  line {ev.line}")
    if ev.t is not None:
        head.append(f"  t {ev.t:.3f}s" + (" (replay pace)" if ev.t_synthetic else ""))
    kind = ev.type if ev.kind == "event" and ev.name == ev.type else f"{ev.type}  (SSE event: {ev.name})"
    parts = [head, Text(visible_line(kind), style="dim")]
    styles = styles or {}
    for a in anomalies:
        mark = "!" if a.severity == "error" else "?"
        style = styles.get("problem" if a.severity == "error" else "note") or ("bold red" if a.severity == "error" else "yellow")
        line = Text(f"{mark} {a.severity} {a.rule}: ", style=style)
        line.append(visible_line(a.message))
        parts.append(line)
    if ev.error:
        parts.append(Text(visible_line(ev.error), style="bold red"))
    if ev.payload is not None:
        dumped = json.dumps(clip(ev.payload), indent=2, ensure_ascii=False)
        try:
            pretty = JSON(visible(dumped), indent=2).text
        except ValueError:
            pretty = Text(visible(dumped))
        parts.append(hang(pretty, width) if width else pretty)
    else:
        parts.append(Text(visible(clip(ev.data))))
    parts.append(Text("escape: back to live", style="dim italic"))
    out = Text("\n").join(parts)
    out.overflow = "fold"
    return out


def hang(text: Text, width: int) -> Text:
    """``text`` with each line longer than ``width`` cut into pieces, every piece after the first indented two
    columns past the line's own indent (a long JSON string stays inside its block)."""
    out: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        plain = line.plain
        if len(plain) <= width:
            out.append(line)
            continue
        indent = min(len(plain) - len(plain.lstrip(" ")) + 2, max(0, width // 2))
        room = max(8, width - indent)
        cuts = list(range(width, len(plain), room))
        pieces = line.divide(cuts)
        out.append(pieces[0])
        for piece in pieces[1:]:
            out.append(Text(" " * indent) + piece)
    return Text("\n").join(out)


class DetailView(VerticalScroll):
    DEFAULT_CSS = """
    DetailView { height: 1fr; scrollbar-gutter: stable; }
    """

    def compose(self):
        self._body = Static("", id="detail-body", markup=False)
        yield self._body

    def show(self, ev: StreamEvent, anomalies=()) -> None:
        self._shown = (ev, anomalies)
        self._draw()
        self.scroll_home(animate=False)

    def on_resize(self, event) -> None:
        if getattr(self, "_shown", None) is not None:
            self._draw()

    def _draw(self) -> None:
        from .theme import pane_styles

        ev, anomalies = self._shown
        width = max(20, self.size.width - self.styles.scrollbar_size_vertical)
        self._body.update(render_detail(ev, anomalies, pane_styles(self.app), width))
