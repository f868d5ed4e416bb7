"""The response metadata pane: id, model, status, parameters, usage, timings, HTTP, and what is wrong."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from streamview.model import StreamModel
from streamview.sanitize import visible_line
from streamview.secrets import is_secret_header, redact_url

PARAMS = {  # the field as the server echoes it -> a short label that keeps the value column wide
    "instructions": "instructions",
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max output",
    "max_tool_calls": "max tools",
    "service_tier": "tier",
    "store": "store",
    "truncation": "truncation",
    "parallel_tool_calls": "parallel",
    "tool_choice": "tool_choice",
    "previous_response_id": "previous",
    "background": "background",
    "system_fingerprint": "fingerprint",  # Chat Completions
}
HEADERS = ("x-request-id", "openai-processing-ms", "openai-version", "openai-organization", "openai-project", "request-id")
PROTOCOL_NAMES = {"chat": "Chat Completions", "anthropic": "Anthropic Messages", "unknown": "unknown: not assembled"}


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
        self._at = 0.0
        self._count = -1
        self._trailing = None

    def compose(self):
        yield Static("", id="response-body", markup=False)

    def update_from(self, model: StreamModel, extra: dict[str, str] | None = None, force: bool = False) -> None:
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
        self.query_one("#response-body", Static).update(self.render_body(model, extra or {}))

    @staticmethod
    def render_body(model: StreamModel, extra: dict[str, str]) -> Table:
        """One two-column grid (so every value column lines up), section titles as rows."""
        state = model.state
        resp = state.response
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")

        def row(key: str, value: Any, style: str | None = None) -> None:
            grid.add_row(Text(visible_line(key)), Text(visible_line(_v(value)), style=style or ""))

        def section(title: str, style: str = "bold underline") -> None:
            grid.add_row(Text(title, style=style), Text(""))

        protocol = getattr(state, "protocol", "responses")
        if protocol in PROTOCOL_NAMES:  # a Responses stream (or one not sniffed yet) shows no row: its layout stays
            row("protocol", PROTOCOL_NAMES[protocol], "yellow" if protocol == "unknown" else None)
        row("id", state.id or None)
        row("model", state.model or None)
        status_style = {"completed": "green", "failed": "bold red", "incomplete": "yellow"}.get(state.status)
        row("status", state.status or "- (no lifecycle event yet)", status_style)
        choices = getattr(state, "choices", None)  # Chat Completions: how each choice finished
        if choices:
            for k in sorted(choices):
                reason = choices[k].finish_reason
                label = "finish" if len(choices) == 1 else f"choice {k}"
                row(label, reason or "- (not yet)", "green" if reason == "stop" else "yellow" if reason else "dim")
                lp = choices[k].logprobs
                if lp is not None:
                    summary = lp.summary()
                    low = summary.get("lowest") or {}
                    mean = summary.get("mean_logprob")
                    bits = [f"{summary.get('content_tokens', 0) + summary.get('refusal_tokens', 0)} tokens"]
                    if mean is not None:
                        bits.append(f"mean {mean:.3f}")
                    if low:
                        bits.append(f"lowest {json.dumps(low.get('token'), ensure_ascii=False)} {low.get('logprob')}")
                    row("logprobs" if len(choices) == 1 else f"  logprobs {k}", ", ".join(bits))
        if protocol == "anthropic":
            reason = resp.get("stop_reason")
            if reason is None:
                row("stop", "- (comes with message_delta)", "dim")
            else:
                stop_sequence = resp.get("stop_sequence")
                text = _v(reason) if stop_sequence is None else f"{_v(reason)} {json.dumps(stop_sequence, ensure_ascii=False)}"
                row("stop", text, "green" if reason in ("end_turn", "stop_sequence", "tool_use") else "yellow")
        created = resp.get("created_at")
        if isinstance(created, (int, float)) and not isinstance(created, bool):
            try:
                row("created", datetime.fromtimestamp(created, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
            except (OverflowError, OSError, ValueError):
                row("created", created)
        if extra.get("error"):
            row("error", extra["error"], "bold red")
        if state.error:
            err = state.error
            row("error", f"{err.get('code') or err.get('type') or ''}: {err.get('message') or ''}", "bold red")
        details = resp.get("incomplete_details")
        if details:
            row("incomplete", details.get("reason") if isinstance(details, dict) else details, "yellow")

        anomalies = model.anomalies
        if anomalies:
            errors = sum(1 for a in anomalies if a.severity == "error")
            section("anomalies", "bold underline red" if errors else "bold underline yellow")
            row("found", f"{errors} error(s), {len(anomalies) - errors} note(s)", "red" if errors else "yellow")
            by_rule: dict[str, int] = {}
            for a in anomalies:
                by_rule[a.rule] = by_rule.get(a.rule, 0) + 1
            row("by rule", ", ".join(f"{rule} ×{n}" for rule, n in sorted(by_rule.items(), key=lambda kv: -kv[1])), "red" if errors else "yellow")
            if len(anomalies) > 20:
                row("", f"(the last 20 of {len(anomalies)}; a/A walk them)", "dim")
            for a in anomalies[-20:]:
                seq = "" if a.seq is None else f" seq {a.seq}"
                row(f"#{a.index}{seq}", f"{a.rule}: {a.message}", "red" if a.severity == "error" else "yellow")
        else:
            row("anomalies", "none seen", "dim")

        params = [(label, resp[name]) for name, label in PARAMS.items() if name in resp]
        reasoning = resp.get("reasoning")
        if isinstance(reasoning, dict):
            params.append(("reasoning", ", ".join(f"{k}={_v(v)}" for k, v in reasoning.items())))
        text_cfg = resp.get("text")
        if isinstance(text_cfg, dict):
            fmt = text_cfg.get("format")
            params.append(("text", ", ".join(
                [f"format={fmt.get('type') if isinstance(fmt, dict) else _v(fmt)}"]
                + [f"{k}={_v(v)}" for k, v in text_cfg.items() if k != "format"]
            )))
        tools = resp.get("tools")
        if isinstance(tools, list):
            names = [str(t.get("name") or t.get("type")) for t in tools if isinstance(t, dict)]
            params.append(("tools", ", ".join(names) if names else "none"))
        if params:
            section("parameters")
            for label, value in params:
                row(label, value)

        section("usage")
        u = state.usage
        if isinstance(u, dict):
            in_details = u.get("input_tokens_details")
            out_details = u.get("output_tokens_details")
            cached = in_details.get("cached_tokens") if isinstance(in_details, dict) else None
            reasoning_t = out_details.get("reasoning_tokens") if isinstance(out_details, dict) else None
            cache = [f"+{u[k]} {label}" for k, label in (("cache_read_input_tokens", "cache read"), ("cache_creation_input_tokens", "cache write")) if isinstance(u.get(k), int)]
            if cached is not None:
                cache.insert(0, f"{cached} cached")
            row("input", _v(u.get("input_tokens")) + (f" ({', '.join(cache)})" if cache else ""))
            row("output", _v(u.get("output_tokens")) + (f" ({reasoning_t} reasoning)" if reasoning_t is not None else ""))
            row("total", u.get("total_tokens"))
        else:
            when = {"chat": "only with stream_options.include_usage, in the last chunk", "anthropic": "comes with message_start"}
            row("tokens", f"- ({when.get(protocol, 'comes with the terminal event')})", "dim")

        section("timings")
        row("events", f"{len(model.events):,} ({model.delta_count:,} deltas)")
        row("first event", _secs(model.time_to_first_event))
        row("first delta", _secs(model.time_to_first_delta))
        row("duration", _secs(model.duration))
        rate = model.rate
        row("rate", "-" if rate is None else f"{rate:,.1f} ev/s")
        pings = getattr(state, "pings", None)
        if isinstance(pings, int):
            row("pings", f"{pings:,} (keep-alives)")
        if model.events and model.events[0].t_synthetic:
            row("clock", "no t= times in the transcript: steady replay pace", "dim")
        for k, v in extra.items():
            if k != "error":
                row(k, v)

        meta = model.meta
        if meta.status is not None or meta.headers or meta.request:
            section("http")
            if meta.request:
                row("request", redact_url(meta.request))
            if meta.status is not None:
                row("status", meta.status, "green" if meta.status == 200 else "bold red")
            for k, v in meta.headers:
                if is_secret_header(k):
                    continue
                if k.lower() in HEADERS or k.lower().startswith(("x-ratelimit", "anthropic-ratelimit")):
                    row(k.lower(), v)

        return grid
