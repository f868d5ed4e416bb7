"""Ordering and consistency checks for Responses API streams: named rules, run incrementally as events arrive.

Each anomaly names its rule, the event (index and sequence number) and what is wrong in plain words. The checker
reads the assembler's state (fed first) for the text the deltas built, so a ``.done`` is compared with exactly what
the panes show. A sequence gap is withdrawn when the missing events arrive late (they are reported as
``seq-out-of-order`` instead), so one swapped pair is one fault, not two. The known types, the terminal events and
the part each event belongs to come from the events table (``events.EVENTS``).
"""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, first_difference, fold_and_check, unreadable
from ...events import StreamEvent
from .assemble import ResponseAssembler, ResponseState
from .events import ENDS as TERMINAL
from .events import KNOWN_TYPES
from .events import PART_EVENTS as _PART_EVENTS

RULES = (
    "seq-gap", "seq-duplicate", "seq-out-of-order", "before-added", "after-done", "done-mismatch", "index-mismatch",
    "no-terminal", "multiple-terminal", "after-terminal", "final-mismatch", "bad-json", "bad-sse", "unknown-event",
    "item-id-rotated", "item-not-done", "response-id-changed",
)
LIFECYCLE = ("response.created", "response.queued", "response.in_progress", "response.completed",
             "response.failed", "response.incomplete")  # the events that carry the whole response (and its id)


class _ItemTrack:
    __slots__ = ("id", "done", "parts", "at", "ids")

    def __init__(self, item_id: str, at: int) -> None:
        self.id = item_id
        self.ids: set[str] | None = None  # the other ids its events named (a server that rotates item ids)
        self.at = at  # the output_index it was added at (its key in Checker._items)
        self.done = False
        self.parts: dict[tuple, str] = {}  # part key -> "added" | "text_done" | "done"


class Checker:
    """Feed every event after the assembler has folded it: ``feed`` returns the anomalies that event raised."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # bumped when a gap is withdrawn, so views can redraw their marks
        self._max_seq: int | None = None
        self._seen_below = 0  # every sequence number in [0, _seen_below) was seen (in-order streams: no set grows)
        self._seen: set[int] = set()  # the others seen
        self._missing: dict[int, Anomaly] = {}  # seq -> the gap anomaly that reported it missing
        self._items: dict[int, _ItemTrack] = {}
        self._ids: dict[str, int] = {}
        self._terminal: tuple[str, int] | None = None  # the first terminal event's type and index (not the event:
        # a response.completed holds the whole output, 10 MB for a long answer)
        self._last_terminal_type = ""
        self._reported: set[tuple] = set()  # (output_index, part key) whose text mismatch is already reported
        self._unreadable = 0  # events whose payload could not be read: the sequence numbers they took are not gaps
        self._early_parts: dict[int, set[tuple]] = {}  # parts announced before their item was
        self._response_id: tuple[str, str] | None = None  # (id, the event type that first named it)
        self._other_ids: set[str] = set()  # the other response ids lifecycle events named
        self._id_changes: list[Anomaly] = []  # response-id-changed reports (notes once item ids are seen rotating)
        self._rotates = False  # some item's events named it under other ids
        self._not_done: dict[int, Anomaly] = {}  # output_index -> its item-not-done (withdrawn if its done comes late)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             item_id: str | None = None, position: int | None = None) -> Anomaly:
        a = Anomaly(rule, ev.index, ev.seq, message, severity, item_id, position)
        out.append(a)
        self.anomalies.append(a)
        return a

    def feed(self, ev: StreamEvent, state: ResponseState) -> list[Anomaly]:
        out: list[Anomaly] = []
        shape = ev._shape  # (kind, name, type, ...): the fields without a property call each
        kind = shape[0]
        if kind == "comment":
            return out
        p = ev.payload
        error = None if ev._aux is None else ev.error
        etype = shape[2]
        if kind == "junk" or (error and (p is None and etype != "[DONE]")):
            self._add(out, ev, *unreadable(ev))
            if kind == "event":
                self._unreadable += 1
            return out
        if p.__class__ is not dict and not isinstance(p, dict):
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not an event object" if etype != "[DONE]" else "[DONE] sentinel: the Responses API does not send one", NOTE)
            return out
        if error:  # parsed, but cut off at the end of input (a lucky cut) or similar
            self._add(out, ev, "bad-sse", error)
        self._sequence(ev, out)
        if self._terminal is not None or etype in TERMINAL:
            self._terminal_rules(ev, out)
        if etype not in KNOWN_TYPES:
            what = "a gateway keep-alive, outside the SDK's event union" if etype == "keepalive" else "not an event type the protocol defines (a note: streams gain new events)"
            self._add(out, ev, "unknown-event", f"{etype!r}: {what}", NOTE)
            return out
        if etype == "response.output_item.added":
            self._item_added(ev, p, out)
        elif etype == "response.output_item.done":
            self._item_done(ev, p, state, out)
        elif isinstance(p.get("output_index"), int):
            self._item_event(ev, p, state, out)
        if etype in LIFECYCLE:
            self._lifecycle_id(ev, p, out)
        if etype in TERMINAL and etype != "error":
            self._final(ev, p, state, out)
            if etype != "response.failed":
                self._unfinished(ev, out)
        return out

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream with no terminal event."""
        out: list[Anomaly] = []
        if self._terminal is None and events:
            last = events[-1]
            a = Anomaly("no-terminal", last.index, last.seq, "the stream ended without response.completed, response.failed, response.incomplete or error")
            out.append(a)
            self.anomalies.append(a)
        return out

    # -- sequence numbers ----------------------------------------------------------------------------------------
    def _sequence(self, ev: StreamEvent, out: list[Anomaly]) -> None:
        seq = ev.seq
        if seq is None:
            return
        below = self._seen_below
        if seq == below:  # the next number in order: extend the run (and absorb numbers that came early)
            below += 1
            seen = self._seen
            if seen:
                while below in seen:
                    seen.discard(below)
                    below += 1
            self._seen_below = below
        elif 0 <= seq < below or seq in self._seen:
            self._add(out, ev, "seq-duplicate", f"sequence_number {seq} was already seen")
            return
        else:
            self._seen.add(seq)
        expected = 0 if self._max_seq is None else self._max_seq + 1
        if self._max_seq is not None and seq < self._max_seq:
            gap = self._missing.pop(seq, None)
            if gap is not None:
                self._withdraw_if_filled(gap)
            self._add(out, ev, "seq-out-of-order", f"sequence_number {seq} arrived after {self._max_seq}")
            return
        if seq > expected:
            missing = list(range(expected, seq))
            absorbed = min(len(missing), self._unreadable)
            self._unreadable -= absorbed
            if absorbed == len(missing):  # the unreadable events in between took those numbers
                self._max_seq = seq
                return
            missing = missing[absorbed:]
            shown = f"{missing[0]}" if len(missing) == 1 else f"{missing[0]}-{missing[-1]}"
            gap = self._add(out, ev, "seq-gap", f"sequence_number {seq} follows {missing[0] - 1}: {shown} missing")
            for m in missing[:10000]:
                self._missing[m] = gap
        self._max_seq = seq
        self._unreadable = 0

    def _withdraw_if_filled(self, gap: Anomaly) -> None:
        if gap not in self._missing.values() and gap in self.anomalies:
            self.anomalies.remove(gap)  # every number it reported missing has arrived: the fault is the order
            self.withdrawn += 1

    # -- terminal events -----------------------------------------------------------------------------------------
    def _terminal_rules(self, ev: StreamEvent, out: list[Anomaly]) -> None:
        if self._terminal is None:
            if ev.type in TERMINAL:
                self._terminal = (ev.type, ev.index)
                self._last_terminal_type = ev.type
            return
        if ev.type in TERMINAL:
            if self._last_terminal_type == "error" and ev.type == "response.failed":
                self._last_terminal_type = ev.type  # error then response.failed: one failure, as servers send it
                return
            self._add(out, ev, "multiple-terminal", f"{ev.type} after {self._terminal[0]} (event #{self._terminal[1]})")
            self._last_terminal_type = ev.type
        else:
            self._add(out, ev, "after-terminal", f"{ev.type} after the stream ended with {self._terminal[0]} (event #{self._terminal[1]})")

    # -- items and parts -----------------------------------------------------------------------------------------
    def _item_added(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        idx = p.get("output_index")
        item = p.get("item") if isinstance(p.get("item"), dict) else {}
        item_id = str(item.get("id", ""))
        if not isinstance(idx, int):
            return
        if idx in self._items:
            self._add(out, ev, "index-mismatch", f"output_index {idx} is already used by {self._items[idx].id}", item_id=item_id, position=idx)
            return
        if idx != len(self._items):
            self._add(out, ev, "index-mismatch", f"output_index {idx} but {len(self._items)} item(s) were added before it (expected {len(self._items)})", item_id=item_id, position=idx)
        track = self._items[idx] = _ItemTrack(item_id, idx)
        for key in self._early_parts.pop(idx, ()):
            track.parts[key] = "added"  # already reported as before-added: not again for each of its events
        if item_id:
            self._ids[item_id] = idx

    def _locate(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> tuple[_ItemTrack, int] | None:
        """The item an event is for, with the output_index it was added at (None: reported, nothing more to do)."""
        idx = p.get("output_index")
        if not isinstance(idx, int):
            idx = None
        item_id = p.get("item_id")
        if not isinstance(item_id, str):
            item_id = None
        track = self._items.get(idx) if idx is not None else None
        if item_id and idx is not None and self._ids.get(item_id, idx) != idx:
            at = self._ids[item_id]
            self._add(out, ev, "index-mismatch", f"item {item_id} was added at output_index {at}, this event says {idx}", item_id=item_id, position=idx)
            track = self._items[at]  # the id names the item: go on with it, nothing more to report
            return None if track.done else (track, track.at)
        if track is None:
            self._add(out, ev, "before-added", f"an event for output_index {idx} before its output_item.added", item_id=item_id, position=idx)
            spec = _PART_EVENTS.get(ev.type)
            if idx is not None and spec is not None and spec[1] == "added":
                self._early_parts.setdefault(idx, set()).add(self._part_key(spec[0], p))
            return None
        if item_id and track.id and item_id != track.id:
            self._rotated(ev, track, item_id, out)  # an id no other item has: the same item, renamed
        if track.done:
            self._add(out, ev, "after-done", f"{ev.type} after output_item.done of {track.id or idx}", item_id=track.id, position=idx)
            return None
        return track, track.at

    @staticmethod
    def _part_key(kind: str, p: dict) -> tuple:
        if kind in ("content", "summary"):
            i = p.get("content_index" if kind == "content" else "summary_index")
            return (kind, i if isinstance(i, int) else 0)
        return (kind,)

    def _item_event(self, ev: StreamEvent, p: dict, state: ResponseState, out: list[Anomaly]) -> None:
        located = self._locate(ev, p, out)
        spec = _PART_EVENTS.get(ev.type)
        if located is None or spec is None:
            return
        track, idx = located
        kind, role, field = spec
        key = self._part_key(kind, p)
        status = track.parts.get(key)
        if ev.type == "response.output_text.annotation.added":
            self._annotation_order(ev, p, state, idx, key, track)
        if role == "delta" and (status == "added" or (status is None and kind not in ("content", "summary"))):
            return  # a delta of an open part: the common case, nothing to report
        label = f"{kind} part {key[1]}" if kind in ("content", "summary") else kind
        where = dict(item_id=track.id, position=idx)
        if role == "added":
            if status == "early":
                track.parts[key] = "added"
                return
            if status is not None:
                self._add(out, ev, "index-mismatch", f"{label} of {track.id} was already added", **where)
                return
            count = sum(1 for k in track.parts if k[0] == kind)
            if key[1] != count:
                self._add(out, ev, "index-mismatch", f"{label} added but the item has {count} {kind} part(s) (expected index {count})", **where)
            track.parts[key] = "added"
            return
        if kind in ("content", "summary") and status is None:
            self._add(out, ev, "before-added", f"{ev.type} for {label} before its {'content_part' if kind == 'content' else 'reasoning_summary_part'}.added", **where)
            track.parts[key] = "early"  # reported once; its own added event and later deltas are not reported again
            return
        if status == "done" or (status == "text_done" and role in ("delta", "text_done")):
            self._add(out, ev, "after-done", f"{ev.type} after {label} was done", **where)
            return
        if role in ("text_done", "done"):
            text = p.get(field) if role == "text_done" else _part_text(p.get("part"))
            block = state.items[idx].blocks.get(key) if idx in state.items else None
            # a part whose content came only in its done event (no delta at all: LM Studio sends function arguments
            # so) is valid for every kind of part: there is nothing to compare with
            deltas = block.deltas_text if block is not None else ""
            if _streamed(block) and isinstance(text, str) and text != deltas and (idx, key) not in self._reported:
                self._reported.add((idx, key))  # one report per part: its later done events repeat the same text
                self._add(out, ev, "done-mismatch", f"{ev.type} {field or 'part'} differs from the deltas of {label} {first_difference(text, deltas)}", **where)
            track.parts[key] = "done" if role == "done" else "text_done"

    def _annotation_order(self, ev: StreamEvent, p: dict, state: ResponseState, idx: int, key: tuple,
                          track: _ItemTrack) -> None:
        """``annotation_index`` numbers a part's annotations from 0 in the order they are added."""
        n = p.get("annotation_index")
        item = state.items.get(idx)
        block = item.blocks.get(key) if item is not None else None
        if not isinstance(n, int) or block is None:
            return
        expected = len(block.annotations) - 1  # the assembler has added this one already
        if n != expected:
            self._add([], ev, "index-mismatch", f"annotation_index {n} on content part {key[1]} of {track.id}, but it "
                      f"is annotation {expected} of that part", item_id=track.id, position=idx)

    def _item_done(self, ev: StreamEvent, p: dict, state: ResponseState, out: list[Anomaly]) -> None:
        located = self._locate(ev, p, out)
        if located is None:
            return
        track = located[0]
        idx = p["output_index"]
        item = p.get("item") if isinstance(p.get("item"), dict) else {}
        done_id = item.get("id")
        if isinstance(done_id, str) and done_id and track.id and done_id != track.id:
            if self._ids.get(done_id, idx) != idx:
                self._add(out, ev, "index-mismatch", f"output_item.done names {done_id}, the item added at output_index {self._ids[done_id]}; output_index {idx} is {track.id}", item_id=track.id, position=idx)
            else:
                self._rotated(ev, track, done_id, out)
        assembled = state.items.get(idx)
        if assembled is not None:
            for key, message in _compare_item(item, assembled):
                if (idx, key) not in self._reported:
                    self._reported.add((idx, key))
                    self._add(out, ev, "done-mismatch", f"output_item.done {message}", item_id=track.id, position=idx)
        track.done = True
        late = self._not_done.pop(idx, None)
        if late is not None and late in self.anomalies:  # its done came after the terminal event: one fault,
            self.anomalies.remove(late)  # reported as after-terminal (as a gap filled late is seq-out-of-order)
            self.withdrawn += 1

    def _rotated(self, ev: StreamEvent, track: _ItemTrack, item_id: str, out: list[Anomaly]) -> None:
        """An event of an item names it under an id no other item has (GitHub Copilot rotates item ids on every
        event; the output_index stays): the same item. One note per item, at the first renaming; the SDK, which
        keys items by output_index, assembles it the same."""
        if track.ids is None:
            track.ids = set()
            self._add(out, ev, "item-id-rotated", f"output_index {track.at} was added as {track.id}, this event names "
                      f"it {item_id}: the server renames the item (matched by output_index; one note per item)", NOTE,
                      item_id=track.id, position=track.at)
            if not self._rotates:
                self._rotates = True
                for a in self._id_changes:  # a server that renames its items: a renamed response is that too
                    self._as_rotation(a)
                    self.withdrawn += 1  # the views redraw the marks (the anomaly is now a note)
        track.ids.add(item_id)

    @staticmethod
    def _as_rotation(a: Anomaly) -> None:
        a.severity = NOTE
        a.message += " (a note: this stream renames its items too, see item-id-rotated)"

    def _lifecycle_id(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        """``response.id`` must stay the same from ``response.created`` to the terminal event (the SDK raises
        "Lifecycle response identity changed")."""
        resp = p.get("response")
        rid = resp.get("id") if isinstance(resp, dict) else None
        if not isinstance(rid, str) or not rid:
            return
        if self._response_id is None:
            self._response_id = (rid, ev.type)
            return
        first, where = self._response_id
        if rid != first and rid not in self._other_ids:
            self._other_ids.add(rid)  # each other id once
            a = self._add(out, ev, "response-id-changed", f"{ev.type} names the response {rid}, {where} named it "
                          f"{first} (the official SDK stops here: \"Lifecycle response identity changed\")")
            self._id_changes.append(a)
            if self._rotates:
                self._as_rotation(a)

    def _unfinished(self, ev: StreamEvent, out: list[Anomaly]) -> None:
        """At a terminal event that completes the response: every item (and content part) added and not done."""
        for idx, track in self._items.items():
            name = track.id or f"output_index {idx}"
            if not track.done:
                self._not_done[idx] = self._add(out, ev, "item-not-done", f"{name} (output_index {idx}) was added and "
                                                f"never done before {ev.type}", item_id=track.id, position=idx)
                continue
            for key, status in track.parts.items():
                if status in ("added", "early") and key[0] in ("content", "summary"):
                    self._add(out, ev, "item-not-done", f"{key[0]} part {key[1]} of {name} was added and never done "
                              f"before {ev.type}", item_id=track.id, position=idx)

    def _final(self, ev: StreamEvent, p: dict, state: ResponseState, out: list[Anomaly]) -> None:
        resp = p.get("response")
        output = resp.get("output") if isinstance(resp, dict) else None
        if not isinstance(output, list):
            return
        streamed = [state.items[k] for k in sorted(state.items) if not state.items[k].placeholder]
        if ev.type == "response.failed" and not output:
            return  # a failure need not list what was streamed before it
        if len(output) != len(streamed):
            self._add(out, ev, "final-mismatch", f"response.output has {len(output)} item(s), the stream built {len(streamed)}")
        for i, (final, built) in enumerate(zip(output, streamed)):
            if not isinstance(final, dict):
                continue
            if final.get("type") != built.type:
                self._add(out, ev, "final-mismatch", f"output[{i}] is {final.get('type')} {final.get('id')}, the stream built {built.type} {built.id}", item_id=built.id, position=i)
                continue
            track = self._items.get(built.position)
            streamed_id = track.id if track is not None and track.id else built.id  # (the state takes the final id)
            if final.get("id") != streamed_id:  # the same item at the same place under another id (OpenRouter's
                # temporary ids): compared by position and content, the id change alone is a note
                self._add(out, ev, "final-mismatch", f"output[{i}] names the {built.type} {final.get('id')}, the stream "
                          f"built it as {streamed_id} (an id change alone: its content is compared below)", NOTE,
                          item_id=streamed_id, position=i)
            for key, message in _compare_item(final, built):
                if (built.position, key) not in self._reported:
                    self._reported.add((built.position, key))
                    self._add(out, ev, "final-mismatch", f"output[{i}] {message}", item_id=built.id, position=i)


def _part_text(part: Any) -> str | None:
    if not isinstance(part, dict):
        return None
    v = part.get("refusal") if part.get("type") == "refusal" else part.get("text")
    return v if isinstance(v, str) else None


def _streamed(block) -> bool:
    """Whether a part got any delta: one that did not (its content came only with done events) has nothing to
    compare with, whatever its kind (text, summary, arguments, input, code)."""
    return block is not None and block.first_event is not None


def _compare_item(final: dict, built) -> list[tuple[tuple, str]]:
    """Texts of a final item payload that differ from what the deltas built (only for parts that had deltas: the
    same rule for every kind of part)."""
    problems = []
    for field in ("content", "summary"):
        parts = final.get(field)
        if not isinstance(parts, list):
            continue
        for i, part in enumerate(parts):
            text = _part_text(part)
            block = built.blocks.get((field, i))
            if text is not None and _streamed(block) and text != block.deltas_text:
                problems.append(((field, i), f"{field}[{i}] text differs from the deltas {first_difference(text, block.deltas_text)}"))
    op = final.get("operation")
    for key, text in (("arguments", final.get("arguments")), ("input", final.get("input")), ("code", final.get("code")),
                      ("diff", op.get("diff") if isinstance(op, dict) else None)):
        block = built.blocks.get((key,))
        if isinstance(text, str) and _streamed(block) and text != block.deltas_text:
            problems.append(((key,), f"{key} differ from the deltas {first_difference(text, block.deltas_text)}"))
    content = final.get("content")
    for i, part in enumerate(content if isinstance(content, list) else ()):
        block = built.blocks.get(("content", i))
        sent = part.get("annotations") if isinstance(part, dict) else None
        if block is None or not isinstance(sent, list) or not block.annotations or block.from_final:
            continue
        if sent != block.annotations:
            problems.append((("annotations", i), f"content[{i}] has {len(sent)} annotation(s), the stream's "
                             f"annotation events added {len(block.annotations)}" + ("" if len(sent) != len(block.annotations)
                                                                                 else " (not the same ones)")))
    return problems


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Responses stream."""
    return fold_and_check(ResponseAssembler(), Checker(), events)
