"""The response metadata pane: id, model, status, parameters, usage, timings, HTTP, and what is wrong."""

from __future__ import annotations

import time

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamview.render import response_rows, row_text
from streamview.sanitize import visible_line
from streamview.session import Session

from .theme import pane_styles


class ResponseView(VerticalScroll):
    DEFAULT_CSS = """
    ResponseView { height: 1fr; }
    ResponseView > Static { width: 1fr; padding: 0 0 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._key: tuple | None = None
        self._at = 0.0
        self._count = -1
        self._trailing = None

    def compose(self):
        yield Static("", id="response-body", markup=False)

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
        self.query_one("#response-body", Static).update(self.render_body(model, extra or {}, pane_styles(self.app)))

    def restyle(self) -> None:
        """Draw again in the app's current theme."""
        if getattr(self, "_model", None) is not None:
            self.query_one("#response-body", Static).update(self.render_body(self._model, self._extra, pane_styles(self.app)))

    @staticmethod
    def render_body(model: Session, extra: dict[str, str], styles: dict | None = None) -> Table:
        """One two-column grid (so every value column lines up), section titles as rows: ``render.response_rows``
        drawn in ``styles`` (``theme.pane_styles``)."""
        styles = styles or {}
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for r in response_rows(model, extra):
            if r.label is None:
                tone = styles.get(r.style) if r.style in ("bad", "warn") else None
                grid.add_row(Text(visible_line(str(r.value)), style=Style(bold=True, underline=True) + (tone or Style())), Text(""))
                continue
            label, value = row_text(r)
            grid.add_row(Text(label), Text(value, style=styles.get(r.style) or ""))
        return grid
