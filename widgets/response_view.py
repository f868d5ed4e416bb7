"""The response metadata pane: id, model, status, parameters, usage, timings, HTTP, and what is wrong."""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamview.render import response_rows, row_text
from streamview.sanitize import visible_line
from streamview.session import Session

from .theme import pane_styles


class ResponseView(VerticalScroll):
    DEFAULT_CSS = """
    ResponseView { height: 1fr; scrollbar-gutter: stable; }
    ResponseView > Static { width: 1fr; padding: 0 0 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._key: tuple | None = None
        self._at = 0.0
        self._count = -1
        self._trailing = None
        self._lines = -1  # the body's line count as last drawn

    def compose(self):
        self._body = Static("", id="response-body", markup=False)  # kept: no query while the app shuts down
        yield self._body

    def update_from(self, model: Session, extra: dict[str, str] | None = None, force: bool = False) -> None:
        state = model.state
        # structure and status changes show at once; counts and timings at most 4 times a second
        key = (state.structure, state.status, len(model.anomalies), model.checker.withdrawn, tuple((extra or {}).items()))
        now = time.monotonic()
        if key == self._key and not force and self._count == len(model.events):
            return
        if key == self._key and not force and now - self._at < 0.25:
            if self._trailing is None:  # make sure the last counts show once the stream goes quiet
                self._trailing = self.set_timer(0.25, lambda: self.update_from(model, extra, force=True))
            return
        if self._trailing is not None:
            self._trailing.stop()
            self._trailing = None
        self._key, self._at, self._count = key, now, len(model.events)
        self._model, self._extra = model, extra or {}
        self._draw()

    def restyle(self) -> None:
        """Draw again in the app's current theme (or for a new width)."""
        if getattr(self, "_model", None) is not None:
            self._draw()

    def on_resize(self, event) -> None:
        self.restyle()

    def _draw(self) -> None:
        # the pane less its scrollbar's room (kept whether or not it shows) and the body's left margin
        width = max(20, self.size.width - self.styles.scrollbar_size_vertical - 1)
        body = self.render_body(self._model, self._extra, pane_styles(self.app), width)
        lines = body.plain.count("\n")
        # the screen is laid out again only when the body's height changed (a count ticking does not change it)
        self._body.update(body, layout=lines != self._lines)
        self._lines = lines

    @staticmethod
    def render_body(model: Session, extra: dict[str, str], styles: dict | None = None, width: int = 40) -> Text:
        """Two columns laid out as text (``render.response_rows`` drawn in ``styles``, ``theme.pane_styles``): the
        labels padded to one width, each value wrapped at spaces into the rest of ``width`` (a word longer than
        that, an id, is cut), continuation lines under the value. Plain text, so the mouse can select it."""
        styles = styles or {}
        rows = response_rows(model, extra)
        labelled = [row_text(r) for r in rows if r.label is not None]
        w = max((len(label) for label, _ in labelled), default=0)
        room = max(8, width - w - 1)
        out = Text(end="")
        for r in rows:
            if r.label is None:
                tone = styles.get(r.style) if r.style in ("bad", "warn") else None
                out.append(visible_line(str(r.value)), Style(bold=True, underline=True) + (tone or Style()))
                out.append("\n")
                continue
            label, value = row_text(r)
            lines = wrap_value(value, room)
            out.append(label.ljust(w), "bold")
            for i, line in enumerate(lines):
                out.append(" " if i == 0 else " " * (w + 1))
                out.append(line, styles.get(r.style) or "")
                out.append("\n")
        out.rstrip()
        return out


def wrap_value(value: str, width: int) -> list[str]:
    """``value`` in lines of at most ``width``: its own lines kept, each wrapped at spaces, a longer word cut."""
    import textwrap

    lines: list[str] = []
    for part in value.split("\n") or [""]:
        lines.extend(textwrap.wrap(part, width, break_long_words=True, break_on_hyphens=False,
                                   replace_whitespace=False, drop_whitespace=True) or [""])
    return lines
