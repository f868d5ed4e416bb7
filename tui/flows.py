"""The proxy's first screen: one row per request through it, as it starts, filled in live. Enter opens a flow in
the three panes (following it while it is in flight); ``/`` filters by text (API, model, path, status, how it
ended); ``t`` and ``d`` sort by start time or duration."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from streamview.replay.proxy import Flow
from streamview.sanitize import visible_line

from streamview.widgets.row_table import RowTable

from .keybar import KeyBar

COLUMNS = ("#", "time", "API", "model", "request", "status", "TTFT", "duration", "events", "tokens in/out", "end",
           "anomalies")
TICK = 0.25  # seconds between looks at the flows


def flow_row(flow: Flow, head: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The flow's cells; ``head``: its first five (``flow_head``), made once."""
    usage = flow.usage
    if usage:
        tokens = f"{usage[0] if usage[0] is not None else '–'} / {usage[1] if usage[1] is not None else '–'}"
    elif flow.session is not None and flow.end:
        tokens = "– no usage"  # never a 0: the stream carried none (its protocol's hint is in the pane)
    else:
        tokens = "–"
    return (head or flow_head(flow)) + (
            str(flow.status) if flow.status is not None else "…",
            f"{flow.ttft:.2f}s" if flow.ttft is not None else "–",
            f"{flow.duration:.2f}s" if flow.duration is not None else f"{flow.elapsed():.1f}s…",
            str(flow.events), tokens, flow.end or "in flight", str(flow.anomalies) if flow.anomalies else "")


def flow_head(flow: Flow) -> tuple[str, ...]:
    """The cells that do not change once a flow has started: number, time, API, model, request."""
    return (str(flow.n), time.strftime("%H:%M:%S", time.localtime(flow.started)), flow.api or "http",
            visible_line(flow.model or "-"), visible_line(f"{flow.method} {flow.path}"))


class FlowList(Screen):
    """The flow list over the proxy's flows (``app.proxy.flows``): the screen owns filter and sort."""

    BINDINGS = [
        Binding("enter", "open", "Open", id="open-flow", tooltip="Open the flow in the three panes"),
        Binding("slash", "filter", "Filter", id="filter-flows", key_display="/", tooltip="Filter flows by text"),
        Binding("t", "sort('time')", "By time", id="sort-time", tooltip="Sort by start time"),
        Binding("d", "sort('duration')", "By duration", id="sort-duration", tooltip="Sort by duration, longest first"),
        Binding("escape", "clear_filter", "Clear", id="clear-filter", show=False, tooltip="Close the filter"),
        Binding("question_mark,f1", "app.help", "Help", id="flows-help", key_display="?", tooltip="Keys and what they do"),
        Binding("q", "app.quit", "Quit", id="flows-quit", tooltip="Quit streamview"),
    ]

    def __init__(self, header: str) -> None:
        super().__init__()
        self.header = header
        self.query_text = ""
        self.sort = "time"
        self._heads: dict[int, tuple[str, ...]] = {}  # by flow number: the cells that never change
        self._ended: dict[int, tuple[str, ...]] = {}  # the whole row of a flow that has ended (it changes no more)

    def compose(self) -> ComposeResult:
        yield Static(Text(self.header), id="flows-header", markup=False)
        # narrow terminals: the model, the request and how it ended give up width (the numbers' columns only their
        # headers), then the start time, the anomalies and TTFT are left out (a flow's own panes have them all)
        yield RowTable(COLUMNS, shrink={3: 8, 4: 12, 10: 9, 9: 0, 8: 0, 7: 0, 5: 0}, drop=(1, 11, 6), id="flows")
        yield Input(placeholder="filter flows: text in the API, model, path, status or end (escape: clear)",
                    id="flow-filter")
        yield KeyBar(id="flow-keys")

    def on_mount(self) -> None:
        self.query_one("#flow-filter").display = False
        self.set_interval(TICK, self.refresh_rows)
        self.refresh_rows()
        self.query_one(RowTable).focus()

    def flows(self) -> list[Flow]:
        flows = list(self.app.proxy.flows)  # type: ignore[attr-defined]
        q = self.query_text.lower()
        if q:
            flows = [f for f in flows if q in " ".join(self.row(f)).lower()]
        if self.sort == "duration":
            flows.sort(key=lambda f: -(f.duration if f.duration is not None else f.elapsed()))
        return flows

    def refresh_rows(self) -> None:
        """The rows as the flows are now (a tick, a filter or sort change): the table draws the lines that changed."""
        flows = self.flows()
        self.query_one(RowTable).set_rows([str(f.n) for f in flows], [self.row(f) for f in flows])

    def row(self, flow: Flow) -> tuple[str, ...]:
        """The flow's cells, made from what changes only (a tick looks at 50 flows in flight)."""
        ended = self._ended.get(flow.n)
        if ended is not None:
            return ended
        head = self._heads.get(flow.n)
        if head is None:
            head = flow_head(flow)
            if flow.status is not None or flow.end:  # its request has been read: the model is known
                self._heads[flow.n] = head
        row = flow_row(flow, head)
        if flow.end:
            self._ended[flow.n] = row
        return row

    def selected(self) -> Flow | None:
        key = self.query_one(RowTable).cursor_key
        return next((f for f in self.app.proxy.flows if str(f.n) == key), None)  # type: ignore[attr-defined]

    def action_open(self) -> None:
        flow = self.selected()
        if flow is not None:
            self.app.open_flow(flow)  # type: ignore[attr-defined]

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        self.action_open()

    def action_sort(self, by: str) -> None:
        self.sort = by
        self.refresh_rows()

    def action_filter(self) -> None:
        box = self.query_one("#flow-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#flow-filter", Input)
        box.value = ""
        box.display = False
        self.query_text = ""
        self.refresh_rows()
        self.query_one(RowTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.refresh_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(RowTable).focus()
