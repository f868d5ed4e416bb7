"""Cohere v2 chat streams (``POST /v2/chat`` with ``"stream": true``): the assembler.

The stream (Cohere's streaming guide; the ``cohere`` SDK's ``V2ChatStreamResponse`` union): SSE events, each named
by an ``event:`` line that repeats its data's ``type`` (the SDK reads the ``type``): ``message-start`` {id, delta:
{message: {role}}}; per content block ``content-start`` {index, delta.message.content: {type: text|thinking}},
``content-delta``* {index, delta.message.content: {text} or {thinking}}, ``content-end`` {index}; the tool plan as
``tool-plan-delta``* {delta.message.tool_plan}; per tool call ``tool-call-start`` {index, delta.message.tool_calls:
{id, type, function: {name, arguments}}}, ``tool-call-delta``* {index, ...function.arguments}, ``tool-call-end``
{index}; per citation ``citation-start`` {index, delta.message.citations: {start, end, text, sources, type,
content_index}} and ``citation-end`` {index}; then ``message-end`` {delta: {finish_reason, usage: {billed_units,
tokens, cached_tokens}, error}}. ``debug`` {prompt} may come when the request asked for it. No ``[DONE]``, no
sequence numbers; content, tool calls and citations each number their own indexes from 0.

Each content block, the tool plan and each tool call is one ``Item``, at a position given in the order they first
appear (so thinking, the plan, the calls and the answer show in the order they streamed):

===================================  =====================  ===================================================
what                                 Item.type              its Block (key, kind)
===================================  =====================  ===================================================
content ``text``                     ``message``            ("text",) ``output_text``
content ``thinking``                 ``reasoning``          ("thinking",) ``reasoning_text`` (print: [reasoning])
the tool plan                        ``tool_plan``          ("plan",) ``thinking`` (print: [tool_plan])
a tool call                          ``function_call``      ("arguments",) ``arguments``; id, ``name`` in data
===================================  =====================  ===================================================

Citations are kept in arrival order (``state.citations``, as sent, ``final()["message"]["citations"]``) and are
annotations of the block they cite: the content block of their ``content_index``, else by their ``type`` the tool
plan (PLAN), the latest thinking (THINKING_CONTENT) or the latest text; that item's header counts them. Each of a
citation's sources is one annotation ``{"source": "doc:0 (title)", "at": <its end>, "citation": N}``, so the panes
number the sources and put the markers ``[n]`` at the end of the cited text, as for every protocol
(``StreamState.citation``). A citation of nothing streamed yet goes on an item of its own (``citations``).

Choices where the protocol is silent (documented here, asserted by tests/test_cohere.py):

- ``status``: "" before anything, "in_progress" from ``message-start`` (or the first event of a stream that never
  sent it); at ``message-end`` (terminal): "failed" when it says the generation failed (``finish_reason`` ERROR or
  TIMEOUT, or a ``delta.error`` message: ``error = {"code": finish_reason, "message": ...}``), "incomplete" for
  MAX_TOKENS (``incomplete_details = {"reason": "MAX_TOKENS"}``), else "completed" (COMPLETE, STOP_SEQUENCE,
  TOOL_CALL, and reasons streamview does not know: the checker notes those).
- ``usage``: ``usage.tokens`` under the neutral names (``input_tokens``, ``output_tokens``, their sum as
  ``total_tokens``), ``cached_tokens`` as ``input_tokens_details.cached_tokens`` (the prompt tokens that hit the
  cache: a part of the input), and ``billed_units`` as sent (a different measure: the pane shows it on its own row,
  it is never mixed into the counts). ``state.cohere_usage`` and ``final()["cohere_usage"]`` keep the object as
  sent.
- The message id is ``message-start``'s (``message-end``'s when the start had none); a second ``message-start`` is
  ignored (the checker reports it, and a different id).
- A tool call's arguments: the start's ``arguments`` then every delta's, joined (empty arguments are ``{}``: a call
  that takes none). The tool plan is done when the first tool call or content block starts after it.
- ``text()``: the items in order; thinking and the tool plan in labelled paragraphs, each tool call as
  ``[function_call NAME] ARGUMENTS``; consecutive text blocks run on.
"""

from __future__ import annotations

import json
from typing import Any

from ...events import StreamEvent
from ...state import Block, Citation, Item, StreamState, TableAssembler, block_label
from .events import (CITATION, CONTENT, FAILED_REASONS, INCOMPLETE_REASONS, TOOL_CALL, TOOL_PLAN, EVENTS, dig,
                     end_error)

CITED = "citations"  # the kind of the block of citations that cite nothing streamed (shown, not printed)
# content type -> (Item.type, block key, block kind)
CONTENT_KINDS = {"text": ("message", ("text",), "output_text"), "thinking": ("reasoning", ("thinking",), "reasoning_text")}
_FIELDS = ("text", "thinking")  # a content delta's text is in the field of its type


def _int(v: Any) -> int | None:
    return v if v.__class__ is int else None


def _count(v: Any) -> int | float | None:
    """A token count as sent (the SDK types them as floats; JSON gives whole numbers as int)."""
    if v.__class__ is float and v.is_integer():
        return int(v)
    return v if v.__class__ in (int, float) else None


def normalize_usage(u: dict) -> dict[str, Any]:
    """``message-end``'s usage under the neutral names (see the module docstring); counts not sent are left out."""
    tokens = u.get("tokens") if u.get("tokens").__class__ is dict else {}
    out: dict[str, Any] = {}
    inp, outp = _count(tokens.get("input_tokens")), _count(tokens.get("output_tokens"))
    if inp is not None:
        out["input_tokens"] = inp
    if outp is not None:
        out["output_tokens"] = outp
    if inp is not None and outp is not None:
        out["total_tokens"] = inp + outp
    cached = _count(u.get("cached_tokens"))
    if cached is not None:
        out["input_tokens_details"] = {"cached_tokens": cached}
    billed = u.get("billed_units")
    if billed.__class__ is dict:
        out["billed_units"] = {k: _count(v) if _count(v) is not None else v for k, v in billed.items()}
    return out


def source_label(s: Any) -> str:
    """A citation's source in a few words: its id, and a document's title (or a tool output's first keys)."""
    if s.__class__ is not dict:
        return type(s).__name__
    sid = s.get("id") if isinstance(s.get("id"), str) else ""
    doc = s.get("document")
    if doc.__class__ is dict:
        title = doc.get("title") or doc.get("url")
        if not sid and isinstance(doc.get("id"), str):
            sid = doc["id"]
        return f"{sid or 'document'}" + (f" ({title})" if isinstance(title, str) and title else "")
    out = s.get("tool_output")
    if out.__class__ is dict:
        return f"{sid or 'tool'} (tool output: {', '.join(list(out)[:3]) or 'empty'})"
    return sid or str(s.get("type") or "source")


def _label(item: Item, block: Block) -> str:
    """A block's label in ``text()``, by what its text is (a delta's field says it, whatever its block's type):
    none for the answer's text, ``[reasoning]`` for thinking, ``[TYPE NAME]`` for the rest."""
    if block.kind == "reasoning_text":
        return "[reasoning] "
    if block.kind == "output_text" and item.type == "message":
        return ""
    return block_label(item, block)


def _separator(prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
    """Consecutive text blocks run on; anything else starts a paragraph with its label."""
    if prev is None:
        return _label(item, block)
    if prev[1].kind == block.kind == "output_text" and prev[0].type == item.type == "message":
        return ""
    return "\n\n" + _label(item, block)


class CohereState(StreamState):
    """What a Cohere v2 chat stream adds up to so far (``items`` by order of appearance)."""

    protocol = "cohere"

    def __init__(self) -> None:
        super().__init__()
        self.where: dict[tuple, Item] = {}  # (family, index) -> its item; (TOOL_PLAN,) -> the plan
        self.citations: list[dict] = []  # as sent, in arrival order
        self.citation_index: dict[int, int] = {}  # citation-start index -> its place in ``citations``
        self.cited: dict[int, Item] = {}  # citation-start index -> the item it annotates
        self.ended: set[tuple] = set()  # (family, index) whose end event came
        self.message_starts = 0
        self.cohere_usage: dict | None = None
        self.logprobs = 0  # content deltas that carried logprobs
        self.debug_prompts: list[int] = []  # the length of each debug event's prompt

    @property
    def stop_reason(self) -> str | None:
        v = self.response.get("finish_reason")
        return v if isinstance(v, str) else None

    def text(self) -> str:
        shown = [(item, b) for item, b in self.printable_blocks() if b.text]
        return "".join(_separator(shown[n - 1] if n else None, item, b) + b.text for n, (item, b) in enumerate(shown))

    separator = staticmethod(_separator)

    def message(self) -> dict[str, Any]:
        """The assembled message in the API's own shape (the non-streaming response's ``message``)."""
        content, calls = [], []
        plan = self.where.get((TOOL_PLAN,))
        # each list by its own index (the place the API gives it), whatever order the starts came in
        for item in sorted(self.ordered_items(), key=lambda i: (i.data.get("index", -1), i.position)):
            d = item.data
            if d.get("family") == CONTENT:
                ctype = d.get("type")
                entry: dict[str, Any] = {"type": ctype}
                for field in _FIELDS:
                    key = ("text",) if field == "text" else ("thinking",)
                    if ctype == field or key in item.blocks:
                        entry[field] = item.blocks[key].text if key in item.blocks else ""
                content.append(entry)
            elif d.get("family") == TOOL_CALL:
                args = item.blocks.get(("arguments",))
                calls.append({"id": item.id or None, "type": d.get("type"),  # the arguments as streamed
                              "function": {"name": d.get("name"), "arguments": args.deltas_text if args is not None else ""}})
        return {
            "role": self.response.get("role"),
            "tool_plan": plan.text_of("thinking") if plan is not None else None,
            "tool_calls": calls,
            "content": content,
            "citations": list(self.citations),
        }

    def final(self) -> dict[str, Any]:
        """The final state as `print --json` reports it (JSON-able)."""
        r = self.response
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "id": self.id or None,
            "model": self.model or None,
            "status": self.status or None,
            "finish_reason": r.get("finish_reason"),
            "usage": self.usage,
            "cohere_usage": self.cohere_usage,
            "error": self.error,
        }
        if r.get("incomplete_details"):
            out["incomplete_details"] = r["incomplete_details"]
        out["message"] = self.message()
        out["items"] = [self.item_summary(item) for item in self.ordered_items()]
        return out

    def citation(self, annotation: Any) -> Citation | None:
        """One source of a citation, its marker at the end of the cited text."""
        if not isinstance(annotation, dict) or not isinstance(annotation.get("source"), str):
            return None
        at = annotation.get("at")
        return Citation(annotation["source"], at if at.__class__ is int else None)

    def item_summary(self, item: Item) -> dict[str, Any]:
        out = super().item_summary(item)
        d = item.data
        for key in ("family", "index", "name", "arguments_error"):
            if key in d:
                out[key] = d[key]
        if item.placeholder:
            out["placeholder"] = True  # deltas for an index that no start announced
        return out


class CohereAssembler(TableAssembler):
    """Folds Cohere v2 chat events into a ``CohereState``; O(1) per delta, the dispatch made from ``EVENTS``."""

    def __init__(self) -> None:
        super().__init__(CohereState(), EVENTS)

    # -- the message -------------------------------------------------------------------------------------------
    def _started(self) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"

    def _message_start(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        st.message_starts += 1
        if st.message_starts > 1:
            return  # the first start holds (the checker reports this one)
        mid = p.get("id")
        if isinstance(mid, str) and mid:
            st.response["id"] = mid
        role = dig(p, "delta", "message", "role")
        if isinstance(role, str):
            st.response["role"] = role
        self._started()
        st.structure += 1

    def _message_end(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if st.terminal_event is not None:
            return  # the first end holds (the checker reports what comes after it)
        self._started()
        mid = p.get("id")
        if isinstance(mid, str) and mid and not st.response.get("id"):
            st.response["id"] = mid
        delta = p.get("delta") if p.get("delta").__class__ is dict else {}
        reason = delta.get("finish_reason")
        if "finish_reason" in delta:
            st.response["finish_reason"] = reason
        usage = delta.get("usage")
        if usage.__class__ is dict:
            st.cohere_usage = usage
            st.usage = normalize_usage(usage)
        st.terminal_event = ev.index
        st.terminal_type = "message-end"
        failed = end_error(p)
        if failed is not None:
            st.status = "failed"
            st.error = {"code": failed[0], "message": failed[1]}
        elif isinstance(reason, str) and reason in INCOMPLETE_REASONS:
            st.status = "incomplete"
            st.response["incomplete_details"] = {"reason": reason}
        else:
            st.status = "completed"
        plan = st.where.get((TOOL_PLAN,))
        if plan is not None and plan.done_event is None:
            self._close(plan, ev)
        st.structure += 1

    def _debug(self, ev: StreamEvent, p: dict) -> None:
        prompt = p.get("prompt")
        self.state.debug_prompts.append(len(prompt) if isinstance(prompt, str) else 0)
        self.state.structure += 1

    # -- items -------------------------------------------------------------------------------------------------
    def _new(self, key: tuple, item_type: str, data: dict, ev: StreamEvent, placeholder: bool = False) -> Item:
        st = self.state
        item = Item(len(st.items), "", item_type, placeholder=placeholder)
        item.status = "in_progress"
        item.added_event = ev.index
        item.data = data
        st.items[item.position] = item
        st.where[key] = item
        st.structure += 1
        self._started()
        if key[0] != TOOL_PLAN:
            self._plan_done(ev)
        return item

    def _plan_done(self, ev: StreamEvent) -> None:
        """The tool plan is done when something else starts after it."""
        plan = self.state.where.get((TOOL_PLAN,))
        if plan is not None and plan.done_event is None:
            self._close(plan, ev)

    def _close(self, item: Item, ev: StreamEvent) -> None:
        item.done_event = ev.index
        item.status = "completed"
        self.state.structure += 1

    def _end(self, family: str, p: dict, ev: StreamEvent) -> Item | None:
        idx = _int(p.get("index"))
        if idx is None:
            return None
        key = (family, idx)
        st = self.state
        st.ended.add(key)
        item = st.where.get(key)
        if item is not None and item.done_event is None:
            self._close(item, ev)
        return item

    # -- content -----------------------------------------------------------------------------------------------
    def _content_item(self, idx: int, ctype: str, ev: StreamEvent, placeholder: bool = False) -> Item:
        item_type, key, kind = CONTENT_KINDS.get(ctype, (ctype or "content", ("text",), "output_text"))
        item = self._new((CONTENT, idx), item_type, {"family": CONTENT, "index": idx, "type": ctype}, ev, placeholder)
        self._block(item, key, kind)
        return item

    def _content_start(self, ev: StreamEvent, p: dict) -> None:
        idx = _int(p.get("index"))
        content = dig(p, "delta", "message", "content")
        if idx is None:
            return  # nowhere to put it (the checker reports the missing field)
        content = content if content.__class__ is dict else {}
        ctype = content.get("type") if isinstance(content.get("type"), str) else ""
        st = self.state
        item = st.where.get((CONTENT, idx))
        if item is not None and not item.placeholder:
            return  # a second start for a started index: the first holds (the checker reports it)
        if item is None:
            item = self._content_item(idx, ctype, ev)
        else:  # its deltas came first: the start says what they were (the deltas are kept)
            item_type, key, kind = CONTENT_KINDS.get(ctype, (ctype or item.type, ("text",), "output_text"))
            item.type, item.placeholder = item_type, False
            item.data["type"] = ctype or item.data.get("type")
            self._block(item, key, kind)
            st.structure += 1
        for field in _FIELDS:  # the start may carry text already (it usually carries "")
            text = content.get(field)
            if isinstance(text, str) and text:
                key, kind = (("text",), "output_text") if field == "text" else (("thinking",), "reasoning_text")
                self._append(item, key, kind, text, ev)

    def _content_delta(self, ev: StreamEvent, p: dict) -> None:
        idx = p.get("index")
        if idx.__class__ is not int:
            return
        content = dig(p, "delta", "message", "content")
        if content.__class__ is not dict:
            return
        if p.get("logprobs") is not None:
            self.state.logprobs += 1
        item = self.state.where.get((CONTENT, idx))
        for field in _FIELDS:
            text = content.get(field)
            if text.__class__ is str:
                if item is None:
                    item = self._content_item(idx, field, ev, placeholder=True)
                key, kind = (("text",), "output_text") if field == "text" else (("thinking",), "reasoning_text")
                self._append(item, key, kind, text, ev)

    def _content_end(self, ev: StreamEvent, p: dict) -> None:
        self._end(CONTENT, p, ev)

    # -- the tool plan -----------------------------------------------------------------------------------------
    def _tool_plan_delta(self, ev: StreamEvent, p: dict) -> None:
        text = dig(p, "delta", "message", "tool_plan")
        if text.__class__ is not str:
            return
        st = self.state
        item = st.where.get((TOOL_PLAN,))
        if item is None:
            item = self._new((TOOL_PLAN,), "tool_plan", {"family": TOOL_PLAN}, ev)
            self._block(item, ("plan",), "thinking")
        self._append(item, ("plan",), "thinking", text, ev)

    # -- tool calls --------------------------------------------------------------------------------------------
    def _call_item(self, idx: int, ev: StreamEvent, placeholder: bool = False) -> Item:
        item = self._new((TOOL_CALL, idx), "function_call", {"family": TOOL_CALL, "index": idx, "type": "function"}, ev, placeholder)
        self._block(item, ("arguments",), "arguments")
        return item

    def _tool_call_start(self, ev: StreamEvent, p: dict) -> None:
        idx = _int(p.get("index"))
        call = dig(p, "delta", "message", "tool_calls")
        if idx is None:
            return
        call = call if call.__class__ is dict else {}
        st = self.state
        item = st.where.get((TOOL_CALL, idx))
        if item is not None and not item.placeholder:
            return  # a second start: the first holds
        if item is None:
            item = self._call_item(idx, ev)
        item.placeholder = False
        cid = call.get("id")
        if isinstance(cid, str) and cid:
            item.id = cid
            item.data["call_id"] = cid
        if isinstance(call.get("type"), str):
            item.data["type"] = call["type"]
        fn = call.get("function") if call.get("function").__class__ is dict else {}
        if isinstance(fn.get("name"), str):
            item.data["name"] = fn["name"]
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            self._append(item, ("arguments",), "arguments", args, ev)
        st.structure += 1

    def _tool_call_delta(self, ev: StreamEvent, p: dict) -> None:
        idx = p.get("index")
        if idx.__class__ is not int:
            return
        args = dig(p, "delta", "message", "tool_calls", "function", "arguments")
        if args.__class__ is not str:
            return
        item = self.state.where.get((TOOL_CALL, idx))
        if item is None:
            item = self._call_item(idx, ev, placeholder=True)
        self._append(item, ("arguments",), "arguments", args, ev)

    def _tool_call_end(self, ev: StreamEvent, p: dict) -> None:
        item = self._end(TOOL_CALL, p, ev)
        if item is None or "arguments_error" in item.data:
            return
        text = item.text_of("arguments")
        if not text.strip():  # no arguments: a call that takes none, shown (and printed) as {}
            block = item.blocks[("arguments",)]
            if not block.chunks:
                block.done, block.from_final = "{}", True
            return
        try:
            json.loads(text)
        except ValueError as exc:
            item.data["arguments_error"] = f"not valid JSON: {getattr(exc, 'msg', exc)} (character {getattr(exc, 'pos', '?')})"
            item.phase = "arguments are not valid JSON"

    # -- citations ---------------------------------------------------------------------------------------------
    def _target(self, c: dict) -> Item | None:
        """The item a citation annotates (see the module docstring), or None when there is none yet."""
        st = self.state
        ci = _int(c.get("content_index"))
        if ci is not None and (CONTENT, ci) in st.where:
            return st.where[(CONTENT, ci)]
        ctype = c.get("type")
        if ctype == "PLAN" and (TOOL_PLAN,) in st.where:
            return st.where[(TOOL_PLAN,)]
        wanted = "reasoning" if ctype == "THINKING_CONTENT" else "message"
        for item in reversed(st.ordered_items()):
            if item.type == wanted:
                return item
        return None

    def _citation_start(self, ev: StreamEvent, p: dict) -> None:
        idx = _int(p.get("index"))
        c = dig(p, "delta", "message", "citations")
        if idx is None or c.__class__ is not dict:
            return
        st = self.state
        if idx in st.citation_index:
            return  # a second start for a citation index: the first holds (the checker reports it)
        st.citation_index[idx] = len(st.citations)
        st.citations.append(c)
        item = self._target(c)
        if item is None:  # a citation of nothing streamed yet: listed on its own
            item = st.where.get((CITATION,))
            if item is None:
                item = self._new((CITATION,), "citations", {"family": CITATION}, ev)
                self._close(item, ev)  # nothing streams into it
        st.cited[idx] = item
        block = next(iter(item.ordered_blocks()), None)
        if block is None:
            block = self._block(item, ("list",), CITED)
        end = c.get("end")
        sources = c.get("sources") if c.get("sources").__class__ is list else []
        for source in sources or [None]:  # a citation without sources still marks its text
            label = source_label(source) if source is not None else "(no source)"
            block.annotations.append({"source": label, "at": end if end.__class__ is int else None, "citation": len(st.citations)})
        n = item.data["citations"] = item.data.get("citations", 0) + 1
        item.phase = f"{n} citation{'s' if n != 1 else ''}"
        st.structure += 1

    def _citation_end(self, ev: StreamEvent, p: dict) -> None:
        idx = _int(p.get("index"))
        if idx is not None:
            self.state.ended.add((CITATION, idx))


def assemble(events) -> CohereState:
    """Headless: fold a whole Cohere stream."""
    return CohereAssembler().feed_all(events)


__all__ = ["CohereAssembler", "CohereState", "FAILED_REASONS", "assemble", "normalize_usage"]
