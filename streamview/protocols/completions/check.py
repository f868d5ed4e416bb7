"""The legacy Completions checker: the named rules of a ``text_completion`` stream (``RULES``), run as events arrive,
after the assembler has folded each. One fault is one anomaly.

=====================  ========  =================================================================================
rule                   severity  fires when
=====================  ========  =================================================================================
``after-done``         error     an event after ``data: [DONE]`` (the SDK stops reading there), each one
``no-done``            error     the input ended without ``data: [DONE]`` and without an error object: cut off
``after-error``        error     a chunk after the in-stream error object (the SDK raises ``APIError`` at the
                                 error and reads no further); once a stream. A ``[DONE]`` after it is no fault
                                 (vLLM ends a failed stream so)
``after-finish``       error     text, or another finish_reason, for a choice after its finish_reason (once a
                                 choice); a repeated chunk with the same finish_reason and no text is no fault
``mixed-ids``          note      a chunk ``id`` (or ``model``) other than the first chunk's: once a stream a field
``no-finish-reason``   note      ``data: [DONE]`` arrived while a choice had no finish_reason: the server said the
                                 stream ended, and left it out (a stream cut off before ``[DONE]`` is ``no-done``)
``malformed-field``    error     a field of the wrong JSON type: ``choices`` not a list, a choice not an object, a
                                 ``text`` or ``finish_reason`` that is not a string, ``logprobs`` or ``usage``
                                 not an object, an ``index`` that is not an integer (once a field)
``bad-sse``            error     a line that is not SSE, an event cut off at the end of input, or with no data
``bad-json``           error     data that is not JSON
``unknown-event``      note      JSON of another shape (a Chat Completions chunk, another protocol's event), a
                                 named event (Completions streams send data-only events)
=====================  ========  =================================================================================

An error object itself is no anomaly: it is the stream's failure (the status is ``failed``, and ``print``,
``check`` and ``--plain`` say so and exit 1), as in the other protocols.
"""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from .assemble import CompletionsAssembler, _int
from .events import CHUNK_OBJECT, DONE, KNOWN_TYPES, error_of, event_type, has_delta_field

RULES = ("after-done", "no-done", "after-error", "after-finish", "mixed-ids", "no-finish-reason", "malformed-field",
         "bad-sse", "bad-json", "unknown-event")
_TYPES = {"text": (str,), "finish_reason": (str,), "logprobs": (dict,), "index": (int,)}  # choice field -> its types
_WORDS = {str: "a string", dict: "an object", int: "an integer", list: "a list"}


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(v), type(v).__name__)


class CompletionsChecker:
    """The rules of a Completions stream (``RULES``). Feed every event after the assembler folded it."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing here is ever withdrawn; kept for the views, as ``checks.Checker``
        self._done: StreamEvent | None = None
        self._error: StreamEvent | None = None
        self._after_error = False
        self._first: dict[str, tuple[str, int]] = {}  # "id" / "model" -> (the first value, its event index)
        self._others: dict[str, set[str]] = {"id": set(), "model": set()}
        self._finished: dict[int, tuple[str | None, int]] = {}  # choice index -> (its finish_reason or None, event)
        self._after: set[int] = set()  # choices reported after-finish
        self._malformed: set[str] = set()  # fields reported malformed

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             state: Any = None, choice: int | None = None) -> None:
        position, item_id = _where(state, choice)
        a = Anomaly(rule, ev.index, None, message, severity, item_id, position)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: Any = None) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        bad = unreadable(ev)
        if bad is not None and (kind == "junk" or (ev.payload is None and ev._shape[2] != DONE)):
            self._add(out, ev, *bad)  # nothing else can be said about it
            return out
        if self._done is not None:
            what = "a second data: [DONE]" if ev._shape[2] == DONE else "an event"
            self._add(out, ev, "after-done", f"{what} after data: [DONE] (event #{self._done.index}); the SDK stops reading at [DONE]")
            return out
        if bad is not None:  # read, but cut off at the end of input
            self._add(out, ev, *bad)
        etype = event_type(ev)
        if etype == DONE:
            self._done = ev
            if self._error is None:
                for idx in sorted(self._finished):
                    if self._finished[idx][0] is None:
                        # [DONE] is the server saying it finished: a finish_reason it left out is its omission, a
                        # note; a stream cut off before [DONE] is no-done's error
                        self._add(out, ev, "no-finish-reason", f"choice {idx} got no finish_reason before data: [DONE] "
                                  "(the stream did end: a note)", NOTE, state, idx)
            return out
        p = ev.payload
        if p.__class__ is not dict:
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not a {CHUNK_OBJECT} object", NOTE)
            return out
        name = ev._shape[1]
        err = error_of(p)
        named = f"named event {name!r}" if name != "message" and not (name == "error" and err is not None) else ""
        if etype not in KNOWN_TYPES:
            self._add(out, ev, "unknown-event", f"{named}: {_other_shape(p)}" if named else _other_shape(p), NOTE)
            return out
        if named:  # an error or a chunk all the same: folded, and checked as one
            self._add(out, ev, "unknown-event", f"{named}: Completions streams send data-only events", NOTE)
        if self._error is not None:
            if not self._after_error:
                self._after_error = True
                self._add(out, ev, "after-error", f"{'another error object' if err is not None else 'a chunk'} after the "
                          f"error object of event #{self._error.index}; the SDK raises at the error and reads no further")
            return out
        if err is not None:
            self._error = ev
            return out
        self._ids(ev, p, out)
        usage = p.get("usage")
        if usage is not None and usage.__class__ is not dict:
            self._bad_field(out, ev, "usage", usage, "an object")
        choices = p.get("choices")
        if choices is None:
            return out
        if choices.__class__ is not list:
            self._bad_field(out, ev, "choices", choices, "a list")
            return out
        for pos, c in enumerate(choices):
            if c.__class__ is not dict:
                self._bad_field(out, ev, "choices[]", c, "an object")
                continue
            self._choice(ev, c, pos, state, out)
        return out

    def _bad_field(self, out: list[Anomaly], ev: StreamEvent, field: str, value: Any, wanted: str,
                   state: Any = None, choice: int | None = None) -> None:
        if field in self._malformed:
            return
        self._malformed.add(field)
        self._add(out, ev, "malformed-field", f"{field} is {_type_name(value)}, not {wanted} (reported once)",
                  state=state, choice=choice)

    def _ids(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        for key, others in self._others.items():
            v = p.get(key)
            if not isinstance(v, str) or not v:
                continue  # Azure's prompt-filter chunk carries "" here
            first = self._first.get(key)
            if first is None:
                self._first[key] = (v, ev.index)
            elif v != first[0] and v not in others:
                others.add(v)
                if len(others) == 1:  # once a stream per field: a server that varies its chunk ids is not broken
                    self._add(out, ev, "mixed-ids", f"chunk {key} {v!r} differs from {first[0]!r} of the first chunk "
                              f"(event #{first[1]}): this server varies its chunk {key}s (noted once)", NOTE)

    def _choice(self, ev: StreamEvent, c: dict, pos: int, state: Any, out: list[Anomaly]) -> None:
        idx = _int(c.get("index"), pos)
        for field, types in _TYPES.items():
            v = c.get(field)
            if v is not None and v.__class__ not in types:  # (a boolean's class is bool, not int)
                self._bad_field(out, ev, f"choices[].{field}", v, _WORDS[types[0]], state, idx)
        text = c.get("text")
        reason = c.get("finish_reason")
        reason = reason if isinstance(reason, str) and reason else None
        earlier = self._finished.get(idx)
        if earlier is not None and earlier[0] is not None:
            again = reason is not None and reason != earlier[0]
            if (again or (isinstance(text, str) and text)) and idx not in self._after:
                self._after.add(idx)
                what = f"finish_reason {reason}" if again and not (isinstance(text, str) and text) else "text"
                self._add(out, ev, "after-finish", f"{what} for choice {idx} after its finish_reason {earlier[0]} "
                          f"(event #{earlier[1]})", state=state, choice=idx)
            return
        self._finished[idx] = (reason, ev.index)

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that ended without data: [DONE] (and without an error object)."""
        out: list[Anomaly] = []
        if self._done is None and self._error is None and events:
            last = events[-1]
            open_choices = sorted(i for i, (reason, _) in self._finished.items() if reason is None)
            extra = f"; choice {', '.join(map(str, open_choices))} got no finish_reason" if open_choices else ""
            a = Anomaly("no-done", last.index, None, f"the stream ended without data: [DONE] (cut off?){extra}")
            out.append(a)
            self.anomalies.append(a)
        return out


def _other_shape(p: dict) -> str:
    obj, ptype = p.get("object"), p.get("type")
    if has_delta_field(p.get("choices")) or obj == "chat.completion.chunk":
        return "a Chat Completions chunk (choices[].delta), not a text_completion"
    if isinstance(ptype, str) and obj is None:
        return f"type {ptype!r}: an event of another protocol, not a text_completion"
    if obj is not None:
        return f"object {obj!r}, not a text_completion"
    return "a JSON object with neither object nor choices, not a text_completion"


def _where(state: Any, idx: int | None) -> tuple[int | None, str | None]:
    choice = getattr(state, "choices", {}).get(idx) if idx is not None else None
    if choice is None:
        return None, None
    return choice.item.position, choice.item.id


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Completions stream."""
    return fold_and_check(CompletionsAssembler(), CompletionsChecker(), events)
