"""Google Gemini streams (``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``): the assembler.

The stream is data-only SSE: one ``GenerateContentResponse`` JSON object per event, CRLF line endings, no ``event:``
line and no end sentinel. Each chunk holds ``candidates[]`` (by ``index``), each with the ``content.parts`` it adds,
and, on the last chunk of a candidate, its ``finishReason``; every chunk repeats ``usageMetadata`` (cumulative),
``modelVersion`` and ``responseId``. A refused prompt is one chunk with ``promptFeedback.blockReason`` and no
candidates; an error mid-stream is an ``{"error": {"code", "message", "status"}}`` object.

Each candidate (``index``; a candidate without one is its position in the list, so 0 for the usual single one) is a
run of Items in the order its parts came, so several candidates show apart, each with its ``candidate N``:

=================================  ======================  ========================================================
part                               Item.type               its Block (key, kind)
=================================  ======================  ========================================================
``text``                           ``message``             ("text",) ``output_text``; consecutive text parts run on
                                                           in one item; ``citationMetadata`` and
                                                           ``groundingMetadata`` are its annotations, a ("sources",)
                                                           block lists the grounding sources (not printed)
``text`` with ``thought: true``    ``reasoning``           ("thought",) ``reasoning_text`` (``print``: [reasoning])
``functionCall``                   ``function_call``       ("arguments",) ``arguments``: the JSON of ``args`` (a call
                                                           comes whole); ``name``, ``call_id`` (its ``id``) in data
``executableCode``                 ``executable_code``     ("code",) ``code``; ``language`` in data
``codeExecutionResult``            ``code_execution_result`` ("result",) ``result``: its ``output``; ``outcome`` in
                                                           data and the phase
``inlineData``                     ``inline_data``         ("data",) ``inline_data``: "[mime type, N bytes]", the size
                                                           computed from the base64 length; the bytes never kept
``fileData``                       ``file_data``           ("result",) ``result``: the mime type and URI
``toolCall`` / ``toolResponse``,   ``tool_call`` /         ``arguments`` (the JSON of ``args``) / ``result`` (the
``functionResponse``, others       ``tool_response``...    part summarised, long strings cut)
=================================  ======================  ========================================================

A new kind of part closes the candidate's open item (status "completed"); a part that comes whole (all but text) is
closed at once. ``thoughtSignature`` (on a thought, a text or a function call part) is recorded on the item it came
with as present, with its length (``data["thought_signature"]``, the header's phase), never as text.

Choices where the API is silent (documented here, asserted by tests/test_gemini.py):

- ``status``: "" before anything, "in_progress" from the first chunk. When every candidate seen has a
  ``finishReason``, the chunk that carried the last one is the terminal event, and the status is "completed" if
  every candidate finished with ``STOP``, else "incomplete" with ``response["incomplete_details"] = {"reason": R,
  "candidate": N}`` (and ``"message"``: its ``finishMessage``) for the first candidate that did not: ``MAX_TOKENS``,
  and the safety family too (``SAFETY``, ``RECITATION``, ``PROHIBITED_CONTENT``, ``BLOCKLIST``, ``SPII``, the image
  ones...): the stream worked, the answer is missing or cut, which the neutral state calls "incomplete" (a content
  filter's cut included); the checker notes which. The items still open when their candidate finished get the
  reason as their status ("completed" for ``STOP``). A candidate that appears after the others finished reopens
  the stream.
- A refused prompt (``promptFeedback.blockReason``) is "failed", with ``error = {"code": <blockReason>,
  "message": <blockReasonMessage or a sentence>}``, and terminal; so is an in-stream error object (``error`` as
  sent).
- ``usage``: the latest ``usageMetadata`` (each chunk's is cumulative; Google leaves zero counts out, so an absent
  count is 0), normalized: ``input_tokens`` = ``promptTokenCount`` (cached tokens included: the neutral
  ``cached_tokens`` is a part of ``input_tokens``), ``input_tokens_details.cached_tokens`` =
  ``cachedContentTokenCount``, ``output_tokens`` = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (every token
  generated: the neutral ``reasoning_tokens`` is a part of ``output_tokens``, while Google's
  ``candidatesTokenCount`` leaves thoughts out), ``output_tokens_details.reasoning_tokens`` =
  ``thoughtsTokenCount``, ``tool_use_input_tokens`` = ``toolUsePromptTokenCount`` (when sent), ``total_tokens`` =
  ``totalTokenCount`` (Google's: prompt + candidates + thoughts + tool-use prompt; the sum of those when it is
  absent), so ``input_tokens + output_tokens + tool_use_input_tokens == total_tokens``. ``state.gemini_usage`` and
  ``final()["usageMetadata"]`` keep the object as sent.
- ``modelVersion`` and ``responseId`` are the first chunk's that has them (``response["model"]``, ``["id"]``; the
  checker reports a change).
- ``text()``: each candidate's items in order, thoughts labelled ``[reasoning]`` apart from the answer; consecutive
  text parts run on; with several candidates each starts ``[candidate N]``. Code execution results, inline data
  and grounding sources are shown in the message pane, not printed.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ...events import StreamEvent
from ...state import Block, Item, StreamState, TableAssembler, block_label
from .events import EVENTS, block_reason, error_of, type_of

STOP = "STOP"
SUMMARY_LIMIT = 2000  # characters of a summarised part; longer strings in kept metadata are cut to a note
_TEXT_KINDS = ("text", "thought")
# part field -> (Item.type, block key, block kind) for the parts that come whole
_WHOLE = {
    "functionCall": ("function_call", ("arguments",), "arguments"),
    "executableCode": ("executable_code", ("code",), "code"),
    "codeExecutionResult": ("code_execution_result", ("result",), "result"),
    "inlineData": ("inline_data", ("data",), "inline_data"),
    "fileData": ("file_data", ("result",), "result"),
    "toolCall": ("tool_call", ("arguments",), "arguments"),
    "toolResponse": ("tool_response", ("result",), "result"),
    "functionResponse": ("function_response", ("result",), "result"),
}
KNOWN_PART_FIELDS = frozenset(_WHOLE) | {"text", "thought", "thoughtSignature", "partMetadata", "videoMetadata",
                                         "mediaResolution"}


def _list(v: Any) -> list:
    return v if v.__class__ is list else []


def _int(v: Any, default: int) -> int:
    return v if v.__class__ is int else default


def _count(v: Any) -> int:
    return v if v.__class__ is int else 0


def normalize_usage(u: dict) -> dict[str, Any]:
    """A ``usageMetadata`` object under the neutral names (see the module docstring): absent counts are 0."""
    prompt, candidates = _count(u.get("promptTokenCount")), _count(u.get("candidatesTokenCount"))
    thoughts, tool = _count(u.get("thoughtsTokenCount")), _count(u.get("toolUsePromptTokenCount"))
    total = u.get("totalTokenCount")
    out: dict[str, Any] = {
        "input_tokens": prompt,
        "output_tokens": candidates + thoughts,
        "total_tokens": total if total.__class__ is int else prompt + candidates + thoughts + tool,
        "input_tokens_details": {"cached_tokens": _count(u.get("cachedContentTokenCount"))},
        "output_tokens_details": {"reasoning_tokens": thoughts},
    }
    if "toolUsePromptTokenCount" in u:
        out["tool_use_input_tokens"] = tool
    return out


def base64_size(data: str) -> int:
    """The number of bytes a base64 string decodes to, from its length (padding or none)."""
    n = len(data)
    pad = 2 if data.endswith("==") else 1 if data.endswith("=") else 0
    return (n - pad) * 3 // 4


def compact(value: Any, limit: int = SUMMARY_LIMIT) -> Any:
    """``value`` with every string longer than ``limit`` replaced by a note of its length (encoded bytes, rendered
    HTML: kept metadata never carries them whole)."""
    if isinstance(value, str):
        return value if len(value) <= limit else f"<{len(value):,} characters>"
    if isinstance(value, dict):
        return {k: compact(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v, limit) for v in value]
    return value


def part_kind(part: dict) -> str:
    """What a part is: ``thought``, ``text``, one of the whole-part fields (``functionCall``...), ``signature`` (a
    part that only carries a thoughtSignature) or ``unknown``."""
    text = part.get("text")
    if text.__class__ is str:
        return "thought" if part.get("thought") is True else "text"
    for field in _WHOLE:
        if isinstance(part.get(field), dict):
            return field
    if isinstance(part.get("thoughtSignature"), str):
        return "signature"
    return "unknown"


class Candidate:
    """One candidate of the stream (``candidates[].index``): its items in order and how it finished."""

    __slots__ = ("index", "items", "current", "current_kind", "finish", "finish_message", "finish_event",
                 "safety_ratings", "grounding", "grounded", "citations", "cited", "role", "token_count",
                 "avg_logprobs", "url_context")

    def __init__(self, index: int) -> None:
        self.index = index
        self.items: list[Item] = []
        self.current: Item | None = None  # the item the next part of the same kind runs on in
        self.current_kind = ""
        self.finish: str | None = None
        self.finish_message: str | None = None
        self.finish_event: int | None = None
        self.safety_ratings: list | None = None
        self.grounding: dict | None = None  # the latest groundingMetadata, as sent
        self.grounded: Item | None = None  # the message item its annotations went on
        self.citations: list[dict] = []
        self.cited: set[str] = set()
        self.role: str | None = None
        self.token_count: int | None = None
        self.avg_logprobs: float | None = None
        self.url_context: dict | None = None

    def message(self) -> Item | None:
        """The latest message item (the text the citations and grounding go with)."""
        for item in reversed(self.items):
            if item.type == "message":
                return item
        return None


def _phase(item: Item) -> None:
    """The header's phase: the signature, the grounding sources and citations an item has."""
    d = item.data
    bits = []
    if isinstance(d.get("thought_signature"), str):
        bits.append(f"signature {d['thought_signature']}")
    for key, word in (("sources", "source"), ("supports", "support"), ("citations", "citation")):
        n = d.get(key)
        if n:
            bits.append(f"{n} {word}{'s' if n != 1 else ''}")
    if isinstance(d.get("outcome"), str):
        bits.append(d["outcome"])
    item.phase = ", ".join(bits)


class GeminiState(StreamState):
    """What a Gemini stream adds up to so far (read by the same panes as every other state)."""

    protocol = "gemini"

    def __init__(self) -> None:
        super().__init__()
        self.candidates: dict[int, Candidate] = {}
        self.open_candidates = 0  # candidates without a finishReason yet
        self.gemini_usage: dict[str, Any] | None = None  # usageMetadata as sent
        self.prompt_feedback: dict[str, Any] | None = None
        self.block_reason: str | None = None

    @property
    def stop_reason(self) -> str | None:
        """The finishReason of the first candidate (by index) that has one, or the prompt's blockReason."""
        for k in sorted(self.candidates):
            reason = self.candidates[k].finish
            if reason is not None:
                return reason
        return self.block_reason

    def separator(self, prev: tuple[Item, Block] | None, item: Item, block: Block) -> str:
        """What goes before ``block``'s text in ``text()`` (and ``--plain``): the text parts of one message run on;
        anything else starts a labelled paragraph; with several candidates, the first block of each says which."""
        label = block_label(item, block)
        c = item.data.get("candidate")
        if len(self.candidates) > 1 and (prev is None or prev[0].data.get("candidate") != c):
            label = f"[candidate {c}] " + label
        if prev is None:
            return label
        if prev[0] is item and prev[1].kind == block.kind == "output_text":
            return ""
        return "\n\n" + label

    def ordered_items(self) -> list[Item]:
        """Items grouped by candidate (in index order), each candidate's in the order its parts came."""
        return sorted(self.items.values(), key=lambda item: (_int(item.data.get("candidate"), 0), item.position))

    def holds(self, item: Item) -> bool:
        """A later candidate's text waits (``--plain``) while an earlier candidate has not finished."""
        c = item.data.get("candidate")
        if c.__class__ is not int:
            return False
        return any(cand.finish is None for k, cand in self.candidates.items() if k < c)

    def final(self) -> dict[str, Any]:
        """The response as ``print --json`` reports it, in Gemini's own shape, the parts assembled (JSON-able)."""
        r = self.response
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "id": self.id or None,
            "model": self.model or None,
            "status": self.status or None,
            "usage": self.usage,
            "usageMetadata": self.gemini_usage,
            "error": self.error,
            "incomplete_details": r.get("incomplete_details"),
            "promptFeedback": compact(self.prompt_feedback) if self.prompt_feedback is not None else None,
            "candidates": [candidate_entry(self.candidates[k]) for k in sorted(self.candidates)],
        }
        for key in ("createTime", "modelStatus"):
            if key in r:
                out[key] = r[key]
        return out


def candidate_entry(cand: Candidate) -> dict[str, Any]:
    """One candidate of ``final()``: its parts rebuilt from its items, how it finished, its metadata."""
    citations = [{k: v for k, v in c.items() if k != "type"} for c in cand.citations]
    out: dict[str, Any] = {
        "index": cand.index,
        "content": {"role": cand.role or "model", "parts": [p for p in (part_entry(i) for i in cand.items) if p is not None]},
        "finishReason": cand.finish,
        "finishMessage": cand.finish_message,
        "safetyRatings": cand.safety_ratings,
        "groundingMetadata": compact(cand.grounding) if cand.grounding is not None else None,
        "citationMetadata": {"citations": citations} if citations else None,
    }
    if cand.token_count is not None:
        out["tokenCount"] = cand.token_count
    if cand.avg_logprobs is not None:
        out["avgLogprobs"] = cand.avg_logprobs
    if cand.url_context is not None:
        out["urlContextMetadata"] = compact(cand.url_context)
    return out


def part_entry(item: Item) -> dict[str, Any] | None:
    """The part an item stands for, as Gemini words it (None for an empty message item)."""
    d, blocks, t = item.data, item.blocks, item.type
    part: dict[str, Any]
    if t in ("message", "reasoning"):
        b = blocks.get(("text",) if t == "message" else ("thought",))
        if b is None and "thought_signature" not in d:
            return None
        part = {"text": b.text if b is not None else ""}
        if t == "reasoning":
            part["thought"] = True
    elif t == "function_call":
        call: dict[str, Any] = {"name": d.get("name"), "args": d.get("args")}
        if "call_id" in d:
            call["id"] = d["call_id"]
        part = {"functionCall": call}
    elif t == "executable_code":
        b = blocks.get(("code",))
        part = {"executableCode": _with_id({"language": d.get("language"), "code": b.text if b else ""}, d)}
    elif t == "code_execution_result":
        b = blocks.get(("result",))
        part = {"codeExecutionResult": _with_id({"outcome": d.get("outcome"), "output": b.text if b else ""}, d)}
    elif t == "inline_data":
        part = {"inlineData": {"mimeType": d.get("mime_type"), "bytes": d.get("bytes")}}
    else:
        part = dict(d.get("part") or {})
    if isinstance(d.get("thought_signature"), str):
        part["thoughtSignature"] = d["thought_signature"]
    return part


def _with_id(entry: dict, d: dict) -> dict:
    if "id" in d:
        entry["id"] = d["id"]
    return entry


def summarise_part(field: str, body: dict) -> str:
    """A part that is not text in a few lines: a file's mime type and URI, a tool response's JSON (cut)."""
    if field == "fileData":
        return f"{body.get('mimeType') or '?'} {body.get('fileUri') or ''}".strip()
    text = json.dumps(compact(body), ensure_ascii=False)
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT] + f"… ({len(text) - SUMMARY_LIMIT:,} more characters)"


class GeminiAssembler(TableAssembler):
    """Folds Gemini chunks into a ``GeminiState``. ``feed`` is O(1) per delta; the dispatch is made from the events
    table (``events.EVENTS``), keyed by what the payload is (``events.type_of``)."""

    state: GeminiState

    def __init__(self) -> None:
        super().__init__(GeminiState(), EVENTS)
        self._next = 0  # the next output index

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
        self._handlers[etype](ev, p)

    def feed_all(self, events: Iterable[StreamEvent]) -> GeminiState:
        for ev in events:
            self.feed(ev)
        return self.state

    # -- the events --------------------------------------------------------------------------------------------
    def _chunk(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"
            st.structure += 1
        self._metadata(p)
        usage = p.get("usageMetadata")
        if usage.__class__ is dict:
            st.gemini_usage = usage
            st.usage = normalize_usage(usage)
        feedback = p.get("promptFeedback")
        if feedback.__class__ is dict:
            st.prompt_feedback = feedback
        candidates = p.get("candidates")
        if candidates.__class__ is list:
            for pos, c in enumerate(candidates):
                if c.__class__ is dict:
                    self._candidate(ev, c, pos)
        self._settle(ev)

    def _blocked(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        self._chunk(ev, p)
        reason = block_reason(p) or "BLOCKED_REASON_UNSPECIFIED"
        message = (st.prompt_feedback or {}).get("blockReasonMessage")
        st.block_reason = reason
        st.error = {"code": reason, "message": message if isinstance(message, str) and message else
                    f"the prompt was blocked (promptFeedback.blockReason {reason})"}
        self._fail(ev, "blocked")

    def _error(self, ev: StreamEvent, p: dict) -> None:
        self.state.error = error_of(p)
        self._fail(ev, "error")

    def _fail(self, ev: StreamEvent, what: str) -> None:
        """The stream failed at ``ev``: terminal (unless it ended before), and the unfinished items say so."""
        st = self.state
        st.status = "failed"
        st.response.pop("incomplete_details", None)
        if st.terminal_event is None or st.terminal_type == "finishReason":
            st.terminal_event = ev.index
            st.terminal_type = what
        for cand in st.candidates.values():
            if cand.finish is None:
                for item in cand.items:
                    if item.done_event is None:
                        item.status = "no finishReason"
        st.structure += 1

    # -- a chunk's parts ---------------------------------------------------------------------------------------
    def _metadata(self, p: dict) -> None:
        resp = self.state.response
        for key, field in (("id", "responseId"), ("model", "modelVersion"), ("createTime", "createTime")):
            if key not in resp:  # the first chunk's (the checker reports any other)
                v = p.get(field)
                if isinstance(v, str) and v:
                    resp[key] = v
        status = p.get("modelStatus")
        if status.__class__ is dict:
            resp["modelStatus"] = status

    def _candidate(self, ev: StreamEvent, c: dict, pos: int) -> None:
        st = self.state
        idx = _int(c.get("index"), pos)
        cand = st.candidates.get(idx)
        if cand is None:
            cand = st.candidates[idx] = Candidate(idx)
            st.open_candidates += 1
            if st.terminal_type == "finishReason":  # every candidate had finished: this one reopens the stream
                st.terminal_event, st.terminal_type, st.status = None, "", "in_progress"
                st.response.pop("incomplete_details", None)
        content = c.get("content")
        if content.__class__ is dict:
            role = content.get("role")
            if isinstance(role, str) and cand.role is None:
                cand.role = role
            parts = content.get("parts")
            if parts.__class__ is list:
                for part in parts:
                    if part.__class__ is dict:
                        self._part(ev, cand, part)
        self._candidate_metadata(ev, cand, c)
        reason = c.get("finishReason")
        if isinstance(reason, str) and reason and cand.finish is None:
            self._finish(ev, cand, reason, c.get("finishMessage"))

    def _candidate_metadata(self, ev: StreamEvent, cand: Candidate, c: dict) -> None:
        ratings = c.get("safetyRatings")
        if ratings.__class__ is list:
            cand.safety_ratings = ratings
        for field, attr, kind in (("tokenCount", "token_count", int), ("avgLogprobs", "avg_logprobs", (int, float)),
                                  ("urlContextMetadata", "url_context", dict)):
            v = c.get(field)
            if isinstance(v, kind) and not isinstance(v, bool):
                setattr(cand, attr, v)
        cm = c.get("citationMetadata")
        if cm.__class__ is dict:
            sources = cm.get("citationSources")  # the Gemini API's name (Vertex AI says "citations")
            if sources.__class__ is not list:
                sources = cm.get("citations")
            if sources.__class__ is list:
                self._citations(ev, cand, sources)
        grounding = c.get("groundingMetadata")
        if grounding.__class__ is dict:
            self._grounding(ev, cand, grounding)

    def _part(self, ev: StreamEvent, cand: Candidate, part: dict) -> None:
        kind = part_kind(part)
        if kind in _TEXT_KINDS:
            item = self._run(ev, cand, kind)
            key, bkind = (("text",), "output_text") if kind == "text" else (("thought",), "reasoning_text")
            text = part["text"]
            if text:
                self._append(item, key, bkind, text, ev)
            else:
                self._block(item, key, bkind)
        elif kind == "signature":
            item = cand.current if cand.current is not None else self._run(ev, cand, "text")
        else:
            item = self._whole(ev, cand, kind, part)
        sig = part.get("thoughtSignature")
        if isinstance(sig, str) and sig:
            item.data["thought_signature"] = f"present ({len(sig)} chars)"
            _phase(item)
            self.state.structure += 1

    def _new_item(self, ev: StreamEvent, cand: Candidate, item_type: str, item_id: str, kind: str) -> Item:
        """A new item of ``cand`` (closing the one open before it), which the parts of ``kind`` run on in."""
        st = self.state
        if cand.current is not None:
            self._close(cand.current, ev)
        item = Item(self._next, item_id, item_type)
        self._next += 1
        item.status = "in_progress"
        item.added_event = ev.index
        item.data = {"candidate": cand.index}
        st.items[item.position] = item
        cand.items.append(item)
        cand.current, cand.current_kind = item, kind
        st.structure += 1
        return item

    def _run(self, ev: StreamEvent, cand: Candidate, kind: str) -> Item:
        """The item a text or thought part goes in: the open one if it is of that kind, else a new one."""
        if cand.current is not None and cand.current_kind == kind:
            return cand.current
        item_type = "message" if kind == "text" else "reasoning"
        return self._new_item(ev, cand, item_type, f"candidate {cand.index}", kind)

    def _whole(self, ev: StreamEvent, cand: Candidate, field: str, part: dict) -> Item:
        """A part that comes whole (a function call, code, its result, inline data...): one item, closed at once."""
        body = part.get(field) if field in _WHOLE else None
        if body is None:  # a part of no kind streamview knows: kept, summarised
            item = self._new_item(ev, cand, "part", "", field)
            item.data["fields"] = sorted(k for k in part if k != "thoughtSignature")
            item.data["part"] = compact({k: v for k, v in part.items() if k != "thoughtSignature"})
            b = self._block(item, ("result",), "result")
            b.done, b.from_final = summarise_part(field, item.data["part"]), True
            self._close(item, ev)
            return item
        item_type, key, bkind = _WHOLE[field]
        ident = body.get("id")
        item = self._new_item(ev, cand, item_type, ident if isinstance(ident, str) else "", field)
        d = item.data
        if isinstance(ident, str):
            d["call_id" if field == "functionCall" else "id"] = ident
        if field in ("functionCall", "toolCall"):
            name = body.get("name") if field == "functionCall" else body.get("toolType")
            if isinstance(name, str):
                d["name"] = name
            args = body.get("args")
            d["args"] = args if args is not None else {}
            if field == "toolCall":
                d["part"] = {field: compact(body)}
            self._append(item, key, bkind, json.dumps(d["args"], ensure_ascii=False), ev)
        elif field == "executableCode":
            d["language"] = body.get("language")
            code = body.get("code")
            if isinstance(code, str) and code:
                self._append(item, key, bkind, code, ev)
        elif field == "codeExecutionResult":
            d["outcome"] = body.get("outcome")
            output = body.get("output")
            if isinstance(output, str) and output:
                self._append(item, key, bkind, output, ev)
            _phase(item)
        elif field == "inlineData":
            self._inline(item, body, key, bkind)
        else:  # fileData, toolResponse, functionResponse: summarised
            if isinstance(body.get("name"), str):
                d["name"] = body["name"]
            d["part"] = {field: compact(body)}
            b = self._block(item, key, bkind)
            b.done, b.from_final = summarise_part(field, body), True
        self._close(item, ev)
        return item

    def _inline(self, item: Item, body: dict, key: tuple, kind: str) -> None:
        """Inline data: its mime type and size (from the base64 length); the bytes are never kept."""
        mime = body.get("mimeType")
        data = body.get("data")
        size = base64_size(data) if isinstance(data, str) else None
        item.data["mime_type"] = mime if isinstance(mime, str) else None
        item.data["bytes"] = size
        b = self._block(item, key, kind)
        b.done = f"[{mime if isinstance(mime, str) else 'data'}, {f'{size:,} bytes' if size is not None else 'no data'}]"
        b.from_final = True

    def _close(self, item: Item, ev: StreamEvent) -> None:
        if item.done_event is None:
            item.done_event = ev.index
            item.status = "completed"
            self.state.structure += 1

    def _citations(self, ev: StreamEvent, cand: Candidate, sources: list) -> None:
        """Citations as annotations of the candidate's text (each once: chunks may repeat them)."""
        item = cand.message() or self._run(ev, cand, "text")
        block = item.blocks.get(("text",)) or self._block(item, ("text",), "output_text")
        added = False
        for s in sources:
            if s.__class__ is not dict:
                continue
            key = json.dumps(s, sort_keys=True, ensure_ascii=False)
            if key in cand.cited:
                continue
            cand.cited.add(key)
            entry = {"type": "citation", **s}
            cand.citations.append(entry)
            block.annotations.append(entry)
            added = True
        if added:
            item.data["citations"] = len(cand.citations)
            _phase(item)
            self.state.structure += 1

    def _grounding(self, ev: StreamEvent, cand: Candidate, g: dict) -> None:
        """Grounding (the latest metadata replaces the one before): its sources and supports as annotations of the
        candidate's text, the sources listed in a ("sources",) block, their counts in the phase."""
        cand.grounding = g
        item = cand.grounded or cand.message() or self._run(ev, cand, "text")
        cand.grounded = item
        block = item.blocks.get(("text",)) or self._block(item, ("text",), "output_text")
        sources = [_source(n, ch) for n, ch in enumerate(_list(g.get("groundingChunks"))) if ch.__class__ is dict]
        supports = [_support(s) for s in _list(g.get("groundingSupports")) if s.__class__ is dict]
        block.annotations = [a for a in block.annotations if a.get("type") == "citation"] + sources + supports
        item.data["sources"], item.data["supports"] = len(sources), len(supports)
        queries = g.get("webSearchQueries")
        if queries.__class__ is list:
            item.data["search_queries"] = [q for q in queries if isinstance(q, str)]
        lines = [f"{s['index'] + 1}. {s.get('title') or '(untitled)'} <{s.get('uri') or '-'}>" for s in sources]
        if item.data.get("search_queries"):
            lines.insert(0, "searched: " + "; ".join(item.data["search_queries"]))
        sb = self._block(item, ("sources",), "sources")
        sb.done, sb.from_final = "\n".join(lines) if lines else "(no sources)", True
        _phase(item)
        self.state.structure += 1

    def _finish(self, ev: StreamEvent, cand: Candidate, reason: str, message: Any) -> None:
        st = self.state
        cand.finish = reason
        cand.finish_message = message if isinstance(message, str) else None
        cand.finish_event = ev.index
        st.open_candidates -= 1
        if not cand.items:  # a candidate with no parts at all (blocked by safety) still shows, with how it finished
            self._run(ev, cand, "text")
        status = "completed" if reason == STOP else reason
        for item in cand.items:
            if item.done_event is None:
                item.done_event = ev.index
                item.status = status
        cand.current = None
        st.structure += 1

    def _settle(self, ev: StreamEvent) -> None:
        """After a chunk: when every candidate has finished, the stream has (completed, or incomplete)."""
        st = self.state
        if st.status == "failed" or st.open_candidates or not st.candidates:
            return
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "finishReason"
            st.structure += 1
        cut = next((st.candidates[k] for k in sorted(st.candidates) if st.candidates[k].finish != STOP), None)
        if cut is None:
            st.status = "completed"
            st.response.pop("incomplete_details", None)
            return
        st.status = "incomplete"
        details: dict[str, Any] = {"reason": cut.finish, "candidate": cut.index}
        if cut.finish_message:
            details["message"] = cut.finish_message
        st.response["incomplete_details"] = details


def _source(n: int, chunk: dict) -> dict[str, Any]:
    """A grounding chunk as an annotation: its place in groundingChunks, its kind, URI and title."""
    for kind in ("web", "retrievedContext", "maps", "image"):
        body = chunk.get(kind)
        if body.__class__ is dict:
            out = {"type": "grounding_source", "index": n, "kind": kind, "uri": body.get("uri"), "title": body.get("title")}
            if isinstance(body.get("domain"), str):
                out["domain"] = body["domain"]
            return out
    return {"type": "grounding_source", "index": n, "kind": next(iter(chunk), None), "uri": None, "title": None}


def _support(s: dict) -> dict[str, Any]:
    """A grounding support as an annotation: the segment of text and the sources (indexes) that back it."""
    seg = s.get("segment") if s.get("segment").__class__ is dict else {}
    return {"type": "grounding_support", "text": seg.get("text"), "start_index": seg.get("startIndex"),
            "end_index": seg.get("endIndex"), "part_index": seg.get("partIndex"),
            "sources": s.get("groundingChunkIndices"), "confidence": s.get("confidenceScores")}


def assemble(events: Iterable[StreamEvent]) -> GeminiState:
    """Fold Gemini events from the start: the state as of the last of them."""
    return GeminiAssembler().feed_all(events)
