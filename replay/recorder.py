"""Recording a stream as a transcript (DESIGN.md section 2): raw SSE, with streamview's comment lines.

Each event is written and flushed as it arrives, so Ctrl-C, a crash or a dropped connection loses nothing that was
received. The request's headers are never written (they hold the key); response headers that can carry secrets
are left out too, and every line passes through the request's redaction.
"""

from __future__ import annotations

from typing import Callable, Iterable, TextIO

from streamview.events import StreamEvent
from streamview.secrets import is_secret_header, redact_url
from streamview.sse import Frame, TranscriptMeta



def header_lines(meta: TranscriptMeta) -> list[str]:
    lines = [": streamview transcript 1"]
    if meta.request:
        lines.append(f": request {redact_url(meta.request)}")
    if meta.request_body:
        lines.append(f": request-body {meta.request_body}")
    if meta.status is not None:
        lines.append(f": status {meta.status}")
    for k, v in meta.headers:
        if not is_secret_header(k):
            lines.append(f": header {k}: {v}")
    return lines


class Recorder:
    """Writes frames as they are decoded (``on_frame``), each with its ``: t=`` arrival time."""

    def __init__(self, path: str, meta: TranscriptMeta, redact: Callable[[str], str] = lambda s: s) -> None:
        self.path = path
        self.meta = meta
        self.redact = redact
        self.events = 0
        self._fh: TextIO = open(path, "w", encoding="utf-8", newline="\n")
        self._header_written = False

    def _header(self) -> None:
        if not self._header_written:
            self._header_written = True
            self._fh.write(self.redact("\n".join(header_lines(self.meta))) + "\n\n")

    def on_frame(self, frame: Frame, ev: StreamEvent) -> None:
        self._header()
        timing = f": t={ev.t:.4f}\n" if ev.t is not None else ""
        end = "\n" if frame.truncated else "\n\n"  # a cut-off event stays cut off when replayed
        self._fh.write(timing + self.redact(frame.raw) + end)
        self._fh.flush()
        self.events += 1

    def close(self) -> None:
        self._header()  # an HTTP error still leaves the request, status and headers on record
        self._fh.flush()
        self._fh.close()


def write_transcript(fh: TextIO, events: Iterable[StreamEvent], meta: TranscriptMeta) -> int:
    """Write events already received (the TUI's `s`) as a transcript; returns how many were written."""
    fh.write("\n".join(header_lines(meta)) + "\n\n")
    n = 0
    for ev in events:
        timing = f": t={ev.t:.4f}\n" if ev.t is not None and not ev.t_synthetic else ""
        if ev.kind == "comment":
            body = f": {ev.data}"
        elif ev.kind == "junk":
            body = ev.data  # only the first line of a junk run is kept in memory
        else:
            body = "".join(f"data: {line}\n" for line in ev.data.split("\n")).rstrip("\n")
            if ev.name != "message":
                body = f"event: {ev.name}\n{body}"
        fh.write(f"{timing}{body}\n\n")
        n += 1
    return n
