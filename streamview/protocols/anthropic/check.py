"""The Anthropic Messages checker: named ordering and consistency rules (``RULES``), run as events arrive."""

from __future__ import annotations


from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from ...state import StreamState
from .assemble import DELTAS_FOR, KNOWN_BLOCK_TYPES, KNOWN_DELTAS, AnthropicAssembler, _int
from .events import CONTENT_TYPES, KNOWN_TYPES


RULES = (
    "no-message-start", "message-start-repeated", "delta-before-start", "delta-after-stop", "block-not-stopped",
    "no-message-stop", "after-message-stop", "delta-type-mismatch", "index-out-of-order", "tool-input-invalid",
    "name-mismatch", "missing-field", "bad-sse", "bad-json", "unknown-event",
)


class _Track:
    __slots__ = ("type", "id", "state", "start", "reported")

    def __init__(self, btype: str, block_id: str | None, state: str, start: int) -> None:
        self.type = btype  # the content block type ("" when only its deltas were seen)
        self.id = block_id
        self.state = state  # "open" | "stopped" | "early" (deltas before its start, reported)
        self.start = start  # the event index of its content_block_start (or first event)
        self.reported: set[str] = set()  # rules already reported for this block (one fault, one anomaly)


class AnthropicChecker:
    """Named ordering and consistency rules for Anthropic Messages streams (``RULES``). Feed every event after
    the assembler has folded it; ``feed`` returns the anomalies that event raised, ``finish`` those of the end of
    input. One fault is one anomaly: a rule fires once per block, and an unreadable event only as such."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing is withdrawn here; kept for the views that watch it
        self._started: int | None = None  # event index of message_start
        self._id: str | None = None  # the message id it named
        self._stop: StreamEvent | None = None  # message_stop, or the error event that ended the stream
        self._blocks: dict[int, _Track] = {}
        self._next = 0  # the index the next content_block_start should have
        self._noted_no_start = False
        self._noted_unnamed = False
        self._rules = {t: getattr(self, "_" + t) for t in KNOWN_TYPES}

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             index: int | None = None, block: int | None = None, block_id: str | None = None) -> None:
        a = Anomaly(rule, ev.index if index is None else index, ev.seq, message, severity, block_id, block)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: StreamState) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        error = ev.error
        p = ev.payload
        if kind == "junk" or (error and p is None):  # the generic rules, as every checker words them
            self._add(out, ev, *unreadable(ev))
            return out
        if not isinstance(p, dict):
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not an event object" if ev.type != "[DONE]" else "[DONE] sentinel: Anthropic streams do not send one", NOTE)
            return out
        if error:  # parsed, but the input ended before the blank line that dispatches it
            self._add(out, ev, "bad-sse", error)
        etype = ev.type
        self._name(ev, p, out)
        if self._stop is not None:
            what = "message_stop" if self._stop.type == "message_stop" else "the error event that ended the stream"
            if etype == "ping":
                self._add(out, ev, "after-message-stop", f"ping after {what} (event #{self._stop.index}): a keep-alive on a finished stream", NOTE)
            else:
                self._add(out, ev, "after-message-stop", f"{etype} after {what} (event #{self._stop.index})")
            return out
        if etype not in KNOWN_TYPES:
            self._add(out, ev, "unknown-event", f"{etype!r}: not an event type the protocol defines (a note: streams gain new events)", NOTE)
            return out
        if etype in CONTENT_TYPES and self._started is None and not self._noted_no_start:
            self._noted_no_start = True
            self._add(out, ev, "no-message-start", f"{etype} before any message_start (the SDK skips events until message_start)")
        self._rules[etype](ev, p, state, out)
        return out

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that neither stopped nor failed."""
        out: list[Anomaly] = []
        if self._stop is None and any(e.kind == "event" for e in events):
            last = events[-1]
            open_blocks = [i for i, t in self._blocks.items() if t.state != "stopped"]
            where = f" (block {', '.join(map(str, open_blocks))} still open)" if open_blocks else ""
            a = Anomaly("no-message-stop", last.index, last.seq, f"the stream ended without message_stop or an error event{where}")
            out.append(a)
            self.anomalies.append(a)
        return out

    # -- the rules, by event type --------------------------------------------------------------------------------
    def _name(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        ptype = p.get("type")
        if not isinstance(ptype, str) or not ptype:
            self._add(out, ev, "missing-field", f"the event has no type field (its event: name is {ev.name!r})")
            return
        name = ev.name
        if name == ptype:
            return
        if name == "message":  # no event: line (the SSE default name)
            if not self._noted_unnamed:
                self._noted_unnamed = True
                self._add(out, ev, "name-mismatch", f"no event: line for {ptype} (Anthropic names every event; the SDK skips unnamed events; reported once)")
            return
        self._add(out, ev, "name-mismatch", f"event: {name} but data.type is {ptype}")

    def _message_start(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        msg = p.get("message")
        mid = msg.get("id") if isinstance(msg, dict) else None
        if self._started is not None:
            # the message id is in message_start alone: a second one is where the stream's identity can change
            other = f" naming the message {mid}, the first named {self._id}" if mid and self._id and mid != self._id else ""
            self._add(out, ev, "message-start-repeated", f"a second message_start{other} (the first is event #{self._started}; the SDK ignores this one)")
            return
        self._started = ev.index
        self._id = mid if isinstance(mid, str) else None
        if not isinstance(msg, dict):
            self._add(out, ev, "missing-field", "message_start without a message object")
            return
        content = msg.get("content")
        if isinstance(content, list):
            for i, block in enumerate(content):
                btype = block.get("type") if isinstance(block, dict) else ""
                self._blocks[i] = _Track(btype if isinstance(btype, str) else "", None, "stopped", ev.index)
            self._next = len(content)

    def _indexed(self, ev: StreamEvent, p: dict, out: list[Anomaly], field: str = "") -> tuple[int, dict] | None:
        """The event's block index and its ``field`` object, or None when one is missing (reported)."""
        idx = _int(p.get("index"))
        obj = p.get(field) if field else {}
        if idx is None or not isinstance(obj, dict):
            what = "an integer index" if idx is None else f"a {field} object"
            self._add(out, ev, "missing-field", f"{ev.type} without {what}" + (f" (index {idx})" if idx is not None else ""), block=idx)
            return None
        return idx, obj

    def _content_block_start(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        found = self._indexed(ev, p, out, "content_block")
        if found is None:
            return
        idx, block = found
        btype = block.get("type") if isinstance(block.get("type"), str) else ""
        bid = block.get("id") if isinstance(block.get("id"), str) else None
        track = self._blocks.get(idx)
        if track is not None and track.state == "early":
            track.type, track.id, track.state, track.start = btype, bid, "open", ev.index  # late start: reported
            self._next = max(self._next, idx + 1)
            return
        if track is not None:
            self._add(out, ev, "index-out-of-order", f"content_block_start for index {idx}, which already started at event #{track.start}", block=idx, block_id=bid)
            return
        if idx != self._next:
            self._add(out, ev, "index-out-of-order", f"content_block_start for index {idx}, expected {self._next} (indexes are positions in the content list)", block=idx, block_id=bid)
        self._next = max(self._next, idx + 1)
        self._blocks[idx] = _Track(btype, bid, "open", ev.index)
        if btype and btype not in KNOWN_BLOCK_TYPES:
            self._add(out, ev, "unknown-event", f"content block type {btype!r} is not one streamview knows (shown generically)", NOTE, block=idx)

    def _started_block(self, ev: StreamEvent, p: dict, out: list[Anomaly], field: str, then: str) -> tuple[int, dict, _Track] | None:
        """The block a delta or stop is for, or None when it has no index or its block never started (reported
        once; the block is then tracked as ``then``)."""
        found = self._indexed(ev, p, out, field)
        if found is None:
            return None
        idx, obj = found
        track = self._blocks.get(idx)
        if track is None:
            self._blocks[idx] = _Track("", None, then, ev.index)
            what = (obj.get("type") if field else None) or ev.type
            self._add(out, ev, "delta-before-start", f"{what} for index {idx} before its content_block_start", block=idx)
            return None
        return idx, obj, track

    def _content_block_delta(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        found = self._started_block(ev, p, out, "delta", "early")
        if found is None:
            return
        idx, delta, track = found
        dtype = delta.get("type")
        if track.state == "early":
            return  # reported at its first event
        if track.state == "stopped":
            self._once(track, idx, ev, out, "delta-after-stop", f"{dtype or 'a delta'} for index {idx} after its content_block_stop")
            return
        if dtype not in KNOWN_DELTAS:
            self._once(track, idx, ev, out, "unknown-event", f"delta type {dtype!r} is not one the protocol defines (a note: streams gain new deltas)", NOTE)
            return
        allowed = DELTAS_FOR.get(track.type)
        if allowed is not None and dtype not in allowed:
            self._once(track, idx, ev, out, "delta-type-mismatch", f"{dtype} into a {track.type} block (index {idx}); it takes {', '.join(sorted(allowed)) or 'no deltas'}")

    def _once(self, track: _Track, idx: int, ev: StreamEvent, out: list[Anomaly], rule: str, message: str, severity: str = ERROR) -> None:
        """Report ``rule`` for a block once: the later events of the same fault are not new faults."""
        if rule not in track.reported:
            track.reported.add(rule)
            self._add(out, ev, rule, message, severity, block=idx, block_id=track.id)

    def _content_block_stop(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        found = self._started_block(ev, p, out, "", "stopped")
        if found is None:
            return
        idx, _, track = found
        if track.state == "stopped":
            self._once(track, idx, ev, out, "delta-after-stop", f"a second content_block_stop for index {idx}")
            return
        track.state = "stopped"
        item = state.items.get(idx)
        if item is not None and "input_error" in item.data:
            self._add(out, ev, "tool-input-invalid", f"{item.type} {item.name or ''} input: {item.data['input_error']}".replace("  ", " "), block=idx, block_id=track.id)

    def _message_delta(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        if not isinstance(p.get("delta"), dict):
            self._add(out, ev, "missing-field", "message_delta without a delta object")
        elif not isinstance(p.get("usage"), dict):
            self._add(out, ev, "missing-field", "message_delta without a usage object (the SDK reads usage.output_tokens)")

    def _message_stop(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        self._stop = ev
        for idx, track in sorted(self._blocks.items()):
            if track.state == "open":
                self._add(out, ev, "block-not-stopped", f"block {idx} ({track.type or 'unknown type'}) was never stopped before message_stop (event #{ev.index})", index=track.start, block=idx, block_id=track.id)

    def _ping(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        pass

    def _error(self, ev: StreamEvent, p: dict, state: StreamState, out: list[Anomaly]) -> None:
        self._stop = ev  # the stream failed: open blocks were cut short by it, not left unstopped


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Anthropic stream."""
    return fold_and_check(AnthropicAssembler(), AnthropicChecker(), events)


__all__ = ["AnthropicChecker", "RULES", "check_events"]
