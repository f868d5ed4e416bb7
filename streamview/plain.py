"""Plain output for pipes and scripts: the assembled text to stdout as it streams, a one-line summary to stderr."""

from __future__ import annotations

from typing import TextIO

from .assemble import PRINTED_KINDS, Block, Item, separator
from .events import StreamEvent
from .model import StreamModel
from .sanitize import visible


class PlainPrinter:
    """Writes each delta as it arrives, in the layout of ``ResponseState.text()``; ``finish`` completes it."""

    def __init__(self, model: StreamModel, out: TextIO, *, safe: bool) -> None:
        self.model = model
        self.out = out
        self.safe = safe  # stdout is a terminal: control characters become visible marks
        self._prev: tuple[Item, Block] | None = None
        self._written: list[str] = []

    def _write(self, text: str) -> None:
        self._written.append(text)
        self.out.write(visible(text) if self.safe else text)
        self.out.flush()

    def on_event(self, ev: StreamEvent) -> None:
        """Call after ``model.add(ev)``."""
        if not ev.is_delta:
            return
        where = self.model.state.last_delta
        if where is None or where[1].last_event != ev.index or where[1].kind not in PRINTED_KINDS:
            return
        item, block = where
        delta = block.chunks[-1]
        if not delta:
            return
        if self._prev is None or self._prev[1] is not block:
            self._write(separator(self._prev, item, block))
            self._prev = where
        self._write(delta)

    def finish(self) -> None:
        """Add what no delta carried (text that came only with done events), and end the line."""
        final = self.model.state.text()
        written = "".join(self._written)
        if final.startswith(written) and len(final) > len(written):
            self._write(final[len(written) :])
        if written or final:
            self.out.write("\n")
            self.out.flush()


def summary_line(model: StreamModel, problem: str | None = None) -> str:
    """``streamview: completed · gpt-4.1-nano · 45 in / 5 out / 50 total · first event 0.41s · 1.20s · 12 events``"""
    st = model.state
    bits = [st.status or "no response"]
    if st.model:
        bits.append(st.model)
    u = st.usage
    if isinstance(u, dict):
        bits.append(f"{u.get('input_tokens', '?')} in / {u.get('output_tokens', '?')} out / {u.get('total_tokens', '?')} total")
    if model.time_to_first_event is not None and not (model.events and model.events[0].t_synthetic):
        bits.append(f"first event {model.time_to_first_event:.2f}s")
        if model.time_to_first_delta is not None:
            bits.append(f"first delta {model.time_to_first_delta:.2f}s")
        if model.duration is not None:
            bits.append(f"{model.duration:.2f}s")
    bits.append(f"{len(model.events):,} events")
    if model.problems:
        bits.append(f"{len(model.problems)} problem(s)")
    if st.error:
        bits.append(f"error: {st.error.get('code') or st.error.get('type') or ''} {st.error.get('message') or ''}".strip())
    if problem:
        bits.append(problem)
    return "streamview: " + " · ".join(visible(b).replace("\n", " ") for b in bits)
