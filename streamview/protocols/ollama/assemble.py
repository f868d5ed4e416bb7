"""Ollama's native API (``POST /api/chat``, ``POST /api/generate``): the assembler.

The stream is NDJSON, one ``ChatResponse`` or ``GenerateResponse`` object a line (the ``ollama`` SDK's types; it
yields one object per line and leaves the joining to its caller, who adds up ``message.content`` and
``message.thinking`` (``response`` and ``thinking`` for generate) and collects ``message.tool_calls``). That is what
is assembled here, into one output item per kind, in the order each kind first appears:

=================================  ======================  ========================================================
line field                         Item.type               its Block (key, kind)
=================================  ======================  ========================================================
``message.thinking``, ``thinking``  ``reasoning``           ("thinking",) ``reasoning_text``: every line's joined
``message.content``, ``response``   ``message``             ("text",) ``output_text``: every line's joined
``message.tool_calls[]``            ``function_call``       ("arguments",) ``arguments``: the JSON of its
                                                           ``function.arguments`` (Ollama sends each call whole, an
                                                           object); ``name`` (and ``id``, ``index`` when sent) in
                                                           data; one item a call, in the order they came
``image`` (generate)                ``image``               ("data",) ``image``: "[image, N bytes]", from the base64
                                                           length; the bytes never kept
=================================  ======================  ========================================================

Choices where the API is silent (documented here, asserted by tests/test_ollama.py):

- ``status``: "in_progress" from the first line. The first line with ``"done": true`` is the terminal event: the
  status is "completed", or "incomplete" with ``response["incomplete_details"] = {"reason": "length"}`` when its
  ``done_reason`` is ``length`` (the output was cut at ``num_predict`` or the context size); ``load`` and ``unload``
  (a request that only loaded or unloaded the model) are "completed". The items still open get the status
  "completed" (``stop``) or the ``done_reason``.
- An ``{"error": "..."}`` line fails the stream: "failed", ``error = {"message": ...}``, terminal unless a done line
  came first. The SDK raises at that line and reads no further, so nothing after it is folded.
- Lines after the done line are still folded (the SDK yields every line to the end of the body); the checker
  reports them.
- ``usage``: from the done line's counts (Ollama leaves a zero count out: an absent count is 0): ``input_tokens`` =
  ``prompt_eval_count``, ``output_tokens`` = ``eval_count``, ``total_tokens`` their sum. ``state.metrics`` keeps
  the done line's counts and durations (nanoseconds) as sent.
- ``model`` and ``created_at`` are the first line's (``response["model"]``, ``["created_at"]``; the checker notes a
  model that changes). ``context`` (generate's token ids) is kept as its length only.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ...events import StreamEvent
from ...state import Item, StreamState, TableAssembler
from .events import CHAT, COUNTS, EVENTS, METRICS, endpoint_of, error_of, type_of

STOP = "stop"
INCOMPLETE_REASONS = frozenset({"length"})
_TEXT_KINDS = {  # kind -> (Item.type, block key, block kind)
    "thinking": ("reasoning", ("thinking",), "reasoning_text"),
    "content": ("message", ("text",), "output_text"),
}


def base64_size(data: str) -> int:
    n = len(data)
    pad = 2 if data.endswith("==") else 1 if data.endswith("=") else 0
    return (n - pad) * 3 // 4


def _int(v: Any) -> int | None:
    return v if v.__class__ is int else None


class OllamaState(StreamState):
    """What an Ollama stream adds up to so far (read by the same panes as every other state)."""

    protocol = "ollama"

    def __init__(self) -> None:
        super().__init__()
        self.endpoint: str | None = None  # "chat" or "generate": the first line's shape
        self.role: str | None = None
        self.done_reason: str | None = None
        self.done_event: int | None = None
        self.metrics: dict[str, Any] = {}  # the done line's counts and durations, as sent
        self.context_tokens: int | None = None  # generate's ``context``: its length, never the ids
        self.logprobs = 0  # token logprobs received
        self.images = 0  # images a chat message carried
        self.progress: tuple[int, int] | None = None  # image generation: (completed, total) steps
        self.thinking: Item | None = None
        self.message: Item | None = None
        self.tool_calls: list[Item] = []
        self.remote: dict[str, str] = {}  # remote_model, remote_host (a cloud model's)

    @property
    def stop_reason(self) -> str | None:
        return self.done_reason

    def joined(self, item: Item | None, key: tuple) -> str | None:
        if item is None:
            return None
        b = item.blocks.get(key)
        return b.text if b is not None else ""

    def final(self) -> dict[str, Any]:
        """The stream as ``print --json`` reports it: the assembled message in Ollama's own shape (what the SDK's
        caller adds up), how it finished, the done line's metrics as sent."""
        r = self.response
        content = self.joined(self.message, ("text",)) or ""
        thinking = self.joined(self.thinking, ("thinking",))
        calls = [item.data.get("call") for item in self.tool_calls]
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "id": None,
            "model": self.model or None,
            "status": self.status or None,
            "usage": self.usage,
            "error": self.error,
            "incomplete_details": r.get("incomplete_details"),
            "endpoint": self.endpoint,
            "created_at": r.get("created_at"),
            "done": self.done_event is not None,
            "done_reason": self.done_reason,
        }
        if self.endpoint == CHAT or self.endpoint is None:
            out["message"] = {"role": self.role or "assistant", "content": content, "thinking": thinking,
                              "tool_calls": calls or None}
            if self.images:
                out["message"]["images"] = self.images
        else:
            out["response"] = content
            out["thinking"] = thinking
            out["context"] = self.context_tokens  # how many token ids, not the ids
            if self.progress is not None:
                out["completed"], out["total"] = self.progress
        for key in METRICS:
            if key in self.metrics:
                out[key] = self.metrics[key]
        if self.logprobs:
            out["logprobs"] = self.logprobs
        out.update(self.remote)
        return out


class OllamaAssembler(TableAssembler):
    """Folds Ollama lines into an ``OllamaState``. ``feed`` is O(1) per delta; the dispatch is made from the events
    table (``events.EVENTS``), keyed by what the line is (``events.type_of``)."""

    state: OllamaState

    def __init__(self) -> None:
        super().__init__(OllamaState(), EVENTS)
        self._next = 0  # the next output position

    def feed(self, ev: StreamEvent) -> None:
        st = self.state
        st.events += 1
        if ev._shape[0] != "event":
            return
        p = ev.payload
        etype = type_of(p)
        if etype is None:
            if p.__class__ is dict:  # a JSON object of no known shape: counted
                key = ev._shape[2]
                st.unknown_types[key] = st.unknown_types.get(key, 0) + 1
            return
        if st.status == "failed":
            return  # the SDK raised at the error line: nothing after it reaches its caller
        self._handlers[etype](ev, p)

    def feed_all(self, events: Iterable[StreamEvent]) -> OllamaState:
        for ev in events:
            self.feed(ev)
        return self.state

    # -- the lines ----------------------------------------------------------------------------------------------
    def _chunk(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"
            st.structure += 1
        if st.endpoint is None:
            st.endpoint = endpoint_of(p)
        resp = st.response
        for key in ("model", "created_at"):
            if key not in resp:
                v = p.get(key)
                if isinstance(v, str) and v:
                    resp[key] = v
        for key in ("remote_model", "remote_host"):
            v = p.get(key)
            if isinstance(v, str) and v:
                st.remote[key] = v
        message = p.get("message")
        if message.__class__ is dict:
            self._message(ev, message)
        else:
            self._text(ev, "thinking", p.get("thinking"))
            self._text(ev, "content", p.get("response"))
            context = p.get("context")
            if context.__class__ is list:
                st.context_tokens = len(context)
            image = p.get("image")
            if isinstance(image, str) and image:
                self._image(ev, image)
            completed, total = _int(p.get("completed")), _int(p.get("total"))
            if completed is not None and total is not None:
                st.progress = (completed, total)
        logprobs = p.get("logprobs")
        if logprobs.__class__ is list:
            st.logprobs += len(logprobs)
        if p.get("done") is True:
            self._done(ev, p)

    def _message(self, ev: StreamEvent, m: dict) -> None:
        st = self.state
        role = m.get("role")
        if isinstance(role, str) and st.role is None:
            st.role = role
        self._text(ev, "thinking", m.get("thinking"))
        self._text(ev, "content", m.get("content"))
        calls = m.get("tool_calls")
        if calls.__class__ is list:
            for call in calls:
                if call.__class__ is dict:
                    self._tool_call(ev, call)
        images = m.get("images")
        if images.__class__ is list:
            st.images += len(images)

    def _new_item(self, ev: StreamEvent, item_type: str, item_id: str = "") -> Item:
        st = self.state
        item = Item(self._next, item_id, item_type)
        self._next += 1
        item.status = "in_progress"
        item.added_event = ev.index
        st.items[item.position] = item
        st.structure += 1
        return item

    def _text(self, ev: StreamEvent, kind: str, text: Any) -> None:
        """A piece of thinking or content: appended to the one item of its kind (made at its first piece)."""
        if not isinstance(text, str):
            return
        st = self.state
        item = st.thinking if kind == "thinking" else st.message
        item_type, key, bkind = _TEXT_KINDS[kind]
        if item is None:
            if not text:
                return  # an empty piece before any text: nothing to show yet
            item = self._new_item(ev, item_type)
            if kind == "thinking":
                st.thinking = item
            else:
                st.message = item
        if text:
            self._append(item, key, bkind, text, ev)

    def _tool_call(self, ev: StreamEvent, call: dict) -> None:
        st = self.state
        fn = call.get("function")
        fn = fn if fn.__class__ is dict else {}
        ident = call.get("id")
        item = self._new_item(ev, "function_call", ident if isinstance(ident, str) else "")
        d = item.data
        d["call"] = call
        name = fn.get("name")
        if isinstance(name, str):
            d["name"] = name
        if isinstance(ident, str):
            d["call_id"] = ident
        index = fn.get("index")
        if index.__class__ is int:
            d["index"] = index
        args = fn.get("arguments")
        text = args if isinstance(args, str) else json.dumps(args if args is not None else {}, ensure_ascii=False)
        self._append(item, ("arguments",), "arguments", text, ev)
        item.done_event = ev.index  # a call comes whole
        item.status = "completed"
        st.tool_calls.append(item)

    def _image(self, ev: StreamEvent, data: str) -> None:
        item = self._new_item(ev, "image")
        size = base64_size(data)
        item.data["bytes"] = size
        b = self._block(item, ("data",), "image")
        b.done, b.from_final = f"[image, {size:,} bytes]", True
        item.done_event, item.status = ev.index, "completed"

    def _done(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if st.done_event is not None:
            return  # a second done line: the checker reports it; the first one's figures stay
        st.done_event = ev.index
        reason = p.get("done_reason")
        st.done_reason = reason if isinstance(reason, str) and reason else None
        st.metrics = {k: p[k] for k in METRICS if k in p}
        counts = [_int(p.get(k)) or 0 for k in COUNTS]
        st.usage = {"input_tokens": counts[0], "output_tokens": counts[1], "total_tokens": counts[0] + counts[1]}
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "done"
        if st.done_reason in INCOMPLETE_REASONS:
            st.status = "incomplete"
            st.response["incomplete_details"] = {"reason": st.done_reason}
        else:
            st.status = "completed"
        status = "completed" if st.done_reason in (None, STOP) else st.done_reason
        for item in st.items.values():
            if item.done_event is None:
                item.done_event = ev.index
                item.status = status
        st.structure += 1

    def _error(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        st.error = error_of(p)
        st.status = "failed"
        st.response.pop("incomplete_details", None)
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "error"
        for item in st.items.values():
            if item.done_event is None:
                item.status = "no done line"
        st.structure += 1


def assemble(events: Iterable[StreamEvent]) -> OllamaState:
    """Fold Ollama lines from the start: the state as of the last of them."""
    return OllamaAssembler().feed_all(events)
