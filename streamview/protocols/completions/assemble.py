"""Legacy Completions streams (``POST /v1/completions`` with ``stream: true``): the assembler.

A Completions stream is data-only SSE: one ``text_completion`` JSON object per event (``id``, ``object``,
``created``, ``model``, ``choices``, ``usage``, ``system_fingerprint``), no ``event:`` line, ending with
``data: [DONE]``. Each choice is ``{"index", "text", "logprobs", "finish_reason"}``: the text is a piece of the
answer (no ``delta`` object, unlike Chat Completions), ``logprobs`` the legacy shape (``tokens``,
``token_logprobs``, ``top_logprobs``, ``text_offset``, one entry per token of the piece) or null. ``n`` > 1 (and
``best_of``, on servers that stream it) interleave several choice indexes; ``echo`` puts the prompt at the start of
each choice's first text; ``stream_options.include_usage`` adds a last chunk with ``choices: []`` and the usage.

The openai SDK yields each chunk as a ``Completion`` and accumulates nothing: what a client assembles is, per
choice index, the concatenation of the chunks' ``choices[i].text``. The assembler folds the chunks into the neutral
state so the panes show them unchanged:

- each choice index is one Item of type ``completion`` (id ``choice N``) with one ``output_text`` block, the
  concatenated text; items get output indexes in the order their choices first appear, and show in index order;
- a choice's ``finish_reason`` becomes its item's status (and ``data["finish_reason"]``); vLLM's ``stop_reason``
  (the stop string or token that matched) is kept in ``data["stop_reason"]``;
- logprobs are summed up per choice (token count, mean, the least likely token, the last few), as Chat Completions
  shows its own.

Status: ``in_progress`` from the first chunk; at ``[DONE]`` ``completed``, or ``incomplete`` when a choice finished
with ``length`` or ``content_filter`` (``incomplete_details.reason`` names it); ``failed`` after an error object
(``data: {"error": {...}}``, on which the SDK raises ``APIError``, or vLLM's ``{"object": "error"}``). The usage is
last-wins, except that a later chunk's ``"usage": null`` does not erase it; ``state.usage`` holds it under the
names the panes read, ``state.completions_usage`` and ``final()["usage"]`` as the server sent it. ``id`` and
``model`` are the first chunk's (the checker notes any other), ``system_fingerprint`` the latest non-null one.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable

from ...events import StreamEvent
from ...state import Item, StreamState, TableAssembler
from .._openai import normalize_usage
from .events import CHUNK_OBJECT, EVENTS, error_of, event_type

INCOMPLETE_REASONS = ("length", "content_filter")  # finish reasons that make the stream "incomplete" at [DONE]
LAST_LOGPROBS = 5  # tokens kept per choice for the logprobs summary
TEXT = ("text",)  # the key of a choice's one block


def _int(v: Any, default: int) -> int:
    return v if v.__class__ is int else default


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Logprobs:
    """What a choice's legacy logprobs add up to: how many tokens, their mean, the least likely one, the last few.
    With ``echo`` the prompt's first token has a null logprob: it is counted, not averaged."""

    __slots__ = ("tokens", "total", "summed", "lowest", "last")

    def __init__(self) -> None:
        self.tokens = 0
        self.total = 0.0  # the sum of the numeric logprobs
        self.summed = 0  # how many were numeric
        self.lowest: dict | None = None
        self.last: deque = deque(maxlen=LAST_LOGPROBS)

    def add(self, lp: dict) -> None:
        tokens = lp.get("tokens")
        values = lp.get("token_logprobs")
        top = lp.get("top_logprobs")
        tokens = tokens if tokens.__class__ is list else []
        values = values if values.__class__ is list else []
        top = top if top.__class__ is list else []
        n = max(len(tokens), len(values))
        self.tokens += n
        for i in range(n):
            value = values[i] if i < len(values) else None
            entry: dict[str, Any] = {"token": tokens[i] if i < len(tokens) else None, "logprob": value}
            if _number(value):
                self.total += value
                self.summed += 1
                if self.lowest is None or value < self.lowest["logprob"]:
                    self.lowest = entry
            alternatives = top[i] if i < len(top) else None
            if alternatives.__class__ is dict and alternatives:
                entry["top"] = len(alternatives)
            self.last.append(entry)

    def summary(self) -> dict:
        return {
            "tokens": self.tokens,
            "mean_logprob": round(self.total / self.summed, 6) if self.summed else None,
            "lowest": self.lowest,
            "last": list(self.last),
        }


class Choice:
    """One choice of the stream (``choices[].index``): its item and how it finished."""

    __slots__ = ("index", "item", "finish_reason", "finish_event", "logprobs")

    def __init__(self, index: int, item: Item) -> None:
        self.index = index
        self.item = item
        self.finish_reason: str | None = None
        self.finish_event: int | None = None
        self.logprobs: Logprobs | None = None

    @property
    def text(self) -> str:
        """The concatenated text (what a client of the SDK joins from the chunks' ``choices[i].text``)."""
        block = self.item.blocks.get(TEXT)
        return block.text if block is not None else ""

    def summary(self) -> dict:
        out: dict[str, Any] = {"index": self.index, "text": self.text, "finish_reason": self.finish_reason,
                               "logprobs": self.logprobs.summary() if self.logprobs is not None else None}
        if "stop_reason" in self.item.data:
            out["stop_reason"] = self.item.data["stop_reason"]
        return out


class CompletionsState(StreamState):
    """What a Completions stream adds up to so far (read by the same panes as every other state)."""

    protocol = "completions"

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[int, Choice] = {}
        self.completions_usage: dict[str, Any] | None = None  # the usage object as the server sent it
        self.done_event: int | None = None  # the first data: [DONE]

    @property
    def stop_reason(self) -> str | None:
        """The choices' finish reasons once every choice has one (``stop``; ``length,stop`` for two that differ)."""
        choices = [self.choices[k] for k in sorted(self.choices)]
        if not choices or any(c.finish_reason is None for c in choices):
            return None
        return ",".join(dict.fromkeys(c.finish_reason for c in choices))  # type: ignore[misc]

    def holds(self, item: Item) -> bool:
        """With ``n`` > 1 the choices interleave on the wire: a choice's text waits (``--plain``) until every choice
        before it has finished, and a choice before it that has not appeared yet counts as not finished (choice 1
        may send its first piece before choice 0 does)."""
        c = item.data.get("choice")
        if c is None:
            return False
        before = [ch for k, ch in self.choices.items() if k < c]
        return len(before) < c or any(ch.finish_reason is None for ch in before)

    def ordered_items(self) -> list[Item]:
        """One item per choice, in index order (``output_index`` keeps the order they first appeared in)."""
        return [self.choices[k].item for k in sorted(self.choices)]

    def separator(self, prev, item, block) -> str:
        """The choices' texts as they are, a blank line between two (a completion is text, not a labelled part)."""
        return "" if prev is None else "\n\n"

    def final(self) -> dict[str, Any]:
        r = self.response
        return {
            "protocol": self.protocol,
            "id": self.id or None,
            "model": self.model or None,
            "status": self.status or None,
            "created": r.get("created"),
            "system_fingerprint": r.get("system_fingerprint"),
            "usage": self.completions_usage,
            "usage_normalized": self.usage,
            "error": self.error,
            "incomplete_details": r.get("incomplete_details"),
            "choices": [self.choices[k].summary() for k in sorted(self.choices)],
        }


class CompletionsAssembler(TableAssembler):
    """Folds Completions chunks into a ``CompletionsState``. ``feed`` is O(1) per delta."""

    state: CompletionsState

    def __init__(self) -> None:
        super().__init__(CompletionsState(), EVENTS)
        self._next = 0  # the next output index

    def feed(self, ev: StreamEvent) -> None:
        st = self.state
        st.events += 1
        etype = event_type(ev)
        if etype is None:
            if ev._shape[0] == "event":
                p = ev.payload
                if p.__class__ is dict:  # a JSON object of no known shape: counted, as the other protocols count theirs
                    key = p.get("object") or p.get("type") or ev._shape[2]
                    key = key if isinstance(key, str) else "?"
                    st.unknown_types[key] = st.unknown_types.get(key, 0) + 1
            return
        self._handlers[etype](ev, ev.payload)

    def feed_all(self, events: Iterable[StreamEvent]) -> CompletionsState:
        for ev in events:
            self.feed(ev)
        return self.state

    def _chunk(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"
            st.structure += 1
        self._metadata(p)
        usage = p.get("usage")
        if usage.__class__ is dict:
            st.completions_usage = usage
            st.usage = normalize_usage(usage)
        choices = p.get("choices")
        if choices.__class__ is list:
            for pos, c in enumerate(choices):
                if c.__class__ is dict:
                    self._choice(ev, c, pos)

    def _metadata(self, p: dict) -> None:
        resp = self.state.response
        for key in ("id", "model"):  # the first chunk's (the checker notes any other)
            if key not in resp:
                v = p.get(key)
                if isinstance(v, str) and v:
                    resp[key] = v
        if "created" not in resp:
            v = p.get("created")
            if _number(v) and v:
                resp["created"] = v
                resp["created_at"] = v  # the key the metadata pane shows as a time
        if "object" not in resp and p.get("object") == CHUNK_OBJECT:
            resp["object"] = CHUNK_OBJECT
        v = p.get("system_fingerprint")  # the latest non-null value (what the last chunk a client read said)
        if v is not None and resp.get("system_fingerprint") != v:
            resp["system_fingerprint"] = v

    def _get_choice(self, idx: int) -> Choice:
        st = self.state
        choice = st.choices.get(idx)
        if choice is None:
            item = Item(self._next, f"choice {idx}", "completion")
            self._next += 1
            item.data = {"choice": idx}
            st.items[item.position] = item
            choice = st.choices[idx] = Choice(idx, item)
            if st.status == "failed" or st.done_event is not None:  # after the end: it never finished
                item.status = "no finish_reason"
            st.structure += 1
        return choice

    def _choice(self, ev: StreamEvent, c: dict, pos: int) -> None:
        choice = self._get_choice(_int(c.get("index"), pos))
        text = c.get("text")
        if text.__class__ is str and text:
            self._append(choice.item, TEXT, "output_text", text, ev)
        lp = c.get("logprobs")
        if lp.__class__ is dict:
            if choice.logprobs is None:
                choice.logprobs = Logprobs()
            choice.logprobs.add(lp)
        stop = c.get("stop_reason")
        if stop is not None and not isinstance(stop, (dict, list)):
            choice.item.data["stop_reason"] = stop
        reason = c.get("finish_reason")
        if isinstance(reason, str) and reason and choice.finish_reason is None:
            self._finish(ev, choice, reason)

    def _finish(self, ev: StreamEvent, choice: Choice, reason: str) -> None:
        choice.finish_reason = reason
        choice.finish_event = ev.index
        item = choice.item
        item.status = reason
        item.data["finish_reason"] = reason
        if item.done_event is None:
            item.done_event = ev.index
        self.state.structure += 1

    # -- the end -----------------------------------------------------------------------------------------------
    def _done(self, ev: StreamEvent, p: Any = None) -> None:
        st = self.state
        if st.done_event is not None:
            return  # a second [DONE] (the checker reports it)
        st.done_event = ev.index
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "[DONE]"
        self._unfinished()
        if st.status != "failed":
            cut = next((st.choices[k].finish_reason for k in sorted(st.choices)
                        if st.choices[k].finish_reason in INCOMPLETE_REASONS), None)
            if cut is not None:
                st.status = "incomplete"
                st.response["incomplete_details"] = {"reason": cut}
            else:
                st.status = "completed"
        st.structure += 1

    def _error(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        st.error = error_of(p)
        st.status = "failed"
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "error"
        self._unfinished()
        st.structure += 1

    def _unfinished(self) -> None:
        """The stream ended (an error, or [DONE]): the items of a choice that never finished say so."""
        for choice in self.state.choices.values():
            if choice.finish_reason is None:
                choice.item.status = "no finish_reason"


def assemble(events: Iterable[StreamEvent]) -> CompletionsState:
    """Fold Completions events from the start: the state as of the last of them."""
    return CompletionsAssembler().feed_all(events)
