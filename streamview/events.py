"""Parsing decoded frames into events: the JSON payload, or the reason it could not be read, kept on the event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .sse import Frame


@dataclass(slots=True)
class StreamEvent:
    """One row of the raw events pane: an SSE event (parsed or not), a comment, or a run of non-SSE lines."""

    index: int
    kind: str  # "event" | "comment" | "junk"
    name: str  # the SSE event name ("message" when the stream sends none)
    data: str
    t: float | None  # arrival time, seconds since the request (or the replay's steady schedule)
    line: int
    payload: Any = None
    type: str = ""
    seq: int | None = None
    error: str | None = None  # why the payload could not be used; shown on the row
    t_synthetic: bool = False

    @property
    def is_delta(self) -> bool:
        return self.type.endswith(".delta")


def parse_frame(frame: Frame, index: int) -> StreamEvent:
    ev = StreamEvent(index=index, kind=frame.kind, name=frame.event, data=frame.data, t=frame.t, line=frame.line)
    if frame.kind == "comment":
        ev.type = ": comment"
        ev.data = frame.text
        return ev
    if frame.kind == "junk":
        ev.type = "? not SSE"
        ev.data = frame.text
        lines = "line" if frame.count == 1 else f"{frame.count} lines"
        ev.error = f"{lines} at line {frame.line} not SSE (no known field name)"
        if frame.truncated:
            ev.error += "; input ended mid-line"
        return ev
    ev.type = frame.event
    if frame.no_data:
        ev.error = "event with no data: field (a WHATWG client would not dispatch it)"
    elif frame.data == "[DONE]":
        ev.type = "[DONE]"
    else:
        try:
            payload = json.loads(frame.data)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            col = getattr(exc, "colno", None)
            ev.error = f"data is not JSON: {msg}" + (f" (column {col})" if col else "")
        else:
            ev.payload = payload
            if isinstance(payload, dict):
                ptype = payload.get("type")
                if isinstance(ptype, str) and ptype:
                    ev.type = ptype
                seq = payload.get("sequence_number")
                if isinstance(seq, int) and not isinstance(seq, bool):
                    ev.seq = seq
    if frame.truncated:
        cut = "event cut off at end of input (no blank line after it)"
        ev.error = f"{cut}; {ev.error}" if ev.error else cut
    return ev


def short_repr(ev: StreamEvent, limit: int = 120) -> str:
    """A short text for the row: the delta, the done text, the item, or the start of the data."""
    p = ev.payload
    if isinstance(p, dict):
        for key in ("delta", "text", "arguments", "refusal", "code", "input", "partial_json"):
            v = p.get(key)
            if isinstance(v, str):
                return json.dumps(v, ensure_ascii=False)[:limit]
        item = p.get("item")
        if isinstance(item, dict):
            return f"{item.get('type', '?')} {item.get('id', '')}".strip()[:limit]
        part = p.get("part")
        if isinstance(part, dict):
            return str(part.get("type", ""))[:limit]
        resp = p.get("response")
        if isinstance(resp, dict):
            return f"{resp.get('status', '')} {resp.get('model', '')}".strip()[:limit]
        err = p.get("error")
        if isinstance(err, dict):
            return str(err.get("message", ""))[:limit]
        if "message" in p:
            return str(p.get("message"))[:limit]
        return ""
    return ev.data[:limit]
