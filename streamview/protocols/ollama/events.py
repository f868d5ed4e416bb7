"""The Ollama events table. A stream of Ollama's native API is NDJSON: one JSON object a line, no event name, no
``type`` field. ``type_of`` names a line by what it holds, as the table's keys:

- ``chat``: a ``ChatResponse`` of ``POST /api/chat`` (``{"model", "created_at", "message": {...}, "done": false}``);
- ``generate``: a ``GenerateResponse`` of ``POST /api/generate`` (``response``, ``thinking``, ``context``...);
- ``chat done`` / ``generate done``: the same with ``"done": true``, the stream's last line (``done_reason``, the
  durations in nanoseconds, the token counts);
- ``done``: a ``"done": true`` line with neither ``message`` nor ``response`` (only its metrics);
- ``error``: ``{"error": "..."}``, mid-stream or as the whole body of an HTTP error (what the SDK raises
  ``ResponseError`` on: an ``error`` that is set).

The assembler's dispatch, the checker's known types and the panes read the same table."""

from __future__ import annotations

from typing import Any

from ..base import DELTA, ERROR, TERMINAL, EventSpec

CHAT, GENERATE, CHAT_DONE, GENERATE_DONE, DONE, ERROR_LINE = "chat", "generate", "chat done", "generate done", "done", "error"

EVENTS: dict[str, EventSpec] = {
    # a line that adds nothing (an empty content) is described as lifecycle, a done line as terminal
    CHAT: EventSpec(DELTA, "_chunk", block=("chat",)),
    GENERATE: EventSpec(DELTA, "_chunk", block=("generate",)),
    CHAT_DONE: EventSpec(TERMINAL, "_chunk", block=("chat",)),
    GENERATE_DONE: EventSpec(TERMINAL, "_chunk", block=("generate",)),
    DONE: EventSpec(TERMINAL, "_chunk"),
    ERROR_LINE: EventSpec(ERROR, "_error"),
}
KNOWN_TYPES = frozenset(EVENTS)
DONE_TYPES = frozenset(t for t, spec in EVENTS.items() if spec.kind == TERMINAL)

# the top-level fields of a GenerateResponse that say a line is one (besides the common ones)
GENERATE_FIELDS = ("response", "thinking", "context", "image", "completed", "total")
# the metrics of the done line (ollama's BaseGenerateResponse, in the order the server writes them), each an int;
# the durations in nanoseconds
METRICS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration")
COUNTS = ("prompt_eval_count", "eval_count")
# every field a line of either endpoint may carry (ChatResponse, GenerateResponse; remote_*: a cloud model's)
COMMON_FIELDS = ("model", "created_at", "done", "done_reason", *METRICS, "logprobs", "remote_model", "remote_host")
KNOWN_FIELDS = frozenset(COMMON_FIELDS) | {"message", "error", *GENERATE_FIELDS}
DONE_REASONS = frozenset({"stop", "length", "load", "unload"})


def error_of(p: dict) -> dict | None:
    """The error a line reports (``{"error": "..."}``), as the neutral state holds it; None when it has none."""
    err = p.get("error")
    if not err:
        return None
    if isinstance(err, dict):
        return err
    return {"message": err if isinstance(err, str) else repr(err)}


def endpoint_of(p: dict) -> str | None:
    """Which endpoint's line ``p`` is: ``chat`` (it has a ``message``), ``generate`` (one of its own fields), or
    None."""
    if "message" in p:
        return CHAT
    for field in GENERATE_FIELDS:
        if field in p:
            return GENERATE
    return None


def type_of(p: Any) -> str | None:
    """The table key of a line's payload; None for anything else (JSON of another shape, not an object)."""
    if p.__class__ is not dict and not isinstance(p, dict):
        return None
    if p.get("error"):
        return ERROR_LINE
    endpoint = endpoint_of(p)
    done = p.get("done") is True
    if endpoint is None:
        return DONE if done else None
    return (CHAT_DONE if endpoint == CHAT else GENERATE_DONE) if done else endpoint


def event_type(ev: Any) -> str | None:
    """The table key of an event (``type_of`` its payload); None for a comment, junk, unreadable data or JSON of
    another shape."""
    if ev._shape[0] != "event":
        return None
    return type_of(ev.payload)
