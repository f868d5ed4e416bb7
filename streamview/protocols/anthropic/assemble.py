"""Anthropic Messages streams (``POST /v1/messages`` with ``"stream": true``): the assembler and the checker.

The stream (protocol.md section 10): ``message_start`` (the message: id, model, role, usage), then per content block
``content_block_start`` {index, content_block}, ``content_block_delta``* {index, delta}, ``content_block_stop``
{index}, then ``message_delta`` {delta: stop_reason, stop_sequence; usage} and ``message_stop``. ``ping`` may come
anywhere; an ``error`` event ends the stream early (``overloaded_error``...). No sequence numbers, no ``[DONE]``.

Each content block (by its ``index``, its place in the final ``content`` list) is one ``Item`` keyed by that index,
so the panes written for the Responses API show it unchanged:

=====================================  ===============================  ============================================
content block                          Item.type                        its Block (key, kind)
=====================================  ===============================  ============================================
``text``                               ``message``                      ("text",) ``output_text``; citations from
                                                                        ``citations_delta`` are its annotations
``thinking``                           ``thinking``                     ("thinking",) ``thinking``; the signature is
                                                                        recorded as present, with its length, never
                                                                        as text (item.data, the header's phase)
``redacted_thinking``                  ``redacted_thinking``            ("redacted",) ``redacted``: the line
                                                                        "[redacted thinking, N bytes]", not the data
``tool_use``, ``server_tool_use``,     the block type (name, id in      ("arguments",) ``arguments``: the
``mcp_tool_use``                       item.data)                       ``input_json_delta.partial_json`` pieces
``compaction``                         ``compaction``                   ("compaction",) ``summary_text``: the
                                                                        summary a ``compaction_delta`` carries (each
                                                                        replaces the one before, as the SDK does)
``*_tool_result``, ``container_upload``, the block type                 no block: ``state.details(item)`` says what
``fallback``, ``mcp_tool_listing``...                                   came back (titles and URLs, stdout, the
                                                                        error, the tools found, the file id...)
=====================================  ===============================  ============================================

``item.data["block"]`` is each block in the API's own shape (its ``content_block_start`` object, then what its
deltas set: citations, signature, compaction content, the parsed tool input at its stop); ``final()`` adds the
streamed text and thinking to it, so ``print --json``'s ``content`` is the SDK's final message content
(tests/test_anthropic_blocks.py), opaque blobs said by their size (``blocks.masked``).

Choices where the protocol is silent (documented here, asserted by tests/test_anthropic.py):

- ``status``: "" before anything, "in_progress" from ``message_start`` (or the first event of a stream that never
  sent it), then at ``message_stop`` "incomplete" when ``stop_reason`` says the answer was cut short
  (``max_tokens``, ``model_context_window_exceeded``, ``pause_turn``; ``incomplete_details`` = {"reason": it}, as the
  Responses API reports ``max_output_tokens``), else "completed"; "failed" at an ``error`` event, which is terminal.
- ``usage``: the message's usage object as sent (every field kept), counts from each ``message_delta`` *replacing*
  the earlier ones (they are cumulative; a null or absent count keeps the earlier one, as the SDK does), plus
  ``total_tokens`` = input_tokens + cache_creation_input_tokens + cache_read_input_tokens + output_tokens: every
  token the request processed (Anthropic's ``input_tokens`` excludes the cached ones, unlike the Responses API's).
- ``ping`` is a keep-alive: counted (``state.pings``, ``response["pings"]``), never an unknown type.
- A second ``message_start`` is ignored, as the official SDK ignores it (the checker reports it).
- ``text()`` joins adjacent text blocks (indexes n and n+1) with nothing between them, as the SDK's
  ``get_final_text()`` does (a stream splits text into blocks around citations); text blocks with another block
  between them (a tool call, its result) are separate paragraphs; thinking and tool input start labelled ones.
- A block's ``phase`` (signature present, citations so far) is for the pane while it streams; its stop clears it.
- A ``fallback`` block names the model that serves the rest of the message: the message's ``model`` becomes it,
  as the SDK's snapshot does.
"""

from __future__ import annotations

import json
from typing import Any

from ...events import StreamEvent
from ...state import Block, Citation, Detail, Item, StreamState, TableAssembler, block_label
from .blocks import BLOCK_TYPES, RESULT_TYPES, TOOL_TYPES, block_details, citation, masked
from .events import EVENTS

INCOMPLETE_REASONS = frozenset({"max_tokens", "model_context_window_exceeded", "pause_turn"})
KNOWN_BLOCK_TYPES = BLOCK_TYPES
# the delta types each block type takes (block types not listed here are not judged)
DELTAS_FOR = {
    "text": frozenset({"text_delta", "citations_delta"}),
    "thinking": frozenset({"thinking_delta", "signature_delta"}),
    "redacted_thinking": frozenset(),
    "compaction": frozenset({"compaction_delta"}),
    **{t: frozenset({"input_json_delta"}) for t in TOOL_TYPES},
    **{t: frozenset() for t in RESULT_TYPES},
}
KNOWN_DELTAS = frozenset({"text_delta", "citations_delta", "thinking_delta", "signature_delta", "input_json_delta", "compaction_delta"})
# the message fields message_delta sets, as the SDK's accumulator sets them: always (stop_*), or when not null
_DELTA_ALWAYS = ("stop_reason", "stop_sequence", "stop_details")
_DELTA_IF_SET = ("container",)
# delta type -> (its text field, the block key and kind it appends to, the block type it implies)
_TEXT_DELTAS = {
    "text_delta": ("text", ("text",), "output_text", "text"),
    "thinking_delta": ("thinking", ("thinking",), "thinking", "thinking"),
    "input_json_delta": ("partial_json", ("arguments",), "arguments", "tool_use"),
}
_ITEM_TYPE = {"text": "message"}  # the Item.type of a block type (others: the block type itself)


def _int(v: Any) -> int | None:
    return v if v.__class__ is int else None


def _separator(prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
    """What goes before ``block``'s text when it follows ``prev``: adjacent text blocks run on (a stream splits
    its text into blocks around citations; the SDK's ``get_final_text`` joins them with nothing); text after
    another block (a tool call, its result), and anything else, starts a paragraph with its label."""
    if prev is None:
        return block_label(item, block)
    p_item, p_block = prev
    if p_block.kind == block.kind == "output_text" and p_item.type == item.type == "message" and p_item.position + 1 == item.position:
        return ""
    return "\n\n" + block_label(item, block)


class AnthropicState(StreamState):
    """What an Anthropic Messages stream adds up to so far (``items`` keyed by content block index)."""

    protocol = "anthropic"

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.message_starts = 0
        # the message in the API's shape, content and usage aside: message_start's message, then what each
        # message_delta sets (``response`` is this plus what the panes read: pings, service_tier...)
        self.message: dict[str, Any] = {}

    @property
    def stop_reason(self) -> str | None:
        v = self.response.get("stop_reason")
        return v if isinstance(v, str) else None

    def final(self) -> dict[str, Any]:
        """The final message as `print --json` reports it (JSON-able): streamview's own fields (protocol, status,
        error, incomplete_details, pings, and ``blocks``: each content block's index and status, with what
        streamview noticed), then the message in the API's shape, ``content`` as the SDK's final message has it
        (opaque blobs said by their size). ``usage`` adds ``total_tokens``."""
        r = self.response
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "status": self.status or None,
            "error": self.error,
        }
        if r.get("incomplete_details"):
            out["incomplete_details"] = r["incomplete_details"]
        out["pings"] = self.pings
        message = {"id": self.id or None, "type": None, "role": None, "model": self.model or None,
                   "stop_reason": None, "stop_sequence": None, "stop_details": None}
        for k, v in self.message.items():
            if k not in ("id", "model"):
                message[k] = v
        out.update(message)
        out["usage"] = self.usage
        items = self.ordered_items()
        out["content"] = [content_entry(item) for item in items]
        out["blocks"] = [block_entry(item) for item in items]
        return out

    # how text() (StreamState's) and --plain lay consecutive blocks out
    separator = staticmethod(_separator)

    def citation(self, annotation: Any) -> Citation | None:
        """A text block's citation (``web_search_result_location``, ``char_location``, ``page_location``,
        ``content_block_location``, ``search_result_location``) in one line; the marker after the text."""
        return citation(annotation)

    def details(self, item: Item) -> list[Detail]:
        """What a block did or brought back beyond its streamed text: a tool result's payload (search results,
        a fetched page's title and text, stdout, the error, the tools found, the uploaded file...), an MCP call's
        server, a tool input that is not JSON."""
        api = item.data.get("block")
        out = block_details(api, item.done_event is not None) if isinstance(api, dict) else []
        if isinstance(item.data.get("input_error"), str):
            out.append(Detail("error", f"input {item.data['input_error']}"))
        return out


def content_entry(item: Item) -> dict[str, Any]:
    """One content block of ``final()``, in the API's own shape: the block as its ``content_block_start`` gave it,
    with what its deltas made of it (text, citations, thinking, signature, input, compaction content), opaque
    blobs said by their size. A block whose type the SDK would not stream a field into keeps its start value."""
    api = item.data.get("block")
    out = dict(api) if isinstance(api, dict) else {"type": item.data.get("type") or None}
    btype = out.get("type")
    if btype == "text":
        b = item.blocks.get(("text",))
        if b is not None and (b.chunks or "text" in out):
            out["text"] = b.text
        if b is not None and b.annotations:  # the start's citations and each citations_delta's, in order
            out["citations"] = list(b.annotations)
    elif btype == "thinking":
        b = item.blocks.get(("thinking",))
        if b is not None and (b.chunks or "thinking" in out):
            out["thinking"] = b.text
    return masked(out)


def block_entry(item: Item) -> dict[str, Any]:
    """streamview's word on one content block (``final()["blocks"]``): its index and status, and where it is
    unusual, why (deltas before any start, a tool input that is not JSON, with its text)."""
    out: dict[str, Any] = {"index": item.position, "type": item.data.get("type") or None, "status": item.status or None}
    if item.placeholder:
        out["placeholder"] = True  # deltas for an index that no content_block_start announced
    if "input_error" in item.data:
        args = item.blocks.get(("arguments",))
        out["input_error"] = item.data["input_error"]
        out["input_text"] = args.text if args is not None else ""
    return out


class AnthropicAssembler(TableAssembler):
    """Folds Anthropic Messages events into an ``AnthropicState``. ``feed`` is O(1) per delta; the dispatch is made
    from the events table (``events.EVENTS``)."""

    def __init__(self) -> None:
        super().__init__(AnthropicState(), EVENTS)

    # -- the message -------------------------------------------------------------------------------------------
    def _started(self) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"

    def _message_start(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        st.message_starts += 1
        if st.message_starts > 1:
            return  # the SDK ignores a second message_start; the checker reports it
        msg = p.get("message")
        if not isinstance(msg, dict):
            msg = {}
        st.message = {k: v for k, v in msg.items() if k not in ("content", "usage")}
        resp = dict(st.message)
        resp["pings"] = st.pings
        usage = msg.get("usage")
        if isinstance(usage, dict):
            if isinstance(usage.get("service_tier"), str):
                resp["service_tier"] = usage["service_tier"]  # the response pane's "tier" row
            st.usage = _with_total(dict(usage))
        st.response = resp
        self._started()
        content = msg.get("content")
        if isinstance(content, list):  # a message that starts with content (a continued turn): blocks, complete
            for i, block in enumerate(content):
                if isinstance(block, dict):
                    item = self._new_item(i, block, ev)
                    self._close(item, ev)
        st.structure += 1

    def _message_delta(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        self._started()
        delta = p.get("delta")
        if isinstance(delta, dict):
            for key in _DELTA_ALWAYS:  # as the SDK sets them: an absent one is null
                self._set(key, delta.get(key))
            for key in _DELTA_IF_SET:
                if delta.get(key) is not None:
                    self._set(key, delta[key])
        for key in ("context_management", "input_transformations"):
            if p.get(key) is not None:
                self._set(key, p[key])
        usage = p.get("usage")
        if isinstance(usage, dict):
            merged = dict(st.usage) if isinstance(st.usage, dict) else {}
            for k, v in usage.items():
                if v is not None:  # cumulative counts: replace, never add; null keeps the earlier value
                    merged[k] = v
            st.usage = _with_total(merged)

    def _set(self, key: str, value: Any) -> None:
        """A message field: in the message (``final()``) and in the snapshot the panes read."""
        st = self.state
        st.message[key] = value
        st.response[key] = value

    def _message_stop(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if st.terminal_event is not None:
            return
        st.terminal_event = ev.index
        st.terminal_type = "message_stop"
        reason = st.response.get("stop_reason")
        if st.status != "failed":
            if isinstance(reason, str) and reason in INCOMPLETE_REASONS:
                st.status = "incomplete"
                st.response["incomplete_details"] = {"reason": reason}
            else:
                st.status = "completed"
        st.structure += 1

    def _ping(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        st.pings += 1
        st.response["pings"] = st.pings

    def _error(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        err = p.get("error")
        if isinstance(err, dict):
            st.error = err
        else:
            st.error = {"type": "error", "message": err if isinstance(err, str) else p.get("message")}
        st.status = "failed"
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "error"
        st.structure += 1

    # -- content blocks ----------------------------------------------------------------------------------------
    def _new_item(self, idx: int, block: dict, ev: StreamEvent) -> Item:
        st = self.state
        btype = block.get("type") if isinstance(block.get("type"), str) else ""
        item = Item(idx, "", _ITEM_TYPE.get(btype, btype or "content_block"))
        item.status = "in_progress"
        item.added_event = ev.index
        st.items[idx] = item
        st.structure += 1
        index = ev.index
        # the block in the API's shape (a copy: the event's payload is never changed); deltas set its fields
        data: dict[str, Any] = {"type": btype, "block": dict(block)}
        item.data = data
        if btype == "text":
            b = self._block(item, ("text",), "output_text")
            if isinstance(block.get("text"), str) and block["text"]:
                b.append(block["text"], index)
            if isinstance(block.get("citations"), list):
                b.annotations.extend(block["citations"])
                _count_citations(item, b)
        elif btype == "thinking":
            b = self._block(item, ("thinking",), "thinking")
            if isinstance(block.get("thinking"), str) and block["thinking"]:
                b.append(block["thinking"], index)
            self._signature(item, block.get("signature"))
        elif btype == "redacted_thinking":
            raw = block.get("data")
            n = len(raw) if isinstance(raw, str) else 0
            data["data"] = f"present ({n} chars)" if isinstance(raw, str) else None
            b = self._block(item, ("redacted",), "redacted")
            b.done = f"[redacted thinking, {n} bytes]"
            b.from_final = True
        elif btype == "compaction":
            b = self._block(item, ("compaction",), "summary_text")
            if isinstance(block.get("content"), str) and block["content"]:
                b.append(block["content"], index)
        elif btype in TOOL_TYPES or ("input" in block and "name" in block):
            for k, v in block.items():
                if k != "input":
                    data[k] = v
            item.id = block["id"] if isinstance(block.get("id"), str) else ""
            data["input"] = block.get("input") if "input" in block else {}
            self._block(item, ("arguments",), "arguments")
        else:  # a tool result and every other block: no text of its own; details() reads data["block"]
            for k in ("tool_use_id", "id", "name"):
                if isinstance(block.get(k), str):
                    data[k] = block[k]
            item.id = data.get("id", "")
            if btype == "fallback":  # the model that serves the rest of the message (the SDK's snapshot too)
                to = block.get("to")
                if isinstance(to, dict) and isinstance(to.get("model"), str):
                    self._set("model", to["model"])
        return item

    def _block_start(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        self._started()
        idx = _int(p.get("index"))
        block = p.get("content_block")
        if idx is None or not isinstance(block, dict):
            return  # nowhere to put it (the checker reports the missing field)
        old = st.items.get(idx)
        if old is None:
            self._new_item(idx, block, ev)
        elif old.placeholder:  # its deltas came first: the start says what they were, the deltas are kept
            fresh = self._new_item(idx, block, ev)
            for key, b in old.blocks.items():
                mine = fresh.blocks.get(key)
                if mine is None or not mine.chunks:
                    fresh.blocks[key] = b
            if old.data.get("signature"):
                fresh.data["signature"], fresh.phase = old.data["signature"], old.phase
                if "signature" in old.data["block"]:
                    fresh.data["block"]["signature"] = old.data["block"]["signature"]
        else:  # a second start for a used index: kept, after the others
            self._new_item(max(st.items) + 1, block, ev)

    def _item_at(self, idx: int, guess: str) -> Item:
        st = self.state
        item = st.items.get(idx)
        if item is None:
            item = st.items[idx] = Item(idx, "", _ITEM_TYPE.get(guess, guess), placeholder=True)
            item.data = {"type": guess, "block": {"type": guess}}
            item.status = "in_progress"
            st.structure += 1
        return item

    def _block_delta(self, ev: StreamEvent, p: dict) -> None:
        idx = p.get("index")
        delta = p.get("delta")
        if idx.__class__ is not int or delta.__class__ is not dict:
            return
        dtype = delta.get("type")
        st = self.state
        item = st.items.get(idx)
        spec = _TEXT_DELTAS.get(dtype)
        if spec is not None:
            field, key, kind, guess = spec
            text = delta.get(field)
            if text.__class__ is str:
                if item is None:
                    item = self._item_at(idx, guess)
                self._append(item, key, kind, text, ev)
        elif dtype == "signature_delta":
            if item is None:
                item = self._item_at(idx, "thinking")
            self._signature(item, delta.get("signature"))
            st.structure += 1
        elif dtype == "citations_delta":
            if item is None:
                item = self._item_at(idx, "text")
            b = item.blocks.get(("text",)) or self._block(item, ("text",), "output_text")
            b.annotations.append(delta.get("citation"))
            _count_citations(item, b)
            st.structure += 1
        elif dtype == "compaction_delta":
            if item is None:
                item = self._item_at(idx, "compaction")
            self._compaction(item, delta, ev)
        else:
            key = f"content_block_delta/{dtype}"
            st.unknown_types[key] = st.unknown_types.get(key, 0) + 1

    def _compaction(self, item: Item, delta: dict, ev: StreamEvent) -> None:
        """A compaction_delta: the summary so far is replaced by the one it carries, and so is the encrypted
        content (the SDK's accumulator sets both from each delta)."""
        if item.data.get("type") == "compaction":
            api = item.data["block"]
            api["content"] = delta.get("content")
            api["encrypted_content"] = delta.get("encrypted_content")
        key = ("compaction",)
        old = item.blocks.get(key)
        if old is not None and old.text:
            del item.blocks[key]  # replaced, not added to
        content = delta.get("content")
        if isinstance(content, str):
            self._append(item, key, "summary_text", content, ev)
        else:
            self._block(item, key, "summary_text")
        self.state.structure += 1

    @staticmethod
    def _signature(item: Item, sig: Any) -> None:
        """Record a thinking block's signature as present, with its length (the pane's phase); the block keeps it
        for ``final()``, which says it by its size too."""
        if isinstance(sig, str) and item.data.get("type") == "thinking":
            item.data["block"]["signature"] = sig
        if isinstance(sig, str) and sig:
            item.data["signature"] = f"present ({len(sig)} chars)"
            item.phase = f"signature present, {len(sig)} chars"
        elif "signature" not in item.data:
            item.data["signature"] = None

    def _block_stop(self, ev: StreamEvent, p: dict) -> None:
        idx = _int(p.get("index"))
        item = self.state.items.get(idx) if idx is not None else None
        if item is None or item.done_event is not None:
            return
        self._close(item, ev)
        self.state.structure += 1

    def _close(self, item: Item, ev: StreamEvent) -> None:
        item.done_event = ev.index
        item.status = "completed"
        item.phase = ""  # what it said while it streamed (signature, citations so far) is over
        args = item.blocks.get(("arguments",))
        if args is None:
            return
        text = args.text
        if text.strip():
            try:
                item.data["input"] = json.loads(text)
            except ValueError as exc:
                item.data["input_error"] = f"not valid JSON: {getattr(exc, 'msg', exc)} (character {getattr(exc, 'pos', '?')})"
            else:
                if item.data.get("type") in TOOL_TYPES:  # the blocks whose input the SDK assembles
                    item.data["block"]["input"] = item.data["input"]
        else:
            start = item.data.get("input")
            if isinstance(start, dict) and start and not args.chunks:
                args.done = json.dumps(start, ensure_ascii=False)  # the whole input came with the start
                args.from_final = True
            item.data.setdefault("input", {})


def _count_citations(item: Item, b: Block) -> None:
    """The pane's header says how many citations a text block has (the citations themselves are in ``final()``)."""
    n = len(b.annotations)
    if n:
        item.phase = f"{n} citation{'s' if n != 1 else ''}"


def _with_total(usage: dict) -> dict:
    counts = [usage.get(k) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")]
    if any(c.__class__ is int for c in counts):
        usage["total_tokens"] = sum(c for c in counts if c.__class__ is int)
    return usage
