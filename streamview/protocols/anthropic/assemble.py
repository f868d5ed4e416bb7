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
``*_tool_result`` and other blocks     the block type                   ("result",) ``result``: their content
                                                                        summarised (titles and URLs, stdout, error)
=====================================  ===============================  ============================================

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
- ``text()`` joins consecutive text blocks with nothing between them, as the SDK's ``get_final_text()`` does (a
  stream splits text into blocks around citations); thinking and tool input start labelled paragraphs.
"""

from __future__ import annotations

import json
from typing import Any

from ...events import StreamEvent
from ...state import Block, Item, StreamState, TableAssembler, block_label
from .events import EVENTS

INCOMPLETE_REASONS = frozenset({"max_tokens", "model_context_window_exceeded", "pause_turn"})
TOOL_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
KNOWN_BLOCK_TYPES = TOOL_TYPES | {
    "text", "thinking", "redacted_thinking", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
    "tool_search_tool_result", "mcp_tool_result", "container_upload",
}
# the delta types each block type takes (block types not listed here are not judged)
DELTAS_FOR = {
    "text": frozenset({"text_delta", "citations_delta"}),
    "thinking": frozenset({"thinking_delta", "signature_delta"}),
    "redacted_thinking": frozenset(),
    **{t: frozenset({"input_json_delta"}) for t in TOOL_TYPES},
}
KNOWN_DELTAS = frozenset({"text_delta", "citations_delta", "thinking_delta", "signature_delta", "input_json_delta"})
# delta type -> (its text field, the block key and kind it appends to, the block type it implies)
_TEXT_DELTAS = {
    "text_delta": ("text", ("text",), "output_text", "text"),
    "thinking_delta": ("thinking", ("thinking",), "thinking", "thinking"),
    "input_json_delta": ("partial_json", ("arguments",), "arguments", "tool_use"),
}
_ITEM_TYPE = {"text": "message"}  # the Item.type of a block type (others: the block type itself)
_SUMMARY_LIMIT = 2000  # characters of a tool result's summary (stdout, a list of results)


def _int(v: Any) -> int | None:
    return v if v.__class__ is int else None


def _separator(prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
    """What goes before ``block``'s text when it follows ``prev``: consecutive text blocks run on (the SDK's
    ``get_final_text`` joins them with nothing); anything else starts a paragraph with its label."""
    if prev is None:
        return block_label(item, block)
    if prev[1].kind == block.kind == "output_text" and prev[0].type == item.type == "message":
        return ""
    return "\n\n" + block_label(item, block)


class AnthropicState(StreamState):
    """What an Anthropic Messages stream adds up to so far (``items`` keyed by content block index)."""

    protocol = "anthropic"

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.message_starts = 0

    @property
    def stop_reason(self) -> str | None:
        v = self.response.get("stop_reason")
        return v if isinstance(v, str) else None

    def final(self) -> dict[str, Any]:
        """The final message as `print --json` reports it (JSON-able)."""
        r = self.response
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "id": self.id or None,
            "model": self.model or None,
            "role": r.get("role"),
            "status": self.status or None,
            "stop_reason": r.get("stop_reason"),
            "stop_sequence": r.get("stop_sequence"),
            "usage": self.usage,
            "error": self.error,
        }
        if r.get("incomplete_details"):
            out["incomplete_details"] = r["incomplete_details"]
        out["pings"] = self.pings
        out["content"] = [content_entry(item) for item in self.ordered_items()]
        return out

    def text(self) -> str:
        shown = [(item, b) for item, b in self.printable_blocks() if b.text]
        return "".join(_separator(shown[n - 1] if n else None, item, b) + b.text for n, (item, b) in enumerate(shown))

    # the same rule for callers that lay text out block by block (``--plain``)
    separator = staticmethod(_separator)


def content_entry(item: Item) -> dict[str, Any]:
    """One content block of ``final()``, in the API's own shape (its ``type``), the texts assembled."""
    d = item.data
    btype = d.get("type") if isinstance(d.get("type"), str) else (item.type or None)
    out: dict[str, Any] = {"index": item.position, "type": btype, "status": item.status or None}
    blocks = item.blocks
    text = blocks.get(("text",))
    if item.type == "message" or text is not None:
        out["text"] = text.text if text is not None else ""
        if text is not None and text.annotations:
            out["citations"] = list(text.annotations)
    if item.type == "thinking" or ("thinking",) in blocks:
        b = blocks.get(("thinking",))
        out["thinking"] = b.text if b is not None else ""
        out["signature"] = d.get("signature")
    if item.type == "redacted_thinking":
        out["data"] = d.get("data")
    if item.type in TOOL_TYPES or ("arguments",) in blocks:
        for key in ("id", "name", "server_name"):
            if isinstance(d.get(key), str):
                out[key] = d[key]
        if "input_error" in d:
            out["input"] = blocks[("arguments",)].text if ("arguments",) in blocks else ""
            out["input_error"] = d["input_error"]
        else:
            out["input"] = d.get("input")
    if ("result",) in blocks:
        if isinstance(d.get("tool_use_id"), str):
            out["tool_use_id"] = d["tool_use_id"]
        out["summary"] = blocks[("result",)].text
    if item.placeholder:
        out["placeholder"] = True  # deltas for an index that no content_block_start announced
    return out


def summarise_result(block: dict) -> str:
    """A tool result block's content in a few lines: the results' titles and URLs, stdout/stderr and return code,
    or the error code. Encrypted content is never shown."""
    content = block.get("content")
    lines: list[str] = []
    if isinstance(content, list):
        lines.append(f"{len(content)} result{'s' if len(content) != 1 else ''}" + (":" if content else ""))
        for n, r in enumerate(content, 1):
            if not isinstance(r, dict):
                lines.append(f"{n}. {type(r).__name__}")
                continue
            title = r.get("title") or r.get("tool_name") or r.get("name") or r.get("type") or "?"
            bits = [f"{n}. {title}"]
            if r.get("url"):
                bits.append(f"<{r['url']}>")
            if r.get("page_age"):
                bits.append(f"({r['page_age']})")
            if isinstance(r.get("text"), str):
                bits.append(r["text"])
            lines.append(" ".join(str(b) for b in bits))
    elif isinstance(content, dict):
        ctype = str(content.get("type", ""))
        if "error_code" in content or ctype.endswith("_error"):
            lines.append(f"error: {content.get('error_code') or ctype}")
        else:
            if ctype:
                lines.append(ctype)
            for key in ("url", "title", "retrieved_at", "return_code"):
                if content.get(key) is not None:
                    lines.append(f"{key}: {content[key]}")
            for key in ("stdout", "stderr", "text"):
                v = content.get(key)
                if isinstance(v, str) and v:
                    lines.append(f"{key}:\n{v.rstrip()}")
            inner = content.get("content")
            if isinstance(inner, list) and inner:
                lines.append(f"{len(inner)} content item(s)")
    elif isinstance(content, str):
        lines.append(content)
    else:
        keys = [k for k in block if k != "type"]
        lines.append(f"fields: {', '.join(keys)}" if keys else "(no content)")
    text = "\n".join(lines)
    if len(text) > _SUMMARY_LIMIT:
        text = text[:_SUMMARY_LIMIT] + f"… ({len(text) - _SUMMARY_LIMIT:,} more characters)"
    return text


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
        resp = {k: v for k, v in msg.items() if k not in ("content", "usage")}
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
            for key in ("stop_reason", "stop_sequence", "stop_details", "container"):
                if key in delta:
                    st.response[key] = delta[key]
        for key in ("context_management",):
            if key in p:
                st.response[key] = p[key]
        usage = p.get("usage")
        if isinstance(usage, dict):
            merged = dict(st.usage) if isinstance(st.usage, dict) else {}
            for k, v in usage.items():
                if v is not None:  # cumulative counts: replace, never add; null keeps the earlier value
                    merged[k] = v
            st.usage = _with_total(merged)

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
        data: dict[str, Any] = {"type": btype}
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
            data["data"] = f"present ({n} bytes)" if isinstance(raw, str) else None
            b = self._block(item, ("redacted",), "redacted")
            b.done = f"[redacted thinking, {n} bytes]"
            b.from_final = True
        elif btype in TOOL_TYPES or ("input" in block and "name" in block):
            for k, v in block.items():
                if k != "input":
                    data[k] = v
            item.id = block["id"] if isinstance(block.get("id"), str) else ""
            data["input"] = block.get("input") if "input" in block else {}
            self._block(item, ("arguments",), "arguments")
        else:
            for k in ("tool_use_id", "id", "name"):
                if isinstance(block.get(k), str):
                    data[k] = block[k]
            item.id = data.get("id", "")
            b = self._block(item, ("result",), "result")
            b.done = summarise_result(block)
            b.from_final = True
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
        else:  # a second start for a used index: kept, after the others
            self._new_item(max(st.items) + 1, block, ev)

    def _item_at(self, idx: int, guess: str) -> Item:
        st = self.state
        item = st.items.get(idx)
        if item is None:
            item = st.items[idx] = Item(idx, "", _ITEM_TYPE.get(guess, guess), placeholder=True)
            item.data = {"type": guess}
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
        else:
            key = f"content_block_delta/{dtype}"
            st.unknown_types[key] = st.unknown_types.get(key, 0) + 1

    @staticmethod
    def _signature(item: Item, sig: Any) -> None:
        """Record a thinking block's signature as present, with its length: never its text."""
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
        args = item.blocks.get(("arguments",))
        if args is None:
            return
        text = args.text
        if text.strip():
            try:
                item.data["input"] = json.loads(text)
            except ValueError as exc:
                item.data["input_error"] = f"not valid JSON: {getattr(exc, 'msg', exc)} (character {getattr(exc, 'pos', '?')})"
                item.phase = "input is not valid JSON"
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
