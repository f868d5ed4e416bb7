"""The one table of outcomes, applied the same by every mode (the UI on quit, ``--plain``, ``print``, ``check``):

====  ==========================================================================================================
code  when
====  ==========================================================================================================
0     the stream ended with its terminal event, not in failure, with no error anomaly
1     the stream ended in failure (a failed status, an error event, an HTTP error, a connection fault), ended
      without a terminal event, or has error anomalies (``check``'s rules; ``print`` says its text may be
      incomplete)
2     unreadable input (no such file, empty input, no SSE event in it, a protocol streamview does not know) or
      bad usage
130   interrupted (Ctrl-C)
====  ==========================================================================================================

``judge`` reads a folded ``Session`` and says which, with the one line that explains it (None on success).
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import ERROR
from .protocols.base import UNKNOWN

OK, FAILED, UNREADABLE, INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Outcome:
    code: int
    reason: str | None = None  # one line, for stderr or the UI's notice; None when all is well


def judge(session, *, ended: bool = True, read_error: str | None = None, live: bool = False,
          anomalies: bool = True) -> Outcome:
    """The outcome of ``session`` (finished). ``ended``: the input was read to its end (a UI quit before it was is
    judged on what arrived, and not having reached a terminal event yet is no failure). ``read_error``: why the
    source stopped (a live fault: 1; a transcript that could not be read: 2). ``anomalies``: error anomalies count
    (the session was checked)."""
    if not session.events_seen:
        if read_error:
            return Outcome(FAILED if live else UNREADABLE, read_error)
        if not session.count:
            return Outcome(UNREADABLE, "empty input: no events decoded")
        return Outcome(UNREADABLE, f"{not_sse(session.meta.head)}: no events decoded")
    if session.protocol == UNKNOWN:
        from .protocols import titles

        return Outcome(UNREADABLE, f"unknown protocol: {session.count:,} events, none of them {titles()} events; "
                                   "nothing assembled (--protocol forces one)")
    state = session.state
    proto = session.proto
    if proto is None:  # not decided yet (a UI quit early): nothing to judge but a source that failed
        return Outcome(FAILED, read_error) if read_error else Outcome(OK)
    if read_error:  # events arrived, then the source failed (a dropped connection, a read error)
        return Outcome(FAILED, read_error)
    if state.status == "failed":
        err = state.error or {}
        what = f"{err.get('code') or err.get('type') or ''} {err.get('message') or ''}".strip()
        return Outcome(FAILED, f"{proto.failed_what} failed" + (f": {what}" if what else ""))
    if ended and state.terminal_event is None:
        return Outcome(FAILED, f"stream ended without a terminal event ({proto.terminal_hint})")
    if anomalies:
        errors = [a for a in session.anomalies if a.severity == ERROR]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return Outcome(FAILED, f"{len(errors)} error anomal{'y' if len(errors) == 1 else 'ies'}: "
                                   f"#{first.index} {first.rule}: {first.message}{more}")
    return Outcome(OK)


def not_sse(head: str) -> str:
    """What an input with no SSE event in it looks like, from its first characters (``TranscriptMeta.head``)."""
    text = (head or "").lstrip("\ufeff \t\r\n")
    if not text:
        return "not an SSE stream"
    if text.startswith("["):
        return "this is a JSON array, not an SSE stream"
    if text.startswith("{"):
        if '"log"' in text and ('"entries"' in text or '"creator"' in text or '"version"' in text):
            return "this is a HAR file (a browser's network log), not an SSE stream: save the response body instead"
        return "this is a JSON object, not an SSE stream"
    if text[:15].lower().startswith(("<!doctype html", "<html")):
        return "this is an HTML page, not an SSE stream"
    if text.startswith("<"):
        return "this is XML or HTML, not an SSE stream"
    sample = text[:512]
    printable = sum(1 for c in sample if c.isprintable() or c in "\t\r\n")
    if printable < len(sample) * 0.9:
        return "this is binary data, not an SSE stream"
    return "not an SSE stream"
