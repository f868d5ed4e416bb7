"""The save prompt: where to write the stream so far, with a generated name as the default (``streamview-*.sse``,
``.ndjson`` for an NDJSON stream: one pattern a user can ignore in version control). Enter saves, escape cancels;
a file that exists is overwritten only when enter is pressed a second time on the same name."""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


def default_name(suffix: str = ".sse") -> str:
    """``streamview-YYYYmmdd-HHMMSS.sse`` (``.ndjson`` for an NDJSON stream): the time now, one pattern to ignore."""
    import time

    return time.strftime("streamview-%Y%m%d-%H%M%S") + suffix


def resolve(name: str) -> str:
    """The absolute path a typed name means (``~`` expanded, relative to the working directory)."""
    return os.path.abspath(os.path.expanduser(name.strip()))


class SavePrompt(ModalScreen[str | None]):
    """Dismissed with the absolute path to write, or None (cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SavePrompt { align: center middle; }
    SavePrompt > Vertical { width: 80; max-width: 95%; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    SavePrompt #save-note { color: $text-muted; }
    SavePrompt #save-warning { color: $warning; }
    """

    def __init__(self, default: str, events: int) -> None:
        super().__init__()
        self.default = default
        self.events = events
        self._confirm: str | None = None  # the existing path enter was pressed on once

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Save {self.events:,} events as a transcript:", markup=False)
            yield Input(value=self.default, id="save-path")
            yield Static("enter saves · escape cancels · ~ and relative paths are read from here: "
                         f"{os.getcwd()}", id="save-note", markup=False)
            yield Static("", id="save-warning", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        warning = self.query_one("#save-warning", Static)
        if not event.value.strip():
            warning.update("a file name, please")
            return
        path = resolve(event.value)
        if os.path.isdir(path):
            warning.update(f"{path} is a directory: add a file name")
            return
        if os.path.exists(path) and self._confirm != path:
            self._confirm = path
            warning.update(f"{path} exists: enter again to overwrite it, or change the name")
            return
        self.dismiss(path)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._confirm = None
        self.query_one("#save-warning", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)
