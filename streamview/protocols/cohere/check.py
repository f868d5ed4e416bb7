"""The Cohere v2 chat checker: named ordering and consistency rules (``RULES``), run as events arrive, after the
assembler has folded each. One fault is one anomaly: a rule fires once per content block, tool call or citation. A
``message-end`` that says the generation failed (``finish_reason`` ERROR or TIMEOUT, or an error message) is no
anomaly, as an error object is in no protocol: it is the stream's failure (the status; ``check`` exits 1).

==========================  ========  ============================================================================
rule                        severity  when
==========================  ========  ============================================================================
``no-message-start``        error     an event of the message before any ``message-start`` (once)
``message-start-repeated``  error     a second ``message-start`` (the first one holds)
``response-id-changed``     error     a ``message-start`` or ``message-end`` whose ``id`` differs from the first id
                                      seen (once per value; an event without one is fine)
``delta-before-start``      error     a delta or end for an index (or a citation's end) whose start never came
``delta-after-end``         error     a delta, or a second end, for an index after its end
``start-repeated``          error     a start for an index that already started
``delta-type-mismatch``     error     a ``thinking`` delta into a text block, or ``text`` into a thinking block
``item-not-done``           error     at ``message-end``: a content block, tool call or citation that started and
                                      never ended (pointing at its start; not when the generation failed: the
                                      failure cut it short)
``tool-arguments-invalid``  error     at ``tool-call-end``: the arguments streamed are not JSON
``no-message-end``          error     the input ended without ``message-end`` (cut off)
``after-message-end``       error     any event after ``message-end``
``finish-incomplete``       note      ``finish_reason`` MAX_TOKENS (the answer was cut), or one streamview does
                                      not know
``missing-field``           error     an event without its integer ``index``, a start without its object, a
                                      ``message-end`` without its ``delta``, an event without a ``type``
``name-mismatch``           note      an ``event:`` line that is not the data's ``type`` (the SDK reads the type)
``bad-sse``                 error     a line that is not SSE, an event cut off at the end of input, or with no data
``bad-json``                error     data that is not JSON
``unknown-event``           note      an event type, or a content type, the protocol does not define, a
                                      ``[DONE]`` sentinel, JSON that is not an object
==========================  ========  ============================================================================
"""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from .assemble import CohereAssembler, _int
from .events import (CITATION, CONTENT, CONTENT_TYPES, END, EVENTS, INCOMPLETE_REASONS, KNOWN_REASONS, KNOWN_TYPES,
                     MESSAGE_START, PIECE, START, TOOL_CALL, TOOL_PLAN, dig, end_error)

RULES = (
    "no-message-start", "message-start-repeated", "response-id-changed", "delta-before-start", "delta-after-end",
    "start-repeated", "delta-type-mismatch", "item-not-done", "tool-arguments-invalid", "no-message-end",
    "after-message-end", "finish-incomplete", "missing-field", "name-mismatch", "bad-sse", "bad-json",
    "unknown-event",
)
_WORDS = {CONTENT: "content block", TOOL_CALL: "tool call", CITATION: "citation"}
# the object a start carries, under delta.message
_START_FIELD = {CONTENT: "content", TOOL_CALL: "tool_calls", CITATION: "citations"}


class _Track:
    __slots__ = ("state", "start", "type", "id", "reported")

    def __init__(self, state: str, start: int, ctype: str = "", item_id: str | None = None) -> None:
        self.state = state  # "open" | "ended" | "early" (its deltas came before any start: reported)
        self.start = start  # the event index of its start (or first event)
        self.type = ctype  # a content block's type
        self.id = item_id
        self.reported: set[str] = set()


class CohereChecker:
    """The rules of a Cohere v2 chat stream (``RULES``). Feed every event after the assembler folded it."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing here is ever withdrawn; kept for the views
        self._started: StreamEvent | None = None
        self._end: StreamEvent | None = None
        self._first_id: tuple[str, int] | None = None
        self._other_ids: set[str] = set()
        self._tracks: dict[tuple[str, int], _Track] = {}
        self._noted_no_start = False
        self._noted_name = False
        self._readable = 0
        # the events without a family, by type; a family's events by their role in it (the table's ``block``)
        self._rules = {t: getattr(self, "_" + t.replace("-", "_")) for t, spec in EVENTS.items() if spec.block is None}
        self._roles = {START: self._start_event, PIECE: self._delta, END: self._end_event}

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             index: int | None = None, state: Any = None, key: tuple | None = None) -> None:
        position, item_id = None, None
        where = getattr(state, "where", None) if key is not None else None
        item = where.get(key) if where is not None else None
        if item is not None:
            position, item_id = item.position, item.id or None
        a = Anomaly(rule, ev.index if index is None else index, None, message, severity, item_id, position)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: Any = None) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        bad = unreadable(ev)
        if bad is not None and (kind == "junk" or (ev.payload is None and ev._shape[2] != "[DONE]")):
            self._add(out, ev, *bad)  # nothing else can be said about it
            return out
        if bad is not None:  # read, but cut off at the end of input
            self._add(out, ev, *bad)
        if ev._shape[2] == "[DONE]":
            self._add(out, ev, "unknown-event", "data: [DONE]: Cohere streams send no end sentinel (they end with message-end; the SDK stops reading at it)", NOTE)
            return out
        p = ev.payload
        if p.__class__ is not dict:
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not an event object", NOTE)
            return out
        self._readable += 1
        ptype = p.get("type")
        if not isinstance(ptype, str) or not ptype:
            self._add(out, ev, "missing-field", f"the event has no type field (its event: name is {ev.name!r}; the SDK skips it)")
            return out
        self._name(ev, ptype, out)
        if self._end is not None:
            self._add(out, ev, "after-message-end", f"{ptype} after message-end (event #{self._end.index})")
            return out
        if ptype not in KNOWN_TYPES:
            self._add(out, ev, "unknown-event", f"{ptype!r}: not an event type the protocol defines (a note: streams gain new events; the SDK skips it)", NOTE)
            return out
        if ptype != MESSAGE_START and self._started is None and not self._noted_no_start:
            self._noted_no_start = True
            self._add(out, ev, "no-message-start", f"{ptype} before any message-start (a Cohere stream starts with it)")
        spec = EVENTS[ptype]
        if spec.block is not None:
            family, role = spec.block
            if family == TOOL_PLAN:
                return out
            idx = _int(p.get("index"))
            if idx is None:
                self._add(out, ev, "missing-field", f"{ptype} without an integer index")
                return out
            self._roles[role](ev, p, family, idx, state, out)
            return out
        rule = self._rules.get(ptype)
        if rule is not None:
            rule(ev, p, state, out)
        return out

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that never sent message-end."""
        out: list[Anomaly] = []
        if self._end is None and self._readable:
            last = events[-1]
            open_ = [f"{_WORDS[f]} {i}" for (f, i), t in sorted(self._tracks.items()) if t.state == "open"]
            where = f" ({', '.join(open_)} still open)" if open_ else ""
            a = Anomaly("no-message-end", last.index, None, f"the stream ended without message-end (cut off?){where}")
            out.append(a)
            self.anomalies.append(a)
        return out

    # -- the rules -------------------------------------------------------------------------------------------------
    def _name(self, ev: StreamEvent, ptype: str, out: list[Anomaly]) -> None:
        name = ev.name
        if name == "message" or name == ptype or self._noted_name:
            return  # no event: line is fine (the SDK reads the data's type)
        self._noted_name = True
        self._add(out, ev, "name-mismatch", f"event: {name} but data.type is {ptype} (the SDK goes by the type; reported once)", NOTE)

    def _id(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        mid = p.get("id")
        if not isinstance(mid, str) or not mid:
            return
        if self._first_id is None:
            self._first_id = (mid, ev.index)
        elif mid != self._first_id[0] and mid not in self._other_ids:
            self._other_ids.add(mid)
            self._add(out, ev, "response-id-changed", f"{p.get('type')} id {mid!r} differs from {self._first_id[0]!r} of event #{self._first_id[1]}")

    def _message_start(self, ev: StreamEvent, p: dict, state: Any, out: list[Anomaly]) -> None:
        self._id(ev, p, out)
        if self._started is not None:
            self._add(out, ev, "message-start-repeated", f"a second message-start (the first is event #{self._started.index}; it holds)")
            return
        self._started = ev

    def _message_end(self, ev: StreamEvent, p: dict, state: Any, out: list[Anomaly]) -> None:
        self._end = ev
        self._id(ev, p, out)
        failed = end_error(p)
        for (family, idx), t in sorted(self._tracks.items()):
            if t.state == "open" and failed is None:  # a failed generation cut them short: its failure says so
                self._add(out, ev, "item-not-done", f"{_WORDS[family]} {idx} started (event #{t.start}) and never ended before message-end (event #{ev.index})",
                          index=t.start, state=state, key=(family, idx))
        delta = p.get("delta")
        if delta.__class__ is not dict:
            self._add(out, ev, "missing-field", "message-end without a delta object (no finish_reason, no usage)")
            return
        if failed is not None:
            return  # the stream's failure, not an anomaly (as in every protocol): the status says it, check exits 1
        reason = delta.get("finish_reason")
        if reason is not None and not isinstance(reason, str):
            self._add(out, ev, "missing-field", f"message-end finish_reason is {type(reason).__name__}, not a word")
        elif reason in INCOMPLETE_REASONS:
            self._add(out, ev, "finish-incomplete", f"finish_reason {reason}: the answer was cut short", NOTE)
        elif reason is not None and reason not in KNOWN_REASONS:
            self._add(out, ev, "finish-incomplete", f"finish_reason {reason!r} is not one streamview knows (read as completed)", NOTE)

    def _debug(self, ev: StreamEvent, p: dict, state: Any, out: list[Anomaly]) -> None:
        pass

    def _once(self, t: _Track, rule: str, ev: StreamEvent, out: list[Anomaly], message: str, state: Any, key: tuple) -> None:
        if rule not in t.reported:
            t.reported.add(rule)
            self._add(out, ev, rule, message, state=state, key=key)

    def _start_event(self, ev: StreamEvent, p: dict, family: str, idx: int, state: Any, out: list[Anomaly]) -> None:
        key = (family, idx)
        obj = dig(p, "delta", "message", _START_FIELD[family])
        t = self._tracks.get(key)
        if t is not None and t.state != "early":
            self._add(out, ev, "start-repeated", f"{ev.type} for {_WORDS[family]} {idx}, which already started at event #{t.start}", state=state, key=key)
            return
        ctype = obj.get("type") if obj.__class__ is dict and isinstance(obj.get("type"), str) else ""
        if t is None:
            self._tracks[key] = t = _Track("open", ev.index, ctype)
        else:  # its deltas came first (reported): from now on it is open
            t.state, t.start, t.type = "open", ev.index, ctype
        if obj.__class__ is not dict:
            self._add(out, ev, "missing-field", f"{ev.type} for {_WORDS[family]} {idx} without its delta.message.{_START_FIELD[family]} object", state=state, key=key)
        elif family == CONTENT and ctype not in CONTENT_TYPES:
            self._add(out, ev, "unknown-event", f"content type {ctype!r} is not one the protocol defines (text, thinking; shown as text)", NOTE, state=state, key=key)

    def _track(self, ev: StreamEvent, family: str, idx: int, state: Any, out: list[Anomaly]) -> _Track | None:
        """The track of a delta's or end's index, or None when its start never came (reported once)."""
        key = (family, idx)
        t = self._tracks.get(key)
        if t is None:
            self._tracks[key] = t = _Track("early", ev.index)
            t.reported.add("delta-before-start")
            self._add(out, ev, "delta-before-start", f"{ev.type} for {_WORDS[family]} {idx} before its start", state=state, key=key)
            return None
        return t

    def _delta(self, ev: StreamEvent, p: dict, family: str, idx: int, state: Any, out: list[Anomaly]) -> None:
        t = self._track(ev, family, idx, state, out)
        if t is None or t.state == "early":
            return
        key = (family, idx)
        if t.state == "ended":
            self._once(t, "delta-after-end", ev, out, f"{ev.type} for {_WORDS[family]} {idx} after its end", state, key)
            return
        if family == CONTENT and t.type in CONTENT_TYPES:
            content = dig(p, "delta", "message", "content")
            if content.__class__ is dict:
                other = next((f for f in CONTENT_TYPES if f != t.type and isinstance(content.get(f), str)), None)
                if other is not None:
                    self._once(t, "delta-type-mismatch", ev, out, f"a {other} delta into {t.type} content block {idx}", state, key)

    def _end_event(self, ev: StreamEvent, p: dict, family: str, idx: int, state: Any, out: list[Anomaly]) -> None:
        t = self._track(ev, family, idx, state, out)
        key = (family, idx)
        if t is None:
            self._tracks[key].state = "ended"
            return
        if t.state == "ended":
            self._once(t, "delta-after-end", ev, out, f"a second {ev.type} for {_WORDS[family]} {idx}", state, key)
            return
        t.state = "ended"
        if family == TOOL_CALL:
            item = state.where.get(key) if state is not None and hasattr(state, "where") else None
            if item is not None and "arguments_error" in item.data:
                name = item.data.get("name") or ""
                self._add(out, ev, "tool-arguments-invalid", f"tool call {idx} {name} arguments: {item.data['arguments_error']}".replace("  ", " "), state=state, key=key)


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Cohere stream."""
    return fold_and_check(CohereAssembler(), CohereChecker(), events)


__all__ = ["CohereChecker", "RULES", "check_events"]
