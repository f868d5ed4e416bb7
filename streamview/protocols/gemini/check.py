"""The Gemini checker: the named rules of a ``streamGenerateContent?alt=sse`` stream (``RULES``), run as events
arrive, after the assembler has folded each. One fault is one anomaly.

=====================  ========  =================================================================================
rule                   severity  fires when
=====================  ========  =================================================================================
``no-finish-reason``   error     the input ended, without an error or a blocked prompt, and a candidate never got a
                                 ``finishReason`` (or no chunk carried a candidate at all): the stream was cut off;
                                 or no readable event was a chunk at all (not a Gemini stream: a forced protocol)
``after-finish``       error     a candidate got content (or another finishReason) after its finishReason (once per
                                 candidate)
``after-error``        error     an event after the in-stream error object (the SDK raises at the error)
``prompt-blocked``     error     ``promptFeedback.blockReason``: the prompt was refused (the stream failed)
``response-id-changed`` error    a ``responseId`` other than the first one seen (once per value). A chunk without
                                 one is fine, first or later: proxies and older versions leave it out
``model-changed``      error     the same for ``modelVersion``
``malformed-field``    error     a field of the wrong JSON type: candidates not a list, a candidate or a part not
                                 an object, a text that is not a string, a functionCall without a name...
``finish-not-stop``    note      a candidate finished with a reason other than STOP (MAX_TOKENS,
                                 MALFORMED_FUNCTION_CALL...) and not one of the safety family
``safety-blocked``     note      a candidate finished for SAFETY, RECITATION, PROHIBITED_CONTENT... (the answer
                                 is withheld or cut; the stream itself worked)
``bad-sse``            error     a line that is not SSE, an event cut off at the end of input, or with no data
``bad-json``           error     data that is not JSON
``unknown-event``      note      JSON of another shape, a named event (Gemini sends data-only events), a
                                 ``[DONE]`` sentinel, or a part of no kind streamview knows
=====================  ========  =================================================================================
"""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from .assemble import KNOWN_PART_FIELDS, STOP, GeminiAssembler, part_kind
from .events import BLOCKED, ERROR_EVENT, RESPONSE_FIELDS, type_of

RULES = ("no-finish-reason", "after-finish", "after-error", "prompt-blocked", "response-id-changed",
         "model-changed", "malformed-field", "finish-not-stop", "safety-blocked", "bad-sse", "bad-json",
         "unknown-event")
SAFETY_REASONS = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "LANGUAGE"})
_IDS = (("responseId", "response-id-changed"), ("modelVersion", "model-changed"))
_TYPE_WORDS = {list: "a list", dict: "an object", str: "a string"}


def _int(v: Any, default: int) -> int:
    return v if v.__class__ is int else default


def _has_content(part: dict) -> bool:
    """Whether a part adds something: a non-empty text, or any other part field."""
    text = part.get("text")
    if isinstance(text, str):
        return bool(text)
    return any(k in part for k in KNOWN_PART_FIELDS if k not in ("thought", "thoughtSignature"))


class GeminiChecker:
    """The rules of a Gemini stream (``RULES``). Feed every event after the assembler folded it."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing here is ever withdrawn; kept for the views
        self._first: dict[str, tuple[str, int]] = {}  # field -> (the first value, its event index)
        self._others: dict[str, set[str]] = {field: set() for field, _ in _IDS}
        self._finished: dict[int, tuple[str | None, int]] = {}  # candidate -> (its finishReason or None, event)
        self._after: set[int] = set()  # candidates reported after-finish
        self._error: StreamEvent | None = None
        self._blocked = False
        self._chunks = 0
        self._not_chunks = 0  # readable events that are not GenerateContentResponse chunks (nor the error object)
        self._named = False
        self._unknown_parts: set[str] = set()

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             state: Any = None, candidate: int | None = None) -> None:
        where = _where(state, candidate)
        a = Anomaly(rule, ev.index, None, message, severity, where[1], where[0])
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
            self._add(out, ev, "unknown-event", "data: [DONE]: Gemini streams send no end sentinel (they end after the chunk with the finishReason)", NOTE)
            return out
        p = ev.payload
        if p.__class__ is not dict:
            self._not_chunks += 1
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not a GenerateContentResponse object", NOTE)
            return out
        etype = type_of(p)
        self._name(ev, out)
        if etype is None:
            self._not_chunks += 1
            self._add(out, ev, "unknown-event", _other_shape(p), NOTE)
            return out
        if self._error is not None:
            self._add(out, ev, "after-error", f"{etype} after the error object of event #{self._error.index}; the SDK raises at the error and reads no further")
            return out
        if etype == ERROR_EVENT:
            self._error = ev
            return out
        self._chunks += 1
        self._types(ev, p, out)
        self._ids(ev, p, out)
        if etype == BLOCKED and not self._blocked:
            self._blocked = True
            fb = p["promptFeedback"]
            msg = fb.get("blockReasonMessage")
            self._add(out, ev, "prompt-blocked", f"the prompt was blocked: promptFeedback.blockReason {fb.get('blockReason')}" + (f" ({msg})" if isinstance(msg, str) and msg else ""))
        candidates = p.get("candidates")
        if candidates.__class__ is not list:
            return out
        for pos, c in enumerate(candidates):
            if c.__class__ is not dict:
                self._add(out, ev, "malformed-field", f"candidates[{pos}] is {type(c).__name__}, not an object")
                continue
            self._candidate(ev, c, pos, state, out)
        return out

    def _name(self, ev: StreamEvent, out: list[Anomaly]) -> None:
        name = ev._shape[1]
        if name != "message" and not self._named:
            self._named = True
            self._add(out, ev, "unknown-event", f"named event {name!r}: Gemini streams send data-only events (folded all the same; reported once)", NOTE)

    def _types(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        """The response's own fields, each of its JSON type (one anomaly per chunk at most)."""
        for field, kind in RESPONSE_FIELDS.items():
            v = p.get(field)
            if v is not None and not isinstance(v, kind):
                self._add(out, ev, "malformed-field", f"{field} is {type(v).__name__}, not {_TYPE_WORDS[kind]}")
                return

    def _ids(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        for field, rule in _IDS:
            v = p.get(field)
            if not isinstance(v, str) or not v:
                continue  # a chunk without one: fine
            first = self._first.get(field)
            if first is None:
                self._first[field] = (v, ev.index)
            elif v != first[0] and v not in self._others[field]:
                self._others[field].add(v)
                self._add(out, ev, rule, f"{field} {v!r} differs from {first[0]!r} of event #{first[1]}")

    def _candidate(self, ev: StreamEvent, c: dict, pos: int, state: Any, out: list[Anomaly]) -> None:
        idx = _int(c.get("index"), pos)
        parts = self._parts(ev, c, idx, state, out)
        reason = c.get("finishReason")
        if reason is not None and (not isinstance(reason, str) or not reason):
            self._add(out, ev, "malformed-field", f"candidate {idx}: finishReason is {reason!r}, not a reason", state=state, candidate=idx)
            reason = None
        earlier = self._finished.get(idx)
        if earlier is not None and earlier[0] is not None:
            again = reason is not None and reason != earlier[0]
            if (again or any(_has_content(pt) for pt in parts)) and idx not in self._after:
                self._after.add(idx)
                what = f"finishReason {reason}" if again and not any(_has_content(pt) for pt in parts) else "content"
                self._add(out, ev, "after-finish", f"{what} for candidate {idx} after its finishReason {earlier[0]} (event #{earlier[1]})", state=state, candidate=idx)
            return
        self._finished[idx] = (reason, ev.index)
        if reason is None or reason == STOP:
            return
        message = c.get("finishMessage")
        tail = f" ({message})" if isinstance(message, str) and message else ""
        if reason in SAFETY_REASONS:
            self._add(out, ev, "safety-blocked", f"candidate {idx} finished with {reason}: the answer was withheld or cut{tail}", NOTE, state, idx)
        else:
            self._add(out, ev, "finish-not-stop", f"candidate {idx} finished with {reason}, not STOP{tail}", NOTE, state, idx)

    def _parts(self, ev: StreamEvent, c: dict, idx: int, state: Any, out: list[Anomaly]) -> list[dict]:
        """The candidate's parts that are objects (the others, and wrong fields in them, reported)."""
        content = c.get("content")
        if content is None:
            return []
        if content.__class__ is not dict:
            self._add(out, ev, "malformed-field", f"candidate {idx}: content is {type(content).__name__}, not an object", state=state, candidate=idx)
            return []
        parts = content.get("parts")
        if parts is None:
            return []
        if parts.__class__ is not list:
            self._add(out, ev, "malformed-field", f"candidate {idx}: content.parts is {type(parts).__name__}, not a list", state=state, candidate=idx)
            return []
        good = []
        for n, part in enumerate(parts):
            if part.__class__ is not dict:
                self._add(out, ev, "malformed-field", f"candidate {idx}: part {n} is {type(part).__name__}, not an object", state=state, candidate=idx)
                continue
            problem = _part_problem(part)
            if problem:
                self._add(out, ev, "malformed-field", f"candidate {idx}: part {n}: {problem}", state=state, candidate=idx)
            elif part_kind(part) == "unknown":
                fields = ", ".join(sorted(part)) or "no fields"
                if fields not in self._unknown_parts:
                    self._unknown_parts.add(fields)
                    self._add(out, ev, "unknown-event", f"candidate {idx}: a part with {fields}: not a part kind streamview knows (shown summarised)", NOTE, state, idx)
            good.append(part)
        return good

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that ended with a candidate unfinished (and no error, no blocked prompt)."""
        out: list[Anomaly] = []
        if self._error is not None or self._blocked or not events or not (self._chunks or self._not_chunks):
            return out
        last = events[-1]
        open_ = sorted(i for i, (reason, _) in self._finished.items() if reason is None)
        if not self._chunks:  # every readable event had another shape: not a Gemini stream (a forced --protocol)
            message = (f"the stream ended and none of its {self._not_chunks} readable events was a GenerateContentResponse "
                       "chunk: not a Gemini stream?")
        elif not self._finished:
            message = "the stream ended and no chunk carried a candidate or a finishReason (cut off?)"
        elif open_:
            message = f"the stream ended and candidate {', '.join(map(str, open_))} got no finishReason (cut off?)"
        else:
            return out
        a = Anomaly("no-finish-reason", last.index, None, message)
        out.append(a)
        self.anomalies.append(a)
        return out


def _part_problem(part: dict) -> str | None:
    """What is wrong with a part's fields, in words (None: nothing)."""
    if "text" in part and not isinstance(part["text"], str):
        return f"text is {type(part['text']).__name__}, not a string"
    if "thoughtSignature" in part and not isinstance(part["thoughtSignature"], str):
        return "thoughtSignature is not a string"
    for field in ("functionCall", "executableCode", "codeExecutionResult", "inlineData", "fileData", "toolCall"):
        if field in part and part[field].__class__ is not dict:
            return f"{field} is {type(part[field]).__name__}, not an object"
    call = part.get("functionCall")
    if call is not None:
        if not isinstance(call.get("name"), str) or not call["name"]:
            return "a functionCall without a name"
        if call.get("args") is not None and call["args"].__class__ is not dict:
            return f"functionCall.args is {type(call['args']).__name__}, not an object"
    data = part.get("inlineData")
    if data is not None and not isinstance(data.get("data"), str):
        return "inlineData without base64 data"
    return None


def _other_shape(p: dict) -> str:
    ptype, obj = p.get("type"), p.get("object")
    if isinstance(ptype, str):
        return f"type {ptype!r}: an event of another protocol, not a GenerateContentResponse"
    if isinstance(obj, str):
        return f"object {obj!r}, not a GenerateContentResponse"
    keys = ", ".join(sorted(p)[:6]) or "no fields"
    return f"a JSON object with {keys}: not a GenerateContentResponse (no candidates, usageMetadata, promptFeedback)"


def _where(state: Any, candidate: int | None) -> tuple[int | None, str | None]:
    """The output index and id of a candidate's latest item, for the marks (None, None when it has none)."""
    cands = getattr(state, "candidates", None)
    cand = cands.get(candidate) if cands is not None and candidate is not None else None
    if cand is None or not cand.items:
        return None, None
    item = cand.items[-1]
    return item.position, item.id or None


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Gemini stream."""
    return fold_and_check(GeminiAssembler(), GeminiChecker(), events)


__all__ = ["GeminiChecker", "RULES", "SAFETY_REASONS", "check_events"]
