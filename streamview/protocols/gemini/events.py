"""The Google Gemini events table. A ``streamGenerateContent?alt=sse`` stream is data-only SSE: every event is a
``message`` whose data is one ``GenerateContentResponse`` (a chunk), the prompt's ``promptFeedback`` saying it was
blocked, or an error object (``{"error": {"code", "message", "status"}}``). ``type_of`` names a payload by the
table's keys (``event_type`` an event); the assembler's dispatch, the checker's known types and the panes read the
same table."""

from __future__ import annotations

from typing import Any

from ..base import DELTA, ERROR, EventSpec

CHUNK, BLOCKED, ERROR_EVENT = "chunk", "blocked", "error"

EVENTS: dict[str, EventSpec] = {
    # a chunk without content is described as lifecycle, one that finishes every candidate it holds as terminal
    CHUNK: EventSpec(DELTA, "_chunk"),
    BLOCKED: EventSpec(ERROR, "_blocked"),  # promptFeedback.blockReason: the prompt was refused, no candidates
    ERROR_EVENT: EventSpec(ERROR, "_error"),
}
KNOWN_TYPES = frozenset(EVENTS)

# the fields of a GenerateContentResponse, with the JSON type each has
RESPONSE_FIELDS: dict[str, type] = {
    "candidates": list,
    "usageMetadata": dict,
    "promptFeedback": dict,
    "modelVersion": str,
    "responseId": str,
    "createTime": str,  # Vertex AI's
    "modelStatus": dict,
}


def error_of(p: dict) -> dict | None:
    """The error a payload reports (``{"error": {...}}``, what the SDK raises ``APIError`` on), or None."""
    err = p.get("error")
    if err is None:
        return None
    if isinstance(err, dict):
        return err
    return {"message": err if isinstance(err, str) else repr(err)}


def block_reason(p: dict) -> str | None:
    """``promptFeedback.blockReason`` when it is set (the prompt was blocked), else None."""
    feedback = p.get("promptFeedback")
    if feedback.__class__ is not dict:
        return None
    reason = feedback.get("blockReason")
    return reason if isinstance(reason, str) and reason else None


def is_chunk(p: dict) -> bool:
    """A ``GenerateContentResponse``: at least one of its fields (of any JSON type: the checker reports a wrong
    one, the assembler skips it)."""
    for key in RESPONSE_FIELDS:
        if p.get(key) is not None:
            return True
    return False


def type_of(p: Any) -> str | None:
    """The table key of a data payload: ``error``, ``blocked`` or ``chunk``; None for anything else."""
    if p.__class__ is not dict and not isinstance(p, dict):
        return None
    if p.get("error") is not None:
        return ERROR_EVENT
    if block_reason(p) is not None:
        return BLOCKED
    if is_chunk(p):
        return CHUNK
    return None


def event_type(ev: Any) -> str | None:
    """The table key of an event (``type_of`` its payload); None for a comment, junk, unreadable data or JSON of
    another shape."""
    if ev._shape[0] != "event":
        return None
    return type_of(ev.payload)
