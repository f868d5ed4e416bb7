"""The key bar: one line of the keys that work here, read from the binding table (as the help screen is).

Textual's own Footer makes a widget per key and re-applies styles to each of them whenever focus or bindings change;
measured on a 100k-event replay it alone held keys up by over 100 ms at start-up and doubled the p95 wait. This bar
is one Static: the text is rebuilt when the screen's bindings change, and a click runs the key under the pointer.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.dom import DOMNode
from textual.events import Click
from textual.screen import Screen
from textual.widgets import Input, Static


# which keys stay when the bar is too narrow for all of them: help and quit always, then the replay's (or a
# proxy flow's) own keys
KEEP_FIRST = ("help", "quit", "toggle_pause", "step", "next_flow", "previous_flow", "select", "anomaly(1)", "filter",
              "search", "end", "save", "copy", "markdown", "restart", "faster", "slower")


_CHARACTER_KEYS = {"space", "plus", "minus", "slash", "question_mark", "equals_sign", "full_stop", "comma"}


def _is_character(key: str) -> bool:
    """Whether pressing ``key`` types a character (so an input box takes it, not the app)."""
    key = key.strip()
    return len(key) == 1 or key in _CHARACTER_KEYS


def _width(entries) -> int:
    return sum(len(key) + len(description) + 3 for key, description, *_ in entries)


def fit(entries: list, width: int) -> list:
    """The entries that fit ``width``, in their own order, dropping the lowest in ``KEEP_FIRST`` first (help and
    quit are never dropped); when even those do not fit with their words, the keys alone."""
    kept = list(entries)
    rank = {action: i for i, action in enumerate(KEEP_FIRST)}
    while _width(kept) > width and len(kept) > 2:
        droppable = [e for e in kept if e[3].action not in ("help", "quit")]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda e: rank.get(e[3].action, len(KEEP_FIRST) - 3)))
    if _width(kept) > width:
        kept = [(key, description[:1], *rest) for key, description, *rest in kept]
    return kept


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground; }
    """
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._spans: list[tuple[int, int, Binding, DOMNode]] = []
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self._rebuild)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self._rebuild()

    def on_resize(self, event) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        if not self.is_attached:
            return
        key_style = self.get_component_rich_style("keybar--key", partial=True)
        desc_style = self.get_component_rich_style("keybar--description", partial=True)
        entries: list[tuple[str, str, bool, Binding, DOMNode]] = []  # key, description, enabled, binding, node
        seen: set[str] = set()
        palette = None
        typing = isinstance(self.screen.focused, Input)  # keys that are characters type into the box: not offered
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if typing and all(_is_character(k) for k in binding.key.split(",")):
                continue
            if binding.key == self.app.COMMAND_PALETTE_BINDING and self.app.ENABLE_COMMAND_PALETTE:
                palette = (node, binding)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            if typing:  # the key that still works while typing (f1 for ?), not the character
                display = next(k.strip() for k in binding.key.split(",") if not _is_character(k))
            entries.append((display, binding.description, enabled, binding, node))
        width = self.size.width or 80
        shown = fit(entries, width)
        text = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, Binding, DOMNode]] = []
        for key, description, enabled, binding, node in shown:
            start = len(text)
            text.append(" ")
            text.append(key, key_style)
            text.append(" ")
            text.append(description, desc_style if enabled else desc_style + "dim")
            text.append(" ")
            spans.append((start, len(text), binding, node))
        if palette is not None:
            node, binding = palette
            hint = f" {self.app.get_key_display(binding)} palette "
            if len(text) + 1 + len(hint) <= width:  # only where it fits: the keys come first
                text.append(" " * (width - len(text) - len(hint)))
                start = len(text)
                text.append(hint, desc_style)
                spans.append((start, len(text), binding, node))
        self._spans = spans
        if text == self._shown:
            return  # the same keys (bindings are announced again whenever focus or a check changes)
        self._shown = text
        self.update(text, layout=False)  # one docked line: no layout of the screen

    async def on_click(self, event: Click) -> None:
        for start, end, binding, node in self._spans:
            if start <= event.x < end:
                event.stop()
                await self.app.run_action(binding.action, node)
                return
