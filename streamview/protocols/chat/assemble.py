"""Chat Completions streams (``POST /chat/completions`` with ``stream: true``): the assembler and the checker.

A Chat Completions stream is data-only SSE: one ``chat.completion.chunk`` JSON object per event, no ``event:`` line,
ending with ``data: [DONE]`` (protocol.md section 9). The assembler folds the chunks into the same ``Item``/``Block``
structures the Responses assembler builds, so the panes show them unchanged:

- each choice's ``delta.content`` is the ``output_text`` block of an Item of type ``message`` (id ``choice N``), and
  its ``delta.refusal`` a ``refusal`` block of the same item;
- ``delta.reasoning_content`` / ``delta.reasoning`` (vLLM, llama.cpp, DeepSeek, Ollama, OpenRouter) is the
  ``reasoning_text`` block of an Item of type ``reasoning`` (id ``choice N``);
- each tool call (choice, ``tool_calls[].index``) is its own Item of type ``function_call`` (id and ``call_id`` =
  the call's id, ``name`` = the function's name, an ``arguments`` block); the deprecated ``delta.function_call`` is
  one more such item, without an id;
- items get output indexes in the order they first appear (the first text of a message, of a reasoning, the first
  fragment of a tool call), so several choices (``n`` > 1) show apart, each with its ``choice N``;
- ``delta.content`` sent as a list of typed parts (Mistral): ``text`` parts are the message's text, ``thinking``
  parts (``{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}``) the choice's reasoning, any other part
  is kept compactly (counted, its JSON clipped) and shown among the message's details, never dropped;
- ``delta.annotations`` (OpenRouter's, and OpenAI's search models' ``url_citation`` entries) are the annotations of
  the message's text block, each once however often chunks repeat it;
- ``delta.audio`` (``modalities: ["audio"]``) is an Item of type ``audio`` (id = the audio's id): its ``transcript``
  fragments an ``output_text`` block, its base64 ``data`` only counted (the decoded size, never the bytes), its
  ``expires_at`` kept; gpt-4o-audio ends a choice with an audio delta holding only ``expires_at`` and no
  finish_reason: that marker finishes the choice (its items ``completed``), the finish_reason stays None as the
  SDK's;
- a choice's ``finish_reason`` becomes the status of each of its items (and ``data["finish_reason"]``).

Status: ``in_progress`` from the first chunk; at ``[DONE]`` ``completed``, or ``incomplete`` when a choice finished
with ``length`` or ``content_filter`` (as the Responses API calls a response cut by ``max_output_tokens`` or by the
content filter; ``incomplete_details.reason`` names the finish_reason); ``failed`` after an error object
(``data: {"error": {...}}``, which some servers send mid-stream; the SDK raises ``APIError`` on it). The usage
(``stream_options.include_usage``: one last chunk with ``choices: []``) is last-wins like the SDK's, except that a
later chunk's ``"usage": null`` does not erase it. ``state.usage`` holds it under the keys the panes read
(``input_tokens``, ``output_tokens``, ``total_tokens``, ``input_tokens_details``, ``output_tokens_details``);
``state.chat_usage`` and ``final()["usage"]`` keep the object as the server sent it.

The checker's rules are in ``RULES``; one fault is one anomaly.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Iterable

from ...events import StreamEvent
from ...state import Block, Citation, Detail, Item, StreamState, clip, generic_citation
from .._openai import normalize_usage
from ..base import bind_handlers
from .events import CHUNK_OBJECT, EVENTS, error_of, event_type, is_chunk  # noqa: F401  (is_chunk: re-exported)

INCOMPLETE_REASONS = ("length", "content_filter")  # finish reasons that make the stream "incomplete" at [DONE]
LAST_LOGPROBS = 5  # tokens kept per choice for the logprobs summary
OTHER_PARTS = 20  # content parts of another type kept per choice (each clipped); more are only counted
PART_CLIP = 200  # characters of a kept part's JSON


def _int(v: Any, default: int) -> int:
    return v if v.__class__ is int else default


class Logprobs:
    """What a choice's logprobs add up to: how many tokens, their mean, the least likely one, the last few."""

    __slots__ = ("content", "refusal", "total", "summed", "lowest", "last")

    def __init__(self) -> None:
        self.content = 0  # tokens in logprobs.content
        self.refusal = 0  # tokens in logprobs.refusal
        self.total = 0.0  # the sum of their logprobs
        self.summed = 0  # how many had a numeric logprob
        self.lowest: dict | None = None
        self.last: deque = deque(maxlen=LAST_LOGPROBS)

    def add(self, lp: dict) -> None:
        for field in ("content", "refusal"):
            tokens = lp.get(field)
            if tokens.__class__ is not list:
                continue
            setattr(self, field, getattr(self, field) + len(tokens))
            for t in tokens:
                if t.__class__ is not dict:
                    continue
                value = t.get("logprob")
                entry = {"token": t.get("token"), "logprob": value}
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.total += value
                    self.summed += 1
                    if self.lowest is None or value < self.lowest["logprob"]:
                        self.lowest = entry
                    top = t.get("top_logprobs")
                    if top.__class__ is list and top:
                        entry["top"] = len(top)
                self.last.append(entry)

    def summary(self) -> dict:
        return {
            "content_tokens": self.content,
            "refusal_tokens": self.refusal,
            "mean_logprob": round(self.total / self.summed, 6) if self.summed else None,
            "lowest": self.lowest,
            "last": list(self.last),
        }


def audio_end(delta: dict) -> bool:
    """Whether a delta is gpt-4o-audio's end of a choice: an ``audio`` object holding only ``expires_at`` (the
    SDK's ``ChoiceDeltaAudio``: "the final audio update contains only its expiry timestamp"), nothing else sent."""
    audio = delta.get("audio")
    if audio.__class__ is not dict or audio.get("expires_at") is None:
        return False
    if any(v is not None for k, v in audio.items() if k != "expires_at"):
        return False
    return all(v is None or k in ("audio", "role") for k, v in delta.items())


def _b64_pad(data: str) -> int:
    return len(data) - len(data.rstrip("="))


class Audio:
    """A choice's ``delta.audio``: the transcript goes to its item's block; of the base64 data only its size."""

    __slots__ = ("item", "id", "expires_at", "data_chars", "data_pad", "data_chunks")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.id: str | None = None
        self.expires_at: Any = None
        self.data_chars = 0  # base64 characters received, in data_chunks fragments of one base64 string
        self.data_pad = 0  # the "=" padding at the end of the latest fragment
        self.data_chunks = 0

    @property
    def data_bytes(self) -> int:
        """The decoded size of the data received (its fragments join into one base64 string)."""
        return (self.data_chars - self.data_pad) * 3 // 4

    def summary(self) -> dict:
        return {"id": self.id, "transcript": self.item.text_of("output_text") if ("transcript",) in self.item.blocks else None,
                "expires_at": self.expires_at, "data_bytes": self.data_bytes, "data_chunks": self.data_chunks}


class Choice:
    """One choice of the stream (``choices[].index``): its items and how it finished."""

    __slots__ = ("index", "message", "reasoning", "tools", "function_call", "finish_reason", "role",
                 "content_seen", "refusal_seen", "logprobs", "finish_event", "audio", "audio_ended",
                 "annotation_keys", "part_counts", "other_parts", "other_total", "executed", "encrypted")

    def __init__(self, index: int) -> None:
        self.index = index
        self.message: Item | None = None
        self.reasoning: Item | None = None
        self.tools: dict[int, Item] = {}  # tool_calls[].index -> its item
        self.function_call: Item | None = None  # the deprecated delta.function_call
        self.finish_reason: str | None = None
        self.finish_event: int | None = None
        self.role: str | None = None
        self.content_seen = False  # a str content arrived (even ""): the SDK's content is then a str, not None
        self.refusal_seen = False
        self.logprobs: Logprobs | None = None
        self.audio: Audio | None = None
        self.audio_ended = False  # the latest delta was the audio's expires_at-only end marker
        self.annotation_keys: set[str] = set()  # the annotations kept, as canonical JSON (each once)
        self.part_counts: dict[str, int] = {}  # typed content parts by type (list content)
        self.other_parts: list[str] = []  # parts of another type than text/thinking, JSON clipped (OTHER_PARTS)
        self.other_total = 0  # how many such parts came (more than OTHER_PARTS are only counted)
        self.executed: dict[int, dict] = {}  # Groq's delta.executed_tools by index, merged (the tools it ran)
        self.encrypted = 0  # characters of encrypted reasoning (OpenRouter's reasoning_details): a size only

    @property
    def finished(self) -> bool:
        """A finish_reason came, or the audio's end marker was the choice's last delta."""
        return self.finish_reason is not None or self.audio_ended

    @property
    def annotations(self) -> list | None:
        """The message's annotations as sent (None when none came, as the SDK's ``message.annotations``)."""
        block = self.message.blocks.get(("content",)) if self.message is not None else None
        return list(block.annotations) if block is not None and block.annotations else None

    def items(self) -> list[Item]:
        out = [i for i in (self.reasoning, self.message) if i is not None]
        if self.audio is not None:
            out.append(self.audio.item)
        out.extend(self.tools[k] for k in sorted(self.tools))
        if self.function_call is not None:
            out.append(self.function_call)
        return out

    def _text(self, kind: str, seen: bool) -> str | None:
        if not seen:  # (a block made only to hold annotations, or text parts, is not a str content the SDK saw)
            block = self.message.blocks.get((kind,)) if self.message is not None else None
            return block.text if block is not None and block.chunks else None
        item = self.message
        block = item.blocks.get((kind,)) if item is not None else None
        return block.text if block is not None else ""

    @property
    def content(self) -> str | None:
        """The assembled content (None when the stream never sent a str content for this choice, as the SDK)."""
        return self._text("content", self.content_seen)

    @property
    def refusal(self) -> str | None:
        return self._text("refusal", self.refusal_seen)

    @property
    def reasoning_text(self) -> str | None:
        item = self.reasoning
        return item.text_of("reasoning_text") if item is not None else None

    def tool_calls(self) -> list[dict]:
        out = []
        for k in sorted(self.tools):
            item = self.tools[k]
            out.append({"index": k, "id": item.data.get("call_id"), "type": item.data.get("type"),
                        "name": item.data.get("name"), "arguments": item.text_of("arguments")})
        return out

    def summary(self) -> dict:
        out: dict[str, Any] = {"index": self.index, "role": self.role, "content": self.content,
                               "refusal": self.refusal, "tool_calls": self.tool_calls(),
                               "finish_reason": self.finish_reason,
                               "logprobs": self.logprobs.summary() if self.logprobs is not None else None}
        if self.reasoning is not None:
            out["reasoning"] = self.reasoning_text
        if self.function_call is not None:
            fc = self.function_call
            out["function_call"] = {"name": fc.data.get("name"), "arguments": fc.text_of("arguments")}
        annotations = self.annotations
        if annotations is not None:
            out["annotations"] = annotations
        if self.audio is not None:
            out["audio"] = self.audio.summary()
        if self.executed:
            out["executed_tools"] = [compact_tool(self.executed[k]) for k in sorted(self.executed)]
        if self.encrypted:
            out["encrypted_reasoning_characters"] = self.encrypted
        if self.part_counts:
            out["content_parts"] = dict(self.part_counts)
        if self.other_parts:
            out["other_content_parts"] = list(self.other_parts)
            if self.other_total > len(self.other_parts):
                out["other_content_parts_left_out"] = self.other_total - len(self.other_parts)
        return out


class ChatState(StreamState):
    """What a Chat Completions stream adds up to so far (read by the same panes as a Responses state)."""

    protocol = "chat"

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[int, Choice] = {}
        self.chat_usage: dict[str, Any] | None = None  # the usage object as the server sent it
        self.done_event: int | None = None  # the first data: [DONE]

    def holds(self, item: Item) -> bool:
        """With ``n`` > 1 the choices interleave on the wire: a choice's text waits (``--plain``) until every
        choice before it has finished."""
        c = item.data.get("choice")
        if c is None:
            return False
        return any(not ch.finished for k, ch in self.choices.items() if k < c)

    def citation(self, annotation: Any) -> Citation | None:
        """A ``url_citation`` as the panes cite it. OpenRouter sends its web results with ``start_index`` and
        ``end_index`` both 0 (no place in the text): those go after the text, not before its first character."""
        cited = generic_citation(annotation)
        if cited is None or cited.at != 0:
            return cited
        inner = annotation.get("url_citation") if annotation.__class__ is dict else None
        where = inner if inner.__class__ is dict else annotation
        if where.get("start_index", 0) == 0:
            return Citation(cited.source, None)
        return cited

    def details(self, item: Item) -> list[Detail]:
        """An audio item's size, chunks and expiry; a message's content parts of other types (compact JSON)."""
        choice = self.choices.get(item.data.get("choice"))
        if choice is None:
            return []
        out: list[Detail] = []
        audio = choice.audio
        if audio is not None and item is audio.item:
            bits = [f"{audio.data_bytes:,} bytes in {audio.data_chunks} chunk{'' if audio.data_chunks == 1 else 's'}"]
            if audio.expires_at is not None:
                bits.append(f"expires_at {audio.expires_at}")
            out.append(Detail("audio", " · ".join(bits)))
        elif item is choice.message:
            for k in sorted(choice.executed):
                out.append(executed_detail(choice.executed[k]))
            for part in choice.other_parts:
                out.append(Detail("content part", part))
            extra = choice.other_total - len(choice.other_parts)
            if extra > 0:
                out.append(Detail("content part", f"… {extra} more"))
        elif item is choice.reasoning and choice.encrypted:
            out.append(Detail("encrypted reasoning", f"{choice.encrypted:,} characters"))
        return out

    def ordered_items(self) -> list[Item]:
        """Items grouped by choice (so several choices show apart, in index order), and inside a choice its
        reasoning, its message, then its tool calls; ``output_index`` keeps the order they first appeared in."""
        return sorted(self.items.values(), key=_display_order)

    def final(self) -> dict[str, Any]:
        r = self.response
        return {
            "protocol": self.protocol,
            "id": r.get("id") if isinstance(r.get("id"), str) else None,  # "" when the server sent "" (as the SDK)
            "model": r.get("model") if isinstance(r.get("model"), str) else None,
            "status": self.status or None,
            "created": r.get("created"),
            "system_fingerprint": r.get("system_fingerprint"),
            "service_tier": r.get("service_tier"),
            "usage": self.chat_usage,
            "usage_normalized": self.usage,
            "error": self.error,
            "incomplete_details": r.get("incomplete_details"),
            "choices": [self.choices[k].summary() for k in sorted(self.choices)],
        }


_TYPE_RANK = {"reasoning": 0, "message": 1, "audio": 2}


def compact_tool(t: dict) -> dict:
    """An executed tool as ``print --json`` reports it: its call and output, search results counted."""
    out = {k: v for k, v in t.items() if k != "search_results"}
    results = t.get("search_results")
    if isinstance(results, dict) and isinstance(results.get("results"), list):
        out["search_results"] = [{k: r.get(k) for k in ("title", "url", "score") if k in r}
                                 for r in results["results"] if isinstance(r, dict)]
    return out


def executed_detail(t: dict) -> Detail:
    """An executed tool in the message pane and ``print``: what it ran with, what came back."""
    lines = [str(t.get("arguments") or "")]
    results = compact_tool(t).get("search_results")
    if results:
        lines.append(f"{len(results)} result{'' if len(results) == 1 else 's'}:")
        lines.extend(f"{r.get('title') or '?'} <{r.get('url')}>" for r in results[:6])
        if len(results) > 6:
            lines.append(f"… and {len(results) - 6} more")
    elif isinstance(t.get("output"), str):
        lines.append(t["output"])
    return Detail(f"ran {t.get('type') or 'tool'}", clip("\n".join(x for x in lines if x), 800))


def _display_order(item: Item) -> tuple[int, int, int]:
    return (_int(item.data.get("choice"), 0), _TYPE_RANK.get(item.type, 3), item.position)


class ChatAssembler:
    """Folds Chat Completions chunks into a ``ChatState``. ``feed`` is O(1) per delta."""

    def __init__(self) -> None:
        self.state = ChatState()
        self._next = 0  # the next output index
        self._handlers = bind_handlers(self, EVENTS)

    def feed_all(self, events: Iterable[StreamEvent]) -> ChatState:
        for ev in events:
            self.feed(ev)
        return self.state

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

    def _chunk(self, ev: StreamEvent, p: dict) -> None:
        st = self.state
        if not st.status:
            st.status = "in_progress"
            st.structure += 1
        self._metadata(p)
        usage = p.get("usage")
        if usage.__class__ is dict:
            st.chat_usage = usage
            st.usage = normalize_usage(usage)
        choices = p.get("choices")
        if choices.__class__ is list:
            for pos, c in enumerate(choices):
                if c.__class__ is dict:
                    self._choice(ev, c, pos)

    # -- the parts of a chunk ----------------------------------------------------------------------------------
    def _metadata(self, p: dict) -> None:
        resp = self.state.response
        for key in ("id", "model"):  # the first chunk's (the checker reports any other); "" until one says more
            if not resp.get(key):  # (Azure's content-filter chunk has "", Snowflake sends "" throughout)
                v = p.get(key)
                if isinstance(v, str):
                    resp[key] = v
        if "created" not in resp:
            v = p.get("created")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v:
                resp["created"] = v
                resp["created_at"] = v  # the key the metadata pane shows as a time
        if "object" not in resp and p.get("object") == CHUNK_OBJECT:
            resp["object"] = CHUNK_OBJECT
        for key in ("system_fingerprint", "service_tier"):  # the latest non-null value (the SDK: the last chunk's)
            v = p.get(key)
            if v is not None and resp.get(key) != v:
                resp[key] = v

    def _new_item(self, choice: Choice, item_type: str, item_id: str) -> Item:
        st = self.state
        item = Item(self._next, item_id, item_type)
        self._next += 1
        item.data = {"choice": choice.index}
        if choice.finish_reason is not None:  # a fragment after its choice finished: it finished too
            item.status = choice.finish_reason
            item.data["finish_reason"] = choice.finish_reason
        st.items[item.position] = item
        st.structure += 1
        return item

    def _append(self, item: Item, key: tuple, kind: str, text: str, ev: StreamEvent) -> None:
        """Add ``text`` to a block (an empty text only makes the block exist)."""
        st = self.state
        block = item.blocks.get(key)
        if block is None:
            block = item.blocks[key] = Block(key, kind)
            st.structure += 1
        if not text:
            return
        block.append(text, ev.index)
        last = st.last_delta
        if last is None or last[1] is not block:
            st.last_delta = (item, block)
        if st.first_delta_event is None:
            st.first_delta_event = ev.index

    def _message(self, choice: Choice) -> Item:
        item = choice.message
        if item is None:
            item = choice.message = self._new_item(choice, "message", f"choice {choice.index}")
            if choice.role is not None:
                item.data["role"] = choice.role
        return item

    def _choice(self, ev: StreamEvent, c: dict, pos: int) -> None:
        st = self.state
        idx = _int(c.get("index"), pos)
        choice = st.choices.get(idx)
        if choice is None:
            choice = st.choices[idx] = Choice(idx)
        delta = c.get("delta")
        if delta.__class__ is dict:
            self._delta(ev, choice, delta)
        lp = c.get("logprobs")
        if lp.__class__ is dict:
            if choice.logprobs is None:
                choice.logprobs = Logprobs()
            choice.logprobs.add(lp)
        reason = c.get("finish_reason")
        if isinstance(reason, str) and reason:
            self._finish(ev, choice, reason)

    def _delta(self, ev: StreamEvent, choice: Choice, delta: dict) -> None:
        role = delta.get("role")
        if isinstance(role, str) and choice.role is None:
            choice.role = role
            if choice.message is not None:
                choice.message.data["role"] = role
        content = delta.get("content")
        if content.__class__ is str:
            choice.content_seen = True
            if content or choice.message is not None:
                self._append(self._message(choice), ("content",), "output_text", content, ev)
        elif content.__class__ is list:
            self._parts(ev, choice, content)
        refusal = delta.get("refusal")
        if refusal.__class__ is str:
            choice.refusal_seen = True
            if refusal or choice.message is not None:
                self._append(self._message(choice), ("refusal",), "refusal", refusal, ev)
        reasoning = delta.get("reasoning_content")
        if reasoning.__class__ is not str:
            reasoning = delta.get("reasoning")
        if reasoning.__class__ is str and reasoning:
            self._reasoning(ev, choice, reasoning)
        details = delta.get("reasoning_details")
        if details.__class__ is list and details:
            self._reasoning_details(ev, choice, details, reasoning.__class__ is str and bool(reasoning))
        executed = delta.get("executed_tools")
        if executed.__class__ is list and executed:
            self._executed(choice, executed)
        calls = delta.get("tool_calls")
        if calls.__class__ is list:
            for pos, tc in enumerate(calls):
                if tc.__class__ is dict:
                    self._tool_call(ev, choice, tc, pos)
        fc = delta.get("function_call")
        if fc.__class__ is dict:
            item = choice.function_call
            if item is None:
                item = choice.function_call = self._new_item(choice, "function_call", "")
                item.data["type"] = "function_call"
            self._function(ev, item, fc)
        annotations = delta.get("annotations")
        if annotations.__class__ is list and annotations:
            self._annotations(ev, choice, annotations)
        audio = delta.get("audio")
        if audio.__class__ is dict:
            self._audio(ev, choice, audio)
        ended = audio_end(delta) if delta else choice.audio_ended  # (an empty delta changes nothing)
        if ended != choice.audio_ended:
            choice.audio_ended = ended
            if ended and choice.finish_reason is None:
                self._audio_finished(ev, choice)

    def _reasoning(self, ev: StreamEvent, choice: Choice, text: str) -> None:
        item = choice.reasoning
        if item is None:
            item = choice.reasoning = self._new_item(choice, "reasoning", f"choice {choice.index}")
        self._append(item, ("reasoning",), "reasoning_text", text, ev)

    def _reasoning_details(self, ev: StreamEvent, choice: Choice, details: list, said: bool) -> None:
        """OpenRouter's ``delta.reasoning_details``: its text and summaries are the reasoning where the delta did
        not also say it as ``reasoning`` (Snowflake sends them only so), encrypted reasoning is a size."""
        for d in details:
            if d.__class__ is not dict:
                continue
            kind = d.get("type")
            if kind == "reasoning.encrypted" and isinstance(d.get("data"), str):
                if choice.reasoning is None:
                    choice.reasoning = self._new_item(choice, "reasoning", f"choice {choice.index}")
                choice.encrypted += len(d["data"])
                self.state.structure += 1
            elif not said:
                text = d.get("text") if kind == "reasoning.text" else d.get("summary") if kind == "reasoning.summary" else None
                if isinstance(text, str) and text:
                    self._reasoning(ev, choice, text)

    def _executed(self, choice: Choice, tools: list) -> None:
        """Groq's ``delta.executed_tools`` (the tools a compound model ran: its search, its code), merged by index:
        the call comes first, its output in a later chunk."""
        for t in tools:
            if t.__class__ is not dict:
                continue
            k = t.get("index") if t.get("index").__class__ is int else len(choice.executed)
            merged = choice.executed.setdefault(k, {})
            merged.update({key: v for key, v in t.items() if v is not None})
        self._message(choice)  # its details show them
        self.state.structure += 1

    def _parts(self, ev: StreamEvent, choice: Choice, parts: list) -> None:
        """``delta.content`` as typed parts (Mistral): text to the message, thinking to the reasoning, any other
        part kept compactly."""
        counts = choice.part_counts
        for part in parts:
            ptype = part.get("type") if part.__class__ is dict else None
            ptype = ptype if isinstance(ptype, str) and ptype else "?"
            counts[ptype] = counts.get(ptype, 0) + 1
            if ptype == "text" and isinstance(part.get("text"), str):
                if part["text"]:
                    self._append(self._message(choice), ("content",), "output_text", part["text"], ev)
            elif ptype == "thinking":
                inner = part.get("thinking")
                if isinstance(inner, str):
                    inner = [{"type": "text", "text": inner}]
                if inner.__class__ is not list:
                    self._other_part(ev, choice, part)
                    continue
                for sub in inner:
                    if sub.__class__ is dict and sub.get("type") == "text" and isinstance(sub.get("text"), str):
                        if sub["text"]:
                            self._reasoning(ev, choice, sub["text"])
                    else:
                        self._other_part(ev, choice, {"type": "thinking", "thinking": [sub]})
            else:
                self._other_part(ev, choice, part)

    def _other_part(self, ev: StreamEvent, choice: Choice, part: Any) -> None:
        """A part neither text nor thinking text (or a thinking part's piece of another kind): kept compactly."""
        choice.other_total += 1
        if len(choice.other_parts) < OTHER_PARTS:
            choice.other_parts.append(clip(json.dumps(part, ensure_ascii=False), PART_CLIP))
            self._message(choice)  # the message shows it among its details
            self.state.structure += 1

    def _annotations(self, ev: StreamEvent, choice: Choice, annotations: list) -> None:
        """Annotations of the message's text, each once (a chunk may repeat those already sent)."""
        item = self._message(choice)
        block = item.blocks.get(("content",))
        if block is None:
            block = item.blocks[("content",)] = Block(("content",), "output_text")
            self.state.structure += 1
        keys = choice.annotation_keys
        for a in annotations:
            key = json.dumps(a, sort_keys=True, ensure_ascii=False)
            if key not in keys:
                keys.add(key)
                block.annotations.append(a)
                self.state.structure += 1

    def _audio(self, ev: StreamEvent, choice: Choice, audio: dict) -> None:
        st = self.state
        state = choice.audio
        if state is None:
            item = self._new_item(choice, "audio", "")
            state = choice.audio = Audio(item)
        item = state.item
        aid = audio.get("id")
        if isinstance(aid, str) and aid and state.id is None:  # sent again with the data: the same id
            state.id = item.id = aid
            st.structure += 1
        transcript = audio.get("transcript")
        if isinstance(transcript, str):
            self._append(item, ("transcript",), "output_text", transcript, ev)
        data = audio.get("data")
        if isinstance(data, str) and data:
            state.data_chars += len(data)
            state.data_pad = _b64_pad(data)
            state.data_chunks += 1
            if st.first_delta_event is None:
                st.first_delta_event = ev.index
        expires = audio.get("expires_at")
        if expires is not None:
            state.expires_at = expires
            item.data["expires_at"] = expires

    def _audio_finished(self, ev: StreamEvent, choice: Choice) -> None:
        """The audio's end marker: the choice is done (no finish_reason comes), its items completed."""
        for item in choice.items():
            if not item.status or item.status == "no finish_reason":
                item.status = "completed"
            if item.done_event is None:
                item.done_event = ev.index
        self.state.structure += 1

    def _tool_call(self, ev: StreamEvent, choice: Choice, tc: dict, pos: int) -> None:
        ti = _int(tc.get("index"), pos)
        item = choice.tools.get(ti)
        if item is None:
            item = choice.tools[ti] = self._new_item(choice, "function_call", "")
            item.data["index"] = ti
        call_id = tc.get("id")
        if isinstance(call_id, str) and call_id and not item.id:
            item.id = call_id
            item.data["call_id"] = call_id
            self.state.structure += 1
        ttype = tc.get("type")
        if isinstance(ttype, str) and ttype and "type" not in item.data:
            item.data["type"] = ttype
        fn = tc.get("function")
        if fn.__class__ is dict:
            self._function(ev, item, fn)

    def _function(self, ev: StreamEvent, item: Item, fn: dict) -> None:
        name = fn.get("name")
        if isinstance(name, str) and name and not item.data.get("name"):
            item.data["name"] = name
            self.state.structure += 1
        args = fn.get("arguments")
        if args.__class__ is str:
            self._append(item, ("arguments",), "arguments", args, ev)

    def _finish(self, ev: StreamEvent, choice: Choice, reason: str) -> None:
        choice.finish_reason = reason
        choice.finish_event = ev.index
        items = choice.items()
        if not items:  # a choice that sent no text at all still shows, with how it finished
            items = [self._message(choice)]
        for item in items:
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
        st.terminal_event = ev.index
        st.terminal_type = "[DONE]"
        self._unfinished()
        if st.status != "failed":
            cut = next((c.finish_reason for c in st.choices.values() if c.finish_reason in INCOMPLETE_REASONS), None)
            if cut is not None:
                st.status = "incomplete"
                st.response["incomplete_details"] = {"reason": cut}
            else:
                st.status = "completed"
        st.structure += 1

    def _error(self, ev: StreamEvent, p: dict) -> None:
        err = error_of(p)
        st = self.state
        st.error = err
        st.status = "failed"
        if st.terminal_event is None:
            st.terminal_event = ev.index
            st.terminal_type = "error"
        self._unfinished()
        st.structure += 1

    def _unfinished(self) -> None:
        """The stream ended (an error, or [DONE]): the items of a choice that never finished say so."""
        for choice in self.state.choices.values():
            if not choice.finished:
                for item in choice.items():
                    item.status = "no finish_reason"


def assemble(events: Iterable[StreamEvent]) -> ChatState:
    """Fold Chat Completions events from the start: the state as of the last of them."""
    return ChatAssembler().feed_all(events)
