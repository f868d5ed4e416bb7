"""The Chat Completions checker: the named rules of a ``chat.completion.chunk`` stream (``RULES``), run as events
arrive, after the assembler has folded each."""

from __future__ import annotations

from typing import Any

from ...checks import ERROR, NOTE, Anomaly, AnomalyList, fold_and_check, unreadable
from ...events import StreamEvent
from ...state import StreamState
from .assemble import ChatAssembler, _int, audio_end
from .events import DONE, KNOWN_TYPES, error_of, event_type

RULES = ("after-done", "no-done", "tool-call-no-id", "mixed-ids", "no-finish-reason", "bad-sse", "bad-json", "unknown-event")


class ChatChecker:
    """The rules of a Chat Completions stream (``RULES``). Feed every event after the assembler folded it."""

    def __init__(self) -> None:
        self.anomalies: list[Anomaly] = AnomalyList()
        self.withdrawn = 0  # nothing here is ever withdrawn; kept for the views, as ``checks.Checker``
        self._done: StreamEvent | None = None
        self._error: StreamEvent | None = None
        self._first_id: tuple[str, int] | None = None  # (id, event index)
        self._first_model: tuple[str, int] | None = None
        self._other_ids: set[str] = set()
        self._other_models: set[str] = set()
        self._choices: dict[int, bool] = {}  # choice index -> got a finish_reason
        self._tools: set[tuple[int, int]] = set()
        self._audio_ended: set[int] = set()  # choices finished by the audio's end marker (no finish_reason)

    def _add(self, out: list[Anomaly], ev: StreamEvent, rule: str, message: str, severity: str = ERROR,
             position: int | None = None, item_id: str | None = None) -> None:
        a = Anomaly(rule, ev.index, None, message, severity, item_id, position)
        out.append(a)
        self.anomalies.append(a)

    def feed(self, ev: StreamEvent, state: StreamState | None = None) -> list[Anomaly]:
        out: list[Anomaly] = []
        kind = ev._shape[0]
        if kind == "comment":
            return out
        bad = unreadable(ev)
        if bad is not None and (kind == "junk" or (ev.payload is None and ev._shape[2] != DONE)):
            self._add(out, ev, *bad)  # nothing else can be said about it
            return out
        if self._done is not None:
            what = "a second data: [DONE]" if ev._shape[2] == DONE else "a chunk"
            self._add(out, ev, "after-done", f"{what} after data: [DONE] (event #{self._done.index}); the SDK stops reading at [DONE]")
            return out
        if bad is not None:  # read, but cut off at the end of input
            self._add(out, ev, *bad)
        etype = event_type(ev)
        if etype == DONE:
            self._done = ev
            if self._error is None:
                for idx, finished in self._choices.items():
                    if not finished and idx not in self._audio_ended:
                        # [DONE] is the server saying it finished: a finish_reason it left out is its omission, a
                        # note (Snowflake ends every stream so); a stream cut off before [DONE] is no-done's error
                        self._add(out, ev, "no-finish-reason", f"choice {idx} got no finish_reason before data: [DONE] "
                                  "(the stream did end: a note)", NOTE, **_where_message(state, idx))
            return out
        p = ev.payload
        if p.__class__ is not dict:
            self._add(out, ev, "unknown-event", f"data is {type(p).__name__} JSON, not a chat.completion.chunk object", NOTE)
            return out
        err = error_of(p)
        name = ev._shape[1]
        named = f"named event {name!r}" if name != "message" and not (name == "error" and err is not None) else ""
        if err is not None:
            if named:
                self._add(out, ev, "unknown-event", f"{named} with an error object: Chat Completions streams send data-only events", NOTE)
            if self._error is None:
                self._error = ev
            return out
        if etype not in KNOWN_TYPES:
            obj, ptype = p.get("object"), p.get("type")
            if isinstance(ptype, str) and obj is None:
                what = f"type {ptype!r}: an event of another protocol, not a chat.completion.chunk"
            elif obj is not None:
                what = f"object {obj!r}, not a chat.completion.chunk"
            else:
                what = "a JSON object with neither object nor choices, not a chat.completion.chunk"
            self._add(out, ev, "unknown-event", f"{named}: {what}" if named else what, NOTE)
            return out
        if named:  # a chunk all the same: folded, and checked as one
            self._add(out, ev, "unknown-event", f"{named}: Chat Completions streams send data-only events", NOTE)
        self._ids(ev, p, out)
        choices = p.get("choices")
        if choices.__class__ is list:
            for pos, c in enumerate(choices):
                if c.__class__ is dict:
                    self._choice(ev, c, pos, state, out)
        return out

    def _ids(self, ev: StreamEvent, p: dict, out: list[Anomaly]) -> None:
        for key, first_attr, others in (("id", "_first_id", self._other_ids), ("model", "_first_model", self._other_models)):
            v = p.get(key)
            if not isinstance(v, str) or not v:
                continue  # Azure's content-filter chunks carry "" here
            first = getattr(self, first_attr)
            if first is None:
                setattr(self, first_attr, (v, ev.index))
            elif v != first[0] and v not in others:
                others.add(v)
                if len(others) == 1:  # once a stream per field: a server that varies its chunk ids is not broken
                    self._add(out, ev, "mixed-ids", f"chunk {key} {v!r} differs from {first[0]!r} of the first chunk "
                              f"(event #{first[1]}): this server varies its chunk {key}s (noted once)", NOTE)

    def _choice(self, ev: StreamEvent, c: dict, pos: int, state: Any, out: list[Anomaly]) -> None:
        idx = _int(c.get("index"), pos)
        reason = c.get("finish_reason")
        delta = c.get("delta")
        if isinstance(reason, str) and reason:
            self._choices[idx] = True
        else:
            self._choices.setdefault(idx, False)
            if delta.__class__ is dict and delta:
                # gpt-4o-audio ends a choice with an audio delta of only expires_at and no finish_reason: the choice
                # is finished while that marker is its latest delta
                if audio_end(delta):
                    self._audio_ended.add(idx)
                else:
                    self._audio_ended.discard(idx)
        calls = delta.get("tool_calls") if delta.__class__ is dict else None
        if calls.__class__ is not list:
            return
        for tpos, tc in enumerate(calls):
            if tc.__class__ is not dict:
                continue
            key = (idx, _int(tc.get("index"), tpos))
            if key in self._tools:
                continue
            self._tools.add(key)
            fn = tc.get("function")
            missing = [what for what, v in (("id", tc.get("id")), ("function.name", fn.get("name") if fn.__class__ is dict else None))
                       if not isinstance(v, str) or not v]
            if missing:
                self._add(out, ev, "tool-call-no-id", f"tool call {key[1]} of choice {idx} starts without {' and '.join(missing)}", **_where_tool(state, key))

    def finish(self, events: list[StreamEvent]) -> list[Anomaly]:
        """The end of input: a stream that ended without data: [DONE] (and without an error object)."""
        out: list[Anomaly] = []
        if self._done is None and self._error is None and events:
            last = events[-1]
            open_choices = sorted(i for i, finished in self._choices.items() if not finished and i not in self._audio_ended)
            extra = f"; choice {', '.join(map(str, open_choices))} got no finish_reason" if open_choices else ""
            a = Anomaly("no-done", last.index, None, f"the stream ended without data: [DONE] (cut off?){extra}")
            out.append(a)
            self.anomalies.append(a)
        return out


def _where_message(state: Any, idx: int) -> dict:
    choice = getattr(state, "choices", {}).get(idx)
    items = choice.items() if choice is not None else []
    return {"position": items[0].position, "item_id": items[0].id} if items else {}


def _where_tool(state: Any, key: tuple[int, int]) -> dict:
    choice = getattr(state, "choices", {}).get(key[0])
    item = choice.tools.get(key[1]) if choice is not None else None
    return {"position": item.position, "item_id": item.id or None} if item is not None else {}


def check_events(events: list[StreamEvent]) -> list[Anomaly]:
    """Headless: assemble and check a whole Chat Completions stream."""
    return fold_and_check(ChatAssembler(), ChatChecker(), events)
