"""The response metadata pane: id, model, status, parameters, usage, timings, HTTP, and what is wrong."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamview.model import StreamModel
from streamview.sanitize import visible_line

PARAMS = (
    "instructions",
    "temperature",
    "top_p",
    "max_output_tokens",
    "max_tool_calls",
    "service_tier",
    "store",
    "truncation",
    "parallel_tool_calls",
    "tool_choice",
    "previous_response_id",
    "background",
)
HEADERS = ("x-request-id", "openai-processing-ms", "openai-version", "openai-organization", "openai-project")


def _v(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}s"


class ResponseView(VerticalScroll):
    DEFAULT_CSS = """
    ResponseView { height: 1fr; }
    ResponseView > Static { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._key: tuple | None = None

    def compose(self):
        yield Static("", id="response-body", markup=False)

    def update_from(self, model: StreamModel, extra: dict[str, str] | None = None, force: bool = False) -> None:
        state = model.state
        key = (len(model.events), state.structure, state.status, tuple((extra or {}).items()))
        if key == self._key and not force:
            return
        self._key = key
        self.query_one("#response-body", Static).update(self.render_body(model, extra or {}))

    @staticmethod
    def render_body(model: StreamModel, extra: dict[str, str]) -> Group:
        state = model.state
        resp = state.response
        sections = []

        def table() -> Table:
            t = Table.grid(padding=(0, 1))
            t.add_column(style="bold", no_wrap=True)
            t.add_column(overflow="fold")
            return t

        def row(t: Table, key: str, value: Any, style: str | None = None) -> None:
            t.add_row(Text(key), Text(visible_line(_v(value)), style=style or ""))

        main = table()
        row(main, "id", state.id or None)
        row(main, "model", state.model or None)
        status_style = {"completed": "green", "failed": "bold red", "incomplete": "yellow"}.get(state.status)
        row(main, "status", state.status or "waiting", status_style)
        created = resp.get("created_at")
        if isinstance(created, (int, float)):
            row(main, "created", datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
        if state.error:
            err = state.error
            row(main, "error", f"{err.get('code') or err.get('type') or ''}: {err.get('message') or ''}", "bold red")
        details = resp.get("incomplete_details")
        if details:
            row(main, "incomplete", details.get("reason") if isinstance(details, dict) else details, "yellow")
        sections.append(main)

        params = table()
        for name in PARAMS:
            if name in resp:
                row(params, name, resp[name])
        reasoning = resp.get("reasoning")
        if isinstance(reasoning, dict):
            row(params, "reasoning", ", ".join(f"{k}={_v(v)}" for k, v in reasoning.items()))
        text_cfg = resp.get("text")
        if isinstance(text_cfg, dict):
            fmt = text_cfg.get("format")
            row(params, "text", ", ".join(
                [f"format={fmt.get('type') if isinstance(fmt, dict) else _v(fmt)}"]
                + [f"{k}={_v(v)}" for k, v in text_cfg.items() if k != "format"]
            ))
        tools = resp.get("tools")
        if isinstance(tools, list):
            names = [str(t.get("name") or t.get("type")) for t in tools if isinstance(t, dict)]
            row(params, "tools", ", ".join(names) if names else "none")
        if params.row_count:
            sections += [Text("parameters", style="bold underline"), params]

        usage = table()
        u = state.usage
        if isinstance(u, dict):
            inp, out = u.get("input_tokens"), u.get("output_tokens")
            cached = (u.get("input_tokens_details") or {}).get("cached_tokens") if isinstance(u.get("input_tokens_details"), dict) else None
            reasoning_t = (u.get("output_tokens_details") or {}).get("reasoning_tokens") if isinstance(u.get("output_tokens_details"), dict) else None
            row(usage, "input", f"{_v(inp)}" + (f" ({cached} cached)" if cached is not None else ""))
            row(usage, "output", f"{_v(out)}" + (f" ({reasoning_t} reasoning)" if reasoning_t is not None else ""))
            row(usage, "total", u.get("total_tokens"))
        else:
            row(usage, "usage", "- (arrives with the terminal event)")
        sections += [Text("usage", style="bold underline"), usage]

        timing = table()
        row(timing, "events", f"{len(model.events):,} ({model.delta_count:,} deltas)")
        synthetic = bool(model.events) and model.events[0].t_synthetic
        row(timing, "first event", _secs(model.time_to_first_event))
        row(timing, "first delta", _secs(model.time_to_first_delta))
        row(timing, "duration", _secs(model.duration))
        rate = model.rate
        row(timing, "rate", "-" if rate is None else f"{rate:,.1f} ev/s")
        if synthetic:
            row(timing, "clock", "no t= times in the transcript: steady replay pace", "dim")
        for k, v in extra.items():
            row(timing, k, v)
        sections += [Text("timings", style="bold underline"), timing]

        meta = model.meta
        if meta.status is not None or meta.headers or meta.request:
            http = table()
            if meta.request:
                row(http, "request", meta.request)
            if meta.status is not None:
                row(http, "status", meta.status, "green" if meta.status == 200 else "bold red")
            shown = [(k, v) for k, v in meta.headers if k.lower() in HEADERS or k.lower().startswith("x-ratelimit")]
            for k, v in shown:
                row(http, k.lower(), v)
            sections += [Text("http", style="bold underline"), http]

        problems = table()
        for ev in model.problems[-20:]:
            row(problems, f"#{ev.index}", f"line {ev.line}: {ev.error}", "red")
        for name, count in state.unknown_types.items():
            row(problems, "note", f"unknown event type {name} ×{count}", "yellow")
        title = f"problems ({len(model.problems)})" if model.problems else "problems"
        sections.append(Text(title, style="bold underline red" if model.problems else "bold underline"))
        if problems.row_count:
            if len(model.problems) > 20:
                sections.append(Text(f"(the last 20 of {len(model.problems)})", style="dim"))
            sections.append(problems)
        else:
            sections.append(Text("none seen", style="dim"))
        return Group(*sections)
