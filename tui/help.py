"""The help screen: the keys, read from the same binding table the key bar and the command palette use."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

EXTRA_KEYS = [
    ("up/down, j/k", "move the event cursor (stops following the stream)"),
    ("pgup/pgdn, home", "page through events, go to the first"),
    ("end", "follow the end of the stream again"),
    ("enter / click", "show the event's JSON and time-travel the message to it"),
    ("ctrl+p", "command palette (every action below is there)"),
    ("ctrl+c", "copy the selected text"),
    ("ctrl+q", "quit"),
]

FLOW_KEYS = [  # the proxy's flow list
    ("up/down, j/k", "move the cursor over the flows"),
    ("pgup/pgdn, home/end", "page through the flows, go to the first or the last"),
    ("enter / click", "open the flow in the three panes (escape there: back to this list)"),
    ("ctrl+p", "command palette"),
    ("ctrl+q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 95%; height: auto; max-height: 90%; border: thick $primary; background: $surface; padding: 1 2; }
    """

    def __init__(self, bindings: list, extra: list[tuple[str, str]] = EXTRA_KEYS) -> None:
        """``bindings``: the keys that do something where help was asked for; ``extra``: the widgets' own keys."""
        super().__init__()
        self.bindings_table = bindings
        self.extra = extra

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for b in self.bindings_table:
            if isinstance(b, Binding) and b.description:
                keys = b.key_display or b.key.replace("question_mark", "?")
                table.add_row(Text(keys), Text(b.tooltip or b.description))
        for keys, what in self.extra:
            table.add_row(Text(keys), Text(what))
        with VerticalScroll():
            yield Static(Text("streamview keys", style="bold"), markup=False)
            yield Static(table, markup=False)
            yield Static(Text("escape closes this help", style="dim italic"), markup=False)
