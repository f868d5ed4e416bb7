"""Plain output for pipes and scripts: the assembled text to stdout as it streams, a one-line summary to stderr."""

from __future__ import annotations

from typing import TextIO

from .events import StreamEvent
from .render import events_text
from .sanitize import visible
from .session import Session
from .state import DETAIL, PRINTED_KINDS, Block, Item, detail_text


class PlainPrinter:
    """Writes each delta as it arrives, in the layout of the state's ``text()``; ``finish`` completes it.

    Text goes out block by block, in the order the deltas come, as the panes show it growing. The one exception is
    a protocol that interleaves several answers on the wire (``StreamState.holds``): the text of a later answer is
    held until the earlier ones have finished, so the output stays what ``text()`` prints, one after the other."""

    def __init__(self, model: Session, out: TextIO, *, safe: bool) -> None:
        self.model = model
        self.out = out
        self.safe = safe  # stdout is a terminal: control characters become visible marks
        self._prev: tuple[Item, Block] | None = None  # the block being written
        self._k: dict[int, int] = {}  # id(block) -> how many of its chunks are written
        self._held: list[tuple[Item, Block]] = []  # blocks of another choice, waiting for the current to finish
        self._written: list[str] = []
        self._structure = -1  # the state's structure when items were last looked at for details to write
        self._detailed: set[int] = set()  # id() of the items whose details are written

    def _write(self, text: str) -> None:
        self._written.append(text)
        self.out.write(visible(text) if self.safe else text)
        self.out.flush()

    def on_event(self, ev: StreamEvent) -> None:
        """Call after ``model.add(ev)``: writes the text ``ev`` added, if it added some (any protocol: the state's
        latest delta is the one this event appended)."""
        where = self.model.state.last_delta
        if where is not None and where[1].last_event == ev.index and where[1].kind in PRINTED_KINDS:
            prev = self._prev
            if prev is not None and where[1] is prev[1]:
                self._flush(where[1])
            elif self._may_write(where[0]):
                self._switch(where)
            elif where not in self._held:
                self._held.append(where)
        if self._held:
            self._release(force=False)
        st = self.model.state
        if st.structure != self._structure:  # an item may have finished: what it did goes out after its text
            self._structure = st.structure
            self._details(force=False)

    def _details(self, force: bool) -> None:
        """Write the details (``StreamState.details``) of each finished item not written yet, in item order, up
        to the first unfinished one (``force``: every item's, the stream ended)."""
        st = self.model.state
        for item in st.ordered_items():
            if id(item) in self._detailed:
                continue
            if not force and (item.done_event is None or any(w[0] is item for w in self._held)):
                return  # in order: a later item's details wait for this one
            self._detailed.add(id(item))
            for d in st.details(item):
                self._write(("\n\n" if self._written else "") + detail_text(item, d))
                self._prev = (item, DETAIL)

    def _may_write(self, item: Item) -> bool:
        """Whether ``item``'s text can go out now (the state does not hold it back)."""
        return not self.model.state.holds(item)

    def _flush(self, block: Block) -> None:
        k = self._k.get(id(block), 0)
        n = len(block.chunks)
        if n > k:
            self._k[id(block)] = n
            text = "".join(block.chunks[k:n])
            if text:
                self._write(text)

    def _switch(self, where: tuple[Item, Block]) -> None:
        item, block = where
        if len(block.chunks) == self._k.get(id(block), 0) or not block.text:
            return  # nothing to write (an empty input, a block that only exists): no label for it either
        # a state may lay its blocks out its own way (some run consecutive text blocks on)
        self._write(self.model.state.separator(self._prev, item, block))
        self._prev = where
        self._flush(block)

    def _release(self, force: bool) -> None:
        """Write the held blocks that may go out now, in printed order (``force``: all of them, the stream ended)."""
        ready = self._held if force else [where for where in self._held if self._may_write(where[0])]
        if not ready:
            return
        order = {id(b): n for n, (_, b) in enumerate(self.model.state.printable_blocks())}
        for where in sorted(ready, key=lambda where: order.get(id(where[1]), len(order))):
            self._held.remove(where)
            self._switch(where)

    def finish(self) -> None:
        """Add what no delta carried (text that came only with done events), and end the line."""
        self._release(force=True)
        self._details(force=True)
        final = self.model.state.text()
        written = "".join(self._written)
        if final.startswith(written) and len(final) > len(written):
            self._write(final[len(written) :])
        if written or final:
            self.out.write("\n")
            self.out.flush()


def summary_line(model: Session, problem: str | None = None) -> str:
    """``streamview: completed · gpt-4.1-nano · 45 in / 5 out / 50 total · first event 0.41s · 1.20s · 12 events``"""
    st = model.state
    bits = [st.status or "no response"]
    if st.model:
        bits.append(st.model)
    if model.proto is not None and model.proto.announce:
        bits.append(model.proto.name)
    u = st.usage
    if isinstance(u, dict):
        bits.append(f"{u.get('input_tokens', '?')} in / {u.get('output_tokens', '?')} out / {u.get('total_tokens', '?')} total")
    reason = st.stop_reason
    if isinstance(reason, str):
        bits.append(f"stop {reason}")
    if model.time_to_first_event is not None and not (model.first is not None and model.first.t_synthetic):
        bits.append(f"first event {model.time_to_first_event:.2f}s")
        if model.time_to_first_delta is not None:
            bits.append(f"first token {model.time_to_first_delta:.2f}s")
        if model.duration is not None:
            bits.append(f"{model.duration:.2f}s")
    bits.append(events_text(model.count))
    if model.problems:
        bits.append(f"{len(model.problems)} problem(s)")
    if st.error:
        bits.append(f"error: {st.error.get('code') or st.error.get('type') or ''} {st.error.get('message') or ''}".strip())
    if problem:
        bits.append(problem)
    return "streamview: " + " · ".join(visible(b).replace("\n", " ") for b in bits)
