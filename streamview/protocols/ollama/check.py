"""The Ollama checker: the named rules of a ``/api/chat`` or ``/api/generate`` NDJSON stream (``RULES``), run as
lines arrive, after the assembler has folded each. One fault is one anomaly.

=====================  ========  =================================================================================
rule                   severity  fires when
=====================  ========  =================================================================================
``no-done``            error     the input ended without a line with ``"done": true`` (and without an error line):
                                 the stream was cut off; or no readable line was an Ollama line at all (not an
                                 Ollama stream: a forced protocol)
``error-line``         error     an ``{"error": "..."}`` line: the server reported an error (the SDK raises
                                 ``ResponseError`` there)
``after-done``         error     a line after the done line (reported once, at the first: the stream ends there)
``after-error``        error     a line after the error line (reported once: the SDK reads no further)
``malformed-field``    error     a field of the wrong JSON type, which the SDK's ``ChatResponse`` or
                                 ``GenerateResponse`` would not parse: ``message`` not an object, a ``content``
                                 that is not a string, a tool call without a ``function.name`` or whose
                                 ``arguments`` is not an object, ``done`` not a boolean, a count that is not an
                                 integer...
``bad-json``           error     a line that is not JSON (the framer keeps it, with the reason)
``bad-line``           error     lines that cannot start a JSON value (an HTML error page, binary), or a last line
                                 cut off at the end of input
``unknown-shape``      note      a JSON line that is neither a chat nor a generate line nor an error (once per
                                 shape), or a field of neither (once per field)
``model-changed``      note      a ``model`` other than the first line's (once per value)
``mixed-shapes``       note      a generate line in a chat stream, or the reverse (once)
``done-not-stop``      note      the done line's ``done_reason`` is not ``stop``: ``length`` (the output was cut
                                 at ``num_predict`` or the context size), ``load``/``unload`` (nothing was
                                 generated), or a reason Ollama does not document
=====================  ========  =================================================================================
"""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from .assemble import OllamaAssembler
from .events import DONE_REASONS, DONE_TYPES, ERROR_LINE, KNOWN_FIELDS, METRICS, endpoint_of, type_of

RULES = ("no-done", "error-line", "after-done", "after-error", "malformed-field", "bad-json", "bad-line",
         "unknown-shape", "model-changed", "mixed-shapes", "done-not-stop")
_WORDS = {list: "a list", dict: "an object", str: "a string", bool: "a boolean", int: "an integer"}
_REASONS = {
    "length": "the output was cut (num_predict or the context size reached)",
    "load": "the request only loaded the model: nothing was generated",
    "unload": "the request only unloaded the model: nothing was generated",
}


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__


class OllamaChecker:
    """The rules of an Ollama stream (``RULES``). Feed every event after the assembler folded it."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing here is ever withdrawn; kept for the views
        self._done: StreamEvent | None = None
        self._error: StreamEvent | None = None
        self._after = False  # after-done or after-error reported
        self._model: tuple[str, int] | None = None  # the first model and its event
        self._models: set[str] = set()
        self._endpoint: str | None = None
        self._mixed = False
        self._shapes: set[str] = set()  # unknown shapes and fields noted
        self._lines = 0  # readable lines of Ollama's shapes
        self._others = 0  # readable JSON lines of another shape

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             state: Any = None) -> None:
        position, item_id = _where(state)
        a = Anomaly(rule, ev.index, None, message, severity, item_id, position)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: Any = None) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        bad = unreadable(ev)
        if bad is not None:
            rule = "bad-line" if bad[0] == "bad-sse" else bad[0]
            self._add(out, ev, rule, bad[1])
            if kind == "junk" or ev.payload is None:
                return out  # nothing else can be said about it
        p = ev.payload
        etype = type_of(p)
        if etype is None:
            self._others += 1
            self._unknown(ev, p, out)
            return out
        if self._error is not None:
            if not self._after:
                self._after = True
                self._add(out, ev, "after-error", f"a line after the error line of event #{self._error.index}; the SDK raises at the error and reads no further")
            return out
        if self._done is not None and not self._after:
            self._after = True
            self._add(out, ev, "after-done", f"a {etype} line after the done line of event #{self._done.index}: the stream ends at its done line", state=state)
        self._lines += 1
        if etype == ERROR_LINE:
            self._error = ev
            err = p.get("error")
            self._add(out, ev, "error-line", f"the server reported an error: {err if isinstance(err, str) else repr(err)}", state=state)
            return out
        problem = _problem(p)
        if problem:
            self._add(out, ev, "malformed-field", problem, state=state)
        self._fields(ev, p, out)
        self._model_of(ev, p, out)
        self._shape(ev, p, out)
        if etype in DONE_TYPES and self._done is None:
            self._done = ev
            reason = p.get("done_reason")
            if isinstance(reason, str) and reason != "stop":
                why = _REASONS.get(reason) or ("a reason Ollama does not document" if reason not in DONE_REASONS else "")
                self._add(out, ev, "done-not-stop", f"done_reason {reason!r}, not 'stop': {why}", NOTE, state)
        return out

    def _unknown(self, ev: StreamEvent, p: Any, out: list[Anomaly]) -> None:
        if p.__class__ is not dict:
            what = f"a JSON {_kind(p)}"
            message = f"{what}, not an object: not an Ollama line"
        else:
            keys = ", ".join(sorted(p)[:6]) or "no fields"
            what = f"{{{keys}}}"
            message = f"a JSON object with {keys}: neither a chat line (message) nor a generate line (response) nor an error"
        if what not in self._shapes:
            self._shapes.add(what)
            self._add(out, ev, "unknown-shape", message + " (noted once per shape)", NOTE)

    def _fields(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        """A top-level field of neither endpoint's response (once per field: servers add fields)."""
        for key in p:
            if key not in KNOWN_FIELDS and key not in self._shapes:
                self._shapes.add(key)
                self._add(out, ev, "unknown-shape", f"field {key!r}: not a field of Ollama's ChatResponse or GenerateResponse (noted once)", NOTE)

    def _model_of(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        model = p.get("model")
        if not isinstance(model, str) or not model:
            return
        if self._model is None:
            self._model = (model, ev.index)
        elif model != self._model[0] and model not in self._models:
            self._models.add(model)
            self._add(out, ev, "model-changed", f"model {model!r} differs from {self._model[0]!r} of event #{self._model[1]}", NOTE)

    def _shape(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        endpoint = endpoint_of(p)
        if endpoint is None:
            return
        if self._endpoint is None:
            self._endpoint = endpoint
        elif endpoint != self._endpoint and not self._mixed:
            self._mixed = True
            self._add(out, ev, "mixed-shapes", f"a {endpoint} line in a stream of {self._endpoint} lines (folded all the same; noted once)", NOTE)

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that ended without its done line (and without an error)."""
        out: list[Anomaly] = []
        if self._done is not None or self._error is not None or not events or not (self._lines or self._others):
            return out
        if not self._lines:
            message = (f"the stream ended and none of its {self._others} readable lines was an Ollama chat or "
                       "generate line: not an Ollama stream?")
        else:
            message = 'the stream ended without a line with "done": true (cut off?)'
        a = Anomaly("no-done", events[-1].index, None, message)
        out.append(a)
        self.anomalies.append(a)
        return out


def _problem(p: dict) -> str | None:
    """What is wrong with a chat or generate line's fields, in words (None: nothing): what would make the SDK's
    types refuse it."""
    for key, kind in (("model", str), ("created_at", str), ("done", bool), ("done_reason", str)):
        v = p.get(key)
        if v is not None and not isinstance(v, kind):
            return f"{key} is {_kind(v)}, not {_WORDS[kind]}"
    for key in METRICS:
        v = p.get(key)
        if v is not None and (v.__class__ is not int):
            return f"{key} is {_kind(v)}, not an integer"
    if "message" in p:
        return _message_problem(p["message"])
    for key in ("response", "thinking", "image"):
        v = p.get(key)
        if v is not None and not isinstance(v, str):
            return f"{key} is {_kind(v)}, not a string"
    v = p.get("context")
    if v is not None and not (v.__class__ is list and all(t.__class__ is int for t in v)):
        return "context is not a list of token ids"
    return None


def _message_problem(m: Any) -> str | None:
    if m.__class__ is not dict:
        return f"message is {_kind(m)}, not an object"
    if not isinstance(m.get("role"), str):
        return "message has no role" if "role" not in m else f"message.role is {_kind(m['role'])}, not a string"
    for key in ("content", "thinking"):
        v = m.get(key)
        if v is not None and not isinstance(v, str):
            return f"message.{key} is {_kind(v)}, not a string"
    images = m.get("images")
    if images is not None and images.__class__ is not list:
        return f"message.images is {_kind(images)}, not a list"
    calls = m.get("tool_calls")
    if calls is None:
        return None
    if calls.__class__ is not list:
        return f"message.tool_calls is {_kind(calls)}, not a list"
    for n, call in enumerate(calls):
        fn = call.get("function") if call.__class__ is dict else None
        if fn.__class__ is not dict:
            return f"message.tool_calls[{n}] has no function object"
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            return f"message.tool_calls[{n}].function has no name"
        if fn.get("arguments").__class__ is not dict:
            return f"message.tool_calls[{n}].function.arguments is {_kind(fn.get('arguments'))}, not an object"
    return None


def _where(state: Any) -> tuple[int | None, str | None]:
    """The position and id of the latest item, for the marks (None, None when there is none)."""
    items = getattr(state, "items", None)
    if not items:
        return None, None
    item = items[max(items)]
    return item.position, item.id or None


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Ollama stream."""
    return fold_and_check(OllamaAssembler(), OllamaChecker(), events)


__all__ = ["OllamaChecker", "RULES", "check_events"]
