"""The streamview App: three panes fed from one model by a 30 Hz frame, a source worker that only folds events."""

from __future__ import annotations

import asyncio
import gc
import time
import sys
from functools import partial
from typing import Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, Sparkline, Static
from textual.worker import Worker, WorkerState

from streamview.replay.player import Player
from streamview.events import StreamEvent
from streamview.memory import keep_mmap_threshold
from streamview.session import Session
from streamview.store import EventStore
from streamview.render import timeline_bins
from streamview.sanitize import visible_line
from streamview.widgets.detail_view import DetailView
from streamview.widgets.event_list import HEADER, EventList
from streamview.widgets.lines import no_pinned_styles_caches, no_strip_cycles
from streamview.widgets.message_view import MessageView
from streamview.widgets.response_view import ResponseView

from .help import HelpScreen
from .keybar import KeyBar

FRAME = 1 / 30  # seconds between the heartbeat's looks at the model (a frame is drawn when something changed)
MIN_GAP = 1 / 40  # seconds at least between two frames: an event that arrives is drawn this soon after the last one,
# not at the heartbeat's next tick (and Textual's own repaint follows within a millisecond: tui/__init__).
# At 60 a second a frame at 200x50 (15 to 20 ms) left the loop no time to read: at 1,000 events/s the median wait
# from arrival to screen was 35 to 42 ms, against 25 to 28 ms at 40 (benchmarks/live_latency.py, runs alternated)
BUSY_RATE = 3_000  # events a second above which frames come at most BUSY_GAP apart, not MIN_GAP: at 10,000 events
BUSY_GAP = 1 / 20  # a second, 40 repaints a second of 15 to 25 ms each left the loop too little time to read, and
# the stream fell behind (arrival to screen p50 93 -> 55 ms, p99 174 -> 143 ms, medians of 6 alternated rounds of
# benchmarks/live_latency.py; at 1,000 events a second nothing changes)
STATUS_EVERY = 0.25  # seconds at least between two draws of the status line that change only its counts, while
STATUS_FAST = 0.05  # its counts change less than this many seconds apart
TIMELINE_EVERY = 0.25  # seconds between redraws of the timeline while events keep arriving
LOADING_FRAME = 0.35  # seconds between frames while a file loads at full speed (--instant): each draws half of the
# panes (all of them took 15 to 20 ms at 200x50, and Textual's repaint after it 20 to 70), and keys are drawn at once.
# At 0.2 the frames took a sixth of the load: the 1M transcript on screen in 20.09, 19.45 s against 18.47, 18.61 s
# at 0.35, key waits the same (benchmarks/tui_replay.py, alternated, 2026-12-04)
GC_FULL_NEVER = 1_000_000  # the collector's third threshold while the app runs: no automatic full collections
FREEZE_EVERY = 5_000  # events: how often the objects alive are moved out of the collector's sight (``_settle_gc``)
QUIET = 1.0  # seconds without a new event after which what is young is collected
SWEEP_EVERY = 600.0  # seconds between collections of the whole heap (one pause of 100 to 300 ms at a million
# events), at a quiet moment; and at twice that whatever the stream does
no_strip_cycles()  # (widgets/lines.py: the compositor's strips are freed as soon as they go, not by the collector)
no_pinned_styles_caches()  # (widgets/lines.py: a widget's drawn lines go with it)
NARROW = 120  # below this many columns the events pane spans the top, message and response share the bottom


class StreamviewApp(App[int]):
    TITLE = "streamview"
    CSS_PATH = "app.tcss"

    # one table: key -> action -> description (key bar, help screen and command palette all read it)
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", id="pause", tooltip="Pause or resume the replay"),
        Binding("n", "step", "Step", id="step", tooltip="Emit one more event (pauses)"),
        Binding("n", "next_flow", "Next flow", id="next-flow", tooltip="The next flow (proxy)"),
        Binding("p", "previous_flow", "Prev flow", id="previous-flow", tooltip="The previous flow (proxy)"),
        Binding("plus,equals_sign", "faster", "Faster", id="faster", key_display="+", tooltip="Double the replay speed"),
        Binding("minus", "slower", "Slower", id="slower", key_display="-", tooltip="Halve the replay speed"),
        Binding("e", "end", "End", id="end", tooltip="Jump to the end: emit the rest now and follow it"),
        Binding("r", "restart", "Restart", id="restart", tooltip="Replay from the first event"),
        Binding("escape", "live", "Live", id="live", show=False, tooltip="Leave the event detail and time travel"),
        Binding("a", "anomaly(1)", "Next anomaly", id="next-anomaly", tooltip="Select the next anomaly (detail and time travel)"),
        Binding("A", "anomaly(-1)", "Prev anomaly", id="prev-anomaly", show=False, tooltip="Select the previous anomaly"),
        Binding("f", "filter", "Filter", id="filter", tooltip="Cycle the event filter: all, no deltas, this item, anomalies"),
        Binding("slash", "search", "Search", id="search", key_display="/", tooltip="Search event payloads (enter finds the next)"),
        Binding("m", "markdown", "Markdown", id="markdown", tooltip="Show the message as Markdown or as raw text"),
        Binding("s", "save", "Save", id="save", tooltip="Save the stream so far as a transcript file"),
        Binding("y", "copy", "Copy", id="copy", tooltip="Copy to the clipboard: the selected event's JSON, or the focused pane's text (message, response)"),
        Binding("question_mark,f1", "help", "Help", id="help", key_display="?", tooltip="Keys and what they do"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit streamview"),
    ]

    def __init__(self, session: Session | Player, label: str = "", proxy=None, server=None) -> None:
        """``session``: the stream to show (a ``Player`` is wrapped in a session of its own). ``proxy`` (a
        ``replay.proxy.Proxy``) and ``server`` (the ``EmbeddedServer`` serving it): the proxy's mode, whose first
        screen is the flow list; the server runs in this App's event loop, started and stopped with it."""
        super().__init__()
        self.proxy = proxy
        self.server = server
        self.flow = None  # the proxy flow the panes show
        if not isinstance(session, Session):
            session = Session(label, player=session)
        self.model = session
        self.player: Player = session.player
        if self.player is None and proxy is not None:  # no flow open yet: an empty, finished one
            from streamview.replay.proxy import Flow, FlowPlayer

            self.player = FlowPlayer(Flow(0, "", "", "", None, end="none"))  # type: ignore[assignment]
        self.label = label or session.source
        self.travel: int | None = None  # the event the message pane is showing the state after
        self.saved_path: str | None = None
        self._shown = -1
        self._status_text = ""
        self._status_steady: tuple = ()  # the status line's bits but its counts, as last drawn
        self._status_at = 0.0  # when the status line was last drawn
        self._status_asked = 0.0  # when its text last changed (drawn or not)
        self._status_n = 0  # the number of events then
        self._status_trailing = None  # the timer that draws the last counts (``_update_status``)
        self._marks_key = (0, False)
        self._timeline_at = 0.0
        self._times_read = 0  # the events whose arrival times the timeline has looked at (whether they go back)
        self._times_last = float("-inf")  # the last of those times
        self._times_ordered = True  # they never went back (the timeline bins them by bisection)
        self.search_query = ""
        self._search_note = ""  # a search's progress, in the status line while it runs
        self._filter_step = 0
        self._finished = False
        self._frozen_at = 0
        self._frozen_time = 0.0
        self._young = False  # objects made since the last freeze that no collection of the young has looked at
        self._swept_time = time.monotonic()
        self._gc_seen = 0
        self._gc_quiet_from = 0.0
        self._synced_at = 0.0  # when the panes were last brought up to date
        self._half: bool | None = None  # loading at full speed: True, the last frame drew the events' half of the panes
        self._drawn_at = 0.0  # when the last frame was drawn (``render_frame``)
        self._drawn_n = 0  # ... and how many events there were then
        self._gap = MIN_GAP  # seconds at least from it to the next: BUSY_GAP while events pour in
        self._frame_soon = None  # the frame an arrived event asked for (``asyncio.TimerHandle``), until it runs
        self._timeline_stale = False  # events the timeline has not drawn yet
        self._gc_threshold = gc.get_threshold()

    # -- layout ------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="status", markup=False)
        with Container(id="panes"):
            with Vertical(id="events-pane", classes="pane"):
                yield Sparkline([0], id="timeline")
                yield Static(Text(HEADER, style="bold"), id="events-header", markup=False)
                yield EventList(self.model, id="events")
                yield Input(placeholder="search event payloads (enter: next match, escape: close)", id="search")
            yield MessageView(id="message", classes="pane")
            with ContentSwitcher(initial="response", id="right", classes="pane"):
                yield ResponseView(id="response")
                yield DetailView(id="detail")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one("#events-pane").border_title = "events"
        self.query_one("#message").border_title = "message"
        self.query_one("#right").border_title = "response"
        self._apply_width(self.size.width)
        self._events = self.query_one(EventList)
        # what the frame timer draws into, found once: a query would look at whatever screen is on top (help, the
        # palette) and, while the app shuts down, at a screen whose widgets are going
        self._message_view = self.query_one(MessageView)
        self._response_view = self.query_one(ResponseView)
        self._status = self.query_one("#status", Static)
        self._timeline = self.query_one("#timeline", Sparkline)
        self._events.focus()
        from . import settings

        chosen = settings.load().get("theme")  # the theme chosen last time, if this Textual still has it
        if isinstance(chosen, str) and chosen in self.available_themes and chosen != self.theme:
            self.theme = chosen
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.set_interval(FRAME, self.render_frame)
        keep_mmap_threshold()  # what a huge event took goes back to the system once it has gone (``memory``)
        gc.collect()
        gc.freeze()  # the app as it starts (modules, classes, widgets) lives as long as it does
        # no automatic full collections: ``_settle_gc`` decides when the whole heap is walked (see there)
        gc.set_threshold(self._gc_threshold[0], self._gc_threshold[1], GC_FULL_NEVER)
        if self.proxy is not None:
            from .flows import FlowList

            self.install_screen(FlowList(self.label), name="flows")  # one list: its filter and sort stay
            self.push_screen("flows")
            if self.server is not None:
                self.run_worker(self._serve_proxy(), group="proxy", exit_on_error=False)
            return
        self.consume()

    # -- the proxy's flows --------------------------------------------------------------------------------------
    def open_flow(self, flow) -> None:
        """Show ``flow`` in the three panes (following it while it is in flight); the flow list goes."""
        from streamview.replay.proxy import FlowPlayer

        if flow.session is None:
            self.notify(visible_line(f"flow #{flow.n} is not a stream ({flow.status or '-'}): "
                                     + (f"its body is {flow.file}" if flow.file else "nothing to show in the panes")),
                        markup=False)
            return
        from .flows import FlowList

        if isinstance(self.screen, FlowList):
            self.pop_screen()
        self._opening = True  # leaving time travel, not the flow
        try:
            self.action_live()
        finally:
            self._opening = False
        self.flow = flow
        self.model = flow.session
        self.player = FlowPlayer(flow)  # type: ignore[assignment]
        self.label = f"flow #{flow.n} {flow.api} {flow.model}".strip()
        self.travel = None
        self._shown = -1
        self._marks_key = (0, False)
        self._forget_times()
        self._finished = False
        self._events.set_session(flow.session)
        self._message_view.reset()
        self._response_view.update_from(self.model, force=True)
        self.consume()

    def _step_flow(self, step: int) -> None:
        flows = self.proxy.flows if self.proxy is not None else []
        streams = [f for f in flows if f.session is not None]
        if self.flow is None or not streams:
            return
        at = next((i for i, f in enumerate(streams) if f is self.flow), 0)
        self.open_flow(streams[max(0, min(len(streams) - 1, at + step))])

    def action_next_flow(self) -> None:
        self._step_flow(1)

    def action_previous_flow(self) -> None:
        self._step_flow(-1)

    async def _serve_proxy(self) -> None:
        await self.proxy.start()
        await self.server.start()

    def _theme_changed(self, theme) -> None:
        """A theme switch repaints every pane at once (the rows' cached colours go), and is kept for next time."""
        from . import settings

        self._events.redraw()
        self._message_view.text_view.restyle()
        self._response_view.restyle()
        for bar in self.screen_stack[0].query(KeyBar):
            bar.call_after_refresh(bar._rebuild)
        settings.save(theme=self.theme)

    async def on_unmount(self) -> None:
        gc.unfreeze()  # what this app froze is ordinary garbage again once it has gone (several apps in one process)
        gc.set_threshold(*self._gc_threshold)
        if self._frame_soon is not None:
            self._frame_soon.cancel()
        if self.server is not None:
            await self.server.stop()
        if self.proxy is not None:
            await self.proxy.aclose()

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)
        self.call_after_refresh(self._update_header)

    _header_text = HEADER

    def _update_header(self) -> None:
        """The events' column header follows the rows' layout (a protocol without sequence numbers has no seq
        column; the type column is as wide as its labels and the pane allow)."""
        events = getattr(self, "_events", None)
        if events is None or not events.is_attached:
            return
        text = events.header()
        if text != self._header_text:
            self._header_text = text
            for header in self.screen_stack[0].query("#events-header"):
                header.update(Text(text, style="bold"))

    def _apply_width(self, width: int) -> None:
        # the panes' screen, whatever is on top (a resize while the help screen is open)
        for panes in (self.screen_stack[0].query("#panes") if self.screen_stack else ()):
            panes.set_class(width < NARROW, "narrow")

    # -- the source: a worker that only folds events into the model -------------------------------------------
    @work(exclusive=True, group="source", exit_on_error=False)
    async def consume(self) -> None:
        # a file's events without pacing go a batch at a time (a million in seconds); a live stream's one at a time,
        # as they come, as before batches: at 10,000 events/s they measured no better, and in two alternated runs
        # worse (p99 to screen 201 and 218 ms against 155 and 149, benchmarks/live_latency.py)
        many = self._on_events if self.player.live is None else None
        await self.player.run(self._on_event, self._on_finish, emit_many=many)

    def _on_events(self, events: list[StreamEvent]) -> None:
        self.model.add_many(events)
        self._arrived()

    def _on_event(self, ev: StreamEvent) -> None:
        self.model.add(ev)
        self._arrived()

    def _arrived(self) -> None:
        p = self.player
        if self._frame_soon is None and not (p.instant and p.live is None):
            # drawn as soon as the last frame allows, not at the heartbeat's next tick (a file loading at full speed
            # is drawn by the heartbeat, 5 times a second: ``render_frame``)
            delay = max(0.0, self._drawn_at + self._gap - time.monotonic())
            self._frame_soon = asyncio.get_running_loop().call_later(delay, self._frame_now)

    def _frame_now(self) -> None:
        self._frame_soon = None
        self.render_frame()

    def _on_finish(self) -> None:
        self._finished = True
        self.model.finish()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.player.read_error = f"source failed: {type(error).__name__}: {error}"
            self.notify(visible_line(self.player.read_error), severity="error", markup=False, timeout=10)

    # -- the frame: the only place widgets are fed -------------------------------------------------------------
    def phase(self) -> str:
        p = self.player
        if p.read_error:
            return "interrupted" if p.interrupted else "failed"
        if self.travel is not None:
            return f"time travel @ #{self.travel}"
        if p.finished:
            return "ended" if self.model.state.terminal_event is not None else "ended, no terminal event"
        if p.paused:
            return "paused"
        if p.follow and p.cursor >= len(p.buffer):
            return "following"
        return "streaming" if self.model.events else "waiting"

    def _settle_gc(self) -> None:
        """Keep garbage-collection pauses short while events arrive, and memory flat.

        The events are not Python objects (``store.EventStore``), and the frames make no cyclic garbage
        (``widgets.lines.no_strip_cycles``): what the collector would walk is the UI's own long-lived objects, which
        CPython's automatic full collections walked every few hundred milliseconds (20 to 200 ms each, and a live
        stream's rows waited for them). So while the app runs there are no automatic full collections
        (``GC_FULL_NEVER``); while events arrive, once a second (or each ``FREEZE_EVERY`` events), the young
        generations are collected and everything alive is frozen (``gc.freeze``: no collection walks it again);
        a second after the events stop, what was made since the last freeze is collected and frozen too. What was
        alive at a freeze and became cyclic garbage later (a few hundred objects in ten seconds of a live stream at
        1,000 events a second) is collected by a sweep of the whole heap (``_sweep``), every ``SWEEP_EVERY``
        seconds at a quiet moment, or at twice that whatever the stream does.
        """
        # the proxy's flows all add events, whichever one is shown
        n = self.proxy.events if self.proxy is not None else len(self.model.events)
        now = time.monotonic()
        since_sweep = now - self._swept_time
        if n != self._gc_seen:
            self._gc_seen, self._gc_quiet_from = n, now
            if abs(n - self._frozen_at) >= FREEZE_EVERY or now - self._frozen_time >= 1.0:
                if since_sweep >= 2 * SWEEP_EVERY:
                    self._sweep(now)
                else:
                    gc.collect(1)
                gc.freeze()
                self._frozen_at, self._frozen_time, self._young = n, now, True
        elif now - self._gc_quiet_from >= QUIET and (self._young or self._sweep_due(since_sweep)):
            if self._sweep_due(since_sweep):
                self._sweep(now)
            else:
                gc.collect()  # the frozen heap is not walked: this is what was made since the last freeze
            gc.freeze()
            self._young = False

    def _sweep_due(self, since_sweep: float) -> bool:
        return since_sweep >= SWEEP_EVERY and self._frozen_time > self._swept_time  # (something frozen since)

    def _sweep(self, now: float) -> None:
        """Undo the freezes and collect everything: the garbage they kept goes (one pass over the whole heap)."""
        gc.unfreeze()
        gc.collect()
        self._swept_time = now

    def render_frame(self) -> None:
        self._settle_gc()
        model = self.model
        key = (len(model.events), model.state.structure, self.player.paused, self.player.speed, self.player.finished, self.travel, self.player.total, self.player.read_error, len(model.anomalies), model.checker.withdrawn)
        events = self._events
        if not events.is_attached:
            return  # shutting down
        if events.follow and events.scroll_y < events.max_scroll_y:
            events.scroll_end(animate=False, immediate=True, x_axis=False)  # layout changed under a following list
        now = time.monotonic()
        if key == self._shown:
            if self._timeline_stale:
                self._update_timeline()
            return
        p = self.player
        loading = (p.instant and p.live is None and not p.finished and not (p.follow and p.cursor >= len(p.buffer)))
        if loading and now - self._synced_at < LOADING_FRAME:
            # a file loading at full speed: drawn 5 times a second, half of the panes at a time (the events, then
            # the message and the response), so that no frame's repaint keeps a key waiting long; a followed file
            # that has caught up is drawn as its events come
            return
        if now - self._drawn_at < self._gap:  # too soon after the last frame: this one comes when it may
            if self._frame_soon is None:
                wait = self._drawn_at + self._gap - now
                self._frame_soon = asyncio.get_running_loop().call_later(wait, self._frame_now)
            return
        n = len(model.events)
        rate = (n - self._drawn_n) / max(1e-3, now - self._drawn_at)  # events a second since the last frame
        self._gap = BUSY_GAP if rate > BUSY_RATE else MIN_GAP
        self._synced_at, self._drawn_at, self._drawn_n = now, now, n
        self._half = half = (not self._half) if loading else None
        if half is not True:
            self._shown = key
        streaming = not self.player.finished
        with self.batch_update():
            marks_key = (model.checker.withdrawn, model.finished)
            if marks_key != self._marks_key:
                self._marks_key = marks_key
                events.redraw()  # a withdrawn gap or an end-of-stream anomaly marks an old row
            if half is not False:
                events.sync(len(model.events))
                self._update_header()
                self._update_timeline()
                if half:
                    self._update_status()
                    return
            self._message_view.update_live(model.state, streaming)
            if self.flow is not None:  # a proxy flow: no replay speed; the request's own body beside the answer
                from streamview.state import clip

                extra = {"request body": clip(self.flow.request_body, 600)} if self.flow.request_body else {}
            else:
                extra = {"speed": f"{self.player.speed:g}x"}
            if self.player.read_error:
                extra["error"] = self.player.read_error
            self._response_view.update_from(model, extra)
            self._update_status()

    def _update_status(self, force: bool = False) -> None:
        """The status line (the top line). While events arrive fast (frames less than ``STATUS_FAST`` apart, or
        more than one event a frame), a change of only its counts (events, the rate) is drawn at most
        ``STATUS_EVERY`` seconds apart, and the last counts once the stream goes quiet; slower, every change is
        drawn, so the counts agree with the rows. The line spans the screen, and Textual repaints the box around
        all of a frame's changes: a count ticking at each frame had the whole screen drawn each time (the response
        pane too, which had not changed)."""
        model, p = self.model, self.player
        n = len(model.events)
        count = f"{n:,}/{p.total:,} events" if p.total is not None else f"{n:,} events"
        bits = [" streamview", self.label, model.state.status or "-", self.phase(), count]
        volatile = {4}  # the bits that tick while events arrive: the count, the rate
        # the timings are the stream's own only when it has them (live arrival, or a transcript's t= times); a
        # transcript without them is played at a steady pace, and that schedule says nothing about the stream
        first = model.first
        if first is not None and not first.t_synthetic:
            if model.time_to_first_delta is not None:
                bits.append(f"first token {model.time_to_first_delta:.2f}s")
            elif model.time_to_first_event is not None:
                bits.append(f"first event {model.time_to_first_event:.2f}s")
            if model.rate is not None:
                volatile.add(len(bits))
                bits.append(f"{model.rate:,.0f} ev/s")
        elif first is not None:
            bits.append("no timing recorded")
        if p.live is None:
            bits.append(f"{p.speed:g}x")
        errors = sum(1 for a in model.anomalies if a.severity == "error")
        if errors:
            bits.append(f"! {errors} anomal{'y' if errors == 1 else 'ies'}")
        if p.read_error:
            bits.append(f"! {p.read_error}")
        if self._search_note:
            bits.append(self._search_note)
        text = "  ".join(visible_line(b) for b in bits)
        if text == self._status_text:
            return
        steady = tuple(b for i, b in enumerate(bits) if i not in volatile)
        now = time.monotonic()
        # fast: frames close together, or more than one event since the last change (a frame that had to wait)
        fast = now - self._status_asked < STATUS_FAST or n - self._status_n > 1
        self._status_asked, self._status_n = now, n
        if not force and fast and steady == self._status_steady and now - self._status_at < STATUS_EVERY:
            if self._status_trailing is None:  # the last counts, once the stream goes quiet
                self._status_trailing = self.set_timer(STATUS_EVERY, self._status_trail)
            return
        if self._status_trailing is not None:
            self._status_trailing.stop()
            self._status_trailing = None
        self._status_text, self._status_steady, self._status_at = text, steady, now
        self._status.update(Text(text), layout=False)  # one docked line: no layout of the screen each frame

    def _status_trail(self) -> None:
        self._status_trailing = None
        if self._status.is_attached:
            self._update_status(force=True)

    # -- actions -----------------------------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        self.player.toggle_pause()

    def action_step(self) -> None:
        self.player.step()

    def action_faster(self) -> None:
        self.player.faster()

    def action_slower(self) -> None:
        self.player.slower()

    def action_end(self) -> None:
        self.action_live()
        self.player.to_end()
        self.query_one(EventList).follow_end()

    def action_restart(self) -> None:
        self.action_live()
        self.model.reset()
        self._forget_times()
        self.query_one(EventList).set_events(self.model.events)
        self.query_one(MessageView).reset()
        self._finished = False
        self._shown = -1
        self.player.restart()

    def action_markdown(self) -> None:
        view = self.query_one(MessageView)
        state = self.model.state_at(self.travel) if self.travel is not None else self.model.state
        on_ = view.toggle_markdown(state)
        view.border_subtitle = "markdown" if on_ else ""

    def action_anomaly(self, direction: int) -> None:
        """Select the next (1) or previous (-1) anomalous event after or before the cursor."""
        marks = sorted(self.model.marks())
        if not marks:
            self.notify("no anomalies so far", markup=False)
            return
        events = self.query_one(EventList)
        here = events.cursor
        if direction > 0:
            target = next((i for i in marks if here is None or i > here), marks[0])
        else:
            target = next((i for i in reversed(marks) if here is None or i < here), marks[-1])
        events.focus()
        events.select(target)

    FILTERS = ("all", "no deltas", "this item", "anomalies")

    def action_filter(self) -> None:
        """Cycle: all events, no deltas, the selected event's item only (skipped with no selection), anomalies."""
        events = self.query_one(EventList)
        marks = self.model.marks
        step = self._filter_step
        for _ in range(len(self.FILTERS)):
            step = (step + 1) % len(self.FILTERS)
            name = self.FILTERS[step]
            if name == "this item":
                key = self.model.key_of(events.cursor) if events.cursor is not None else None
                if key is None:
                    continue
                key_of = self.model.key_of
                events.set_filter(f"output item {key}", lambda i, key=key: key_of(i) == key)
            elif name == "no deltas":
                is_delta = self.model.is_delta
                events.set_filter(name, lambda i: not is_delta(i))
            elif name == "anomalies":
                error_of = self.model.events.error_of  # from the store: no event read
                events.set_filter(name, lambda i: i in marks() or error_of(i) is not None)
            else:
                events.set_filter(name, None)
            break
        self._filter_step = step

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.search_query
        box.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, message: Input.Submitted) -> None:
        query = message.value
        self.search_query = query
        if not query:
            return
        events = self.query_one(EventList)
        start = (events.cursor + 1) if events.cursor is not None else 0
        # in a worker, a slice at a time: a million payloads take a second or two, and keys are answered meanwhile;
        # a new search (or escape) stops this one
        self.run_worker(self._search(query, start), group="search", exclusive=True, exit_on_error=False)

    async def _search(self, query: str, start: int) -> None:
        from streamview.search import Search

        search = Search(self.model.events, query, start)
        told = 0.0
        try:
            while not search.step():
                if time.monotonic() - told > 0.1:
                    told = time.monotonic()
                    self._search_note = f"searching {query!r}: {search.progress:.0%} of {search.total:,} events"
                    self._update_status()
                await asyncio.sleep(0)
        finally:
            self._search_note = ""
            self._update_status()
        if search.found is not None:
            self.query_one(EventList).select(search.found)
        else:
            self.notify(visible_line(f"no event matches {query!r}"), markup=False)

    def _close_search(self) -> bool:
        self.workers.cancel_group(self, "search")
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.query_one(EventList).focus()
            return True
        return False

    def _update_timeline(self) -> None:
        """Events per time slice over the whole stream: bursts and stalls at a glance."""
        import time

        now = time.monotonic()
        events = self.model.events
        # at most 4 times a second while events arrive (binning times out of order is O(events): then once a
        # second past 100k events); what was left for later is drawn by the heartbeat (``render_frame``), and the
        # end at once, so a paused or finished view is exact
        interval = TIMELINE_EVERY if self._times_ordered else max(TIMELINE_EVERY, len(events) / 100_000)
        if now - self._timeline_at < interval and not self.player.finished:
            self._timeline_stale = True
            return
        self._timeline_stale = False
        self._timeline_at = now
        n = len(events)
        new = events.times(self._times_read, n)  # from the store's array of times: no event read
        if new and self._times_ordered:
            self._times_ordered = new[0] >= self._times_last and all(a <= b for a, b in zip(new, new[1:]))
        if new:
            self._times_last = new[-1]
        self._times_read = n
        spark = self._timeline
        shared = events.timed() if isinstance(events, EventStore) else None
        if shared is None:  # an event without a time: those that have one (a copy, made for this redraw)
            bins = timeline_bins(events.times(0, n), spark.size.width, n, self._times_ordered)
        else:
            with shared:  # the store's own array, not a copy of it (8 MB at a million events)
                bins = timeline_bins(shared, spark.size.width, n, self._times_ordered)
        spark.data = zero_based(bins, spark.size.width)

    def _forget_times(self) -> None:
        self._times_read = 0
        self._times_last = float("-inf")
        self._times_ordered = True

    def action_save(self) -> None:
        """Ask where (a generated ``streamview-*.sse`` name as the default), then write the stream so far."""
        from . import save

        self.push_screen(save.SavePrompt(save.default_name(self.player.framer.suffix), len(self.model.events)), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if path is None:
            self.notify("not saved", markup=False)
            return
        from streamview.replay.recorder import write_transcript

        try:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                n = write_transcript(fh, self.model.events, self.player.meta, self.player.framing)
        except OSError as exc:
            self.notify(f"could not save {path}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.saved_path = path
        self.notify(f"saved {n:,} events to {path}", markup=False)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """A live stream arrives in real time: the replay's speed keys do nothing there, so they are not offered;
        a proxy flow has no pause, restart or end either, and `n` / `p` move between flows."""
        if action in ("faster", "slower") and getattr(self, "player", None) is not None and self.player.live is not None:
            return False
        if getattr(self, "proxy", None) is not None and self.screen_stack and type(self.screen).__name__ == "FlowList":
            return action in ("help", "quit")  # the flow list has its own keys: the panes' are not offered there
        flowing = getattr(self, "flow", None) is not None
        if action in ("toggle_pause", "restart", "end", "step"):
            return not flowing
        if action in ("next_flow", "previous_flow"):
            return flowing
        return True

    def copy_target(self) -> tuple[str, str] | None:
        """What ``y`` copies, and in words: the message text when the message pane has focus, the response rows
        when the response pane has, else the selected event's JSON (its data as received, pretty when it is JSON)."""
        focused = self.focused
        message = self._message_view
        if focused is not None and (focused is message or message in focused.ancestors):
            text = self.model.state.text()
            return text, f"the message text ({len(text):,} characters)"
        if focused is not None and (focused is self._response_view or self._response_view in focused.ancestors):
            from streamview.render import response_rows, row_text

            lines = [f"{label}  {value}".rstrip() for label, value in (row_text(r) for r in response_rows(self.model)) if label]
            return "\n".join(lines), "the response pane's rows"
        index = self._events.cursor
        if index is None or index >= len(self.model.events):
            return None
        ev = self.model.events[index]
        payload = ev.payload
        import json

        text = json.dumps(payload, indent=2, ensure_ascii=False) if payload is not None else ev.data
        return text, f"event #{index}'s {'JSON' if payload is not None else 'data'} ({len(text):,} characters)"

    def action_copy(self) -> None:
        target = self.copy_target()
        if target is None:
            self.notify("nothing to copy: select an event (up/down) or focus a pane", severity="warning", markup=False)
            return
        text, what = target
        self.copy_to_clipboard(text)
        self.notify(f"copied {what} to the clipboard", markup=False)

    def offered(self) -> list[Binding]:
        """The app's bindings that do something here (``check_action``): a replay's have no flow keys, a proxy
        flow's no pause or step."""
        return [b for b in self.BINDINGS if isinstance(b, Binding) and self.check_action(b.action.split("(")[0], ()) is not False]

    def action_help(self) -> None:
        from .flows import FlowList
        from .help import FLOW_KEYS

        if isinstance(self.screen, FlowList):
            self.push_screen(HelpScreen(self.screen.BINDINGS, FLOW_KEYS))
            return
        self.push_screen(HelpScreen(self.offered()))

    def action_live(self) -> None:
        if self._close_search():
            return
        if self.travel is None:
            if self.flow is not None and not getattr(self, "_opening", False) and self.screen is self.screen_stack[0]:
                self.push_screen("flows")  # escape from a flow: back to the list
            return
        self.travel = None
        self.query_one("#right", ContentSwitcher).current = "response"
        self.query_one("#right").border_title = "response"
        view = self.query_one(MessageView)
        view.border_subtitle = "markdown" if view.markdown_mode else ""
        view.leave_travel(self.model.state, not self.player.finished)
        self._shown = -1

    @on(EventList.Selected)
    def _selected(self, message: EventList.Selected) -> None:
        index = message.index
        if index >= len(self.model.events):
            return
        self.travel = index
        ev = self.model.events[index]
        self.query_one(DetailView).show(ev, self.model.marks().get(index, ()))
        right = self.query_one("#right", ContentSwitcher)
        right.current = "detail"
        right.border_title = f"event #{index}"
        view = self.query_one(MessageView)
        view.show_state(self.model.state_at(index), index)
        view.border_subtitle = f"as of event #{index} · escape for live"
        self._shown = -1

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own "Keys" panel lists the widgets' inner bindings (g/G, ...) that streamview's help does not:
        # one help, ours, so the palette offers it once
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        for binding in self.offered():
            if binding.description and binding.action != "quit":
                yield SystemCommand(binding.description, binding.tooltip or binding.description, partial(self.run_action, binding.action))


def zero_based(counts: list[int], width: int) -> list[int]:
    """``counts`` for Textual's Sparkline, which scales from the data's minimum to its maximum (so 2 and 3 events a
    slice draw as empty and full): each count repeated so there are at least two values a column, then one 0,
    which its column's other values hide (a column draws the largest) but which puts the scale's floor at 0."""
    if not counts:
        return []
    reps = -(-2 * max(width, 1) // len(counts))
    return [c for c in counts for _ in range(reps)] + [0]


def run_app(session: Session) -> int:
    """Run the UI on ``session``; the exit code says whether the stream ended in failure (1) or not (0)."""
    from streamview.outcome import judge

    player = session.player
    app = StreamviewApp(session)
    app.run()
    if app.return_code:
        return app.return_code
    # the outcome table, as the other modes apply it; a quit before the end is judged on what had arrived
    ended = player.finished
    if ended:
        app.model.finish()  # what the end of input decides (no-op when the app saw the end itself)
    verdict = judge(app.model, ended=ended, read_error=player.read_error, live=player.live is not None)
    if verdict.reason:
        from streamview.sanitize import visible_line

        print(visible_line(f"streamview: {verdict.reason}"), file=sys.stderr)
    return verdict.code
