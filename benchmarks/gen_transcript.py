#!/usr/bin/env python3
"""Generate a large, realistic OpenAI Responses API stream as raw SSE, for benchmarks.

The output has the shape of ``streamview/examples/o4-mini-hello.sse``: ``event: TYPE`` / ``data: {compact JSON}`` /
blank line per event, ``sequence_number`` 0..N-1, and:

  response.created, response.in_progress          full response object (status in_progress, output [])
  output 0: reasoning item                         two summary parts, ``reasoning_summary_text.delta`` events
  output 1: message item                           ``--deltas`` ``output_text.delta`` events of a few words each:
                                                   Markdown with headings, paragraphs, **bold**, `code`, lists,
                                                   fenced code blocks, some non-ASCII
  output 2: function_call item                     ``function_call_arguments.delta`` events; the arguments are JSON
  response.completed                               the final output (texts equal to the concatenated deltas) + usage

Every ``*.done`` / ``output_item.done`` / ``content_part.done`` text equals the concatenation of its deltas.
The output is deterministic for a given ``--seed`` and set of options (byte-identical across runs).

Usage:
    python benchmarks/gen_transcript.py --deltas 20000 -o /tmp/x.sse
    python benchmarks/gen_transcript.py --deltas 100000 --timed -o /tmp/x.sse   # with ": t=" arrival comments
    python benchmarks/gen_transcript.py --deltas 2000 --verify -o /tmp/x.sse     # check with streamview's assembler
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any, Iterator

WORDS = (
    "the stream model keeps every event in arrival order and folds each delta into the assembled state "
    "so a reader can see what the server sent and when it arrived while the pane shows the text that "
    "those deltas build a response may carry reasoning summaries tool calls and messages each with its "
    "own lifecycle events and the client must stitch them together by output index and content index "
    "latency throughput buffer parser decoder frame payload sequence number token budget cache window "
    "request header status retry backoff timeout socket chunk boundary newline field comment keepalive "
    "function argument schema validation error handling rendering terminal widget viewport scroll cursor"
).split()
RARE = ["naïve", "café", "—", "→", "✓", "über", "Ω", "日本語", "emoji 🙂", "±3%"]
IDENTS = ["read_events", "Session.add", "sequence_number", "output_index", "delta", "SSEParser", "render_line", "json.loads"]
CODE_LINES = [
    "def fold(events):",
    "    state = {}",
    "    for ev in events:",
    "        if ev['type'].endswith('.delta'):",
    "            state.setdefault(ev['item_id'], []).append(ev['delta'])",
    "    return {k: ''.join(v) for k, v in state.items()}",
    "",
    "async def consume(response):",
    "    async for line in response.aiter_lines():",
    "        if line.startswith('data: '):",
    "            yield json.loads(line[6:])",
    "x = [i * i for i in range(10)]  # squares",
    "print(f\"{len(x)} items\")",
]
TOOL_NAME = "search_knowledge_base"


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _obf(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(rng.randint(4, 14)))


# ----------------------------------------------------------------------------------------------- text generation


def _word(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.01:
        return rng.choice(RARE)
    if r < 0.03:
        return f"`{rng.choice(IDENTS)}`"
    if r < 0.05:
        return f"**{rng.choice(WORDS)}**"
    return rng.choice(WORDS)


def _sentence(rng: random.Random) -> list[str]:
    n = rng.randint(6, 18)
    words = [_word(rng) for _ in range(n)]
    words[0] = words[0][:1].upper() + words[0][1:]
    if rng.random() < 0.3:
        words[rng.randrange(1, n)] += ","
    words[-1] += rng.choice([".", ".", ".", "?", "!", ":"])
    return words


def markdown_tokens(rng: random.Random) -> Iterator[str]:
    """An endless Markdown answer as word-sized tokens (each token carries its own leading space/newlines)."""
    section = 0
    at_line_start = True

    def words(ws: list[str]) -> Iterator[str]:
        nonlocal at_line_start
        for w in ws:
            yield w if at_line_start else " " + w
            at_line_start = False

    while True:
        section += 1
        at_line_start = True
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()
        yield "## "
        yield from words([f"{section}.", *title.split()])
        yield "\n\n"
        for _ in range(rng.randint(2, 6)):
            at_line_start = True
            kind = rng.random()
            if kind < 0.55:  # paragraph
                for _ in range(rng.randint(2, 6)):
                    yield from words(_sentence(rng))
                yield "\n\n"
            elif kind < 0.75:  # bullet or numbered list
                numbered = rng.random() < 0.4
                for i in range(rng.randint(3, 6)):
                    at_line_start = True
                    yield f"{i + 1}. " if numbered else "- "
                    yield from words(_sentence(rng))
                    yield "\n"
                yield "\n"
            elif kind < 0.9:  # fenced code block: one token per line fragment
                yield "```python\n"
                start = rng.randrange(len(CODE_LINES))
                for i in range(rng.randint(3, 9)):
                    line = CODE_LINES[(start + i) % len(CODE_LINES)]
                    parts = line.split(" ")
                    for j, p in enumerate(parts):
                        yield p if j == 0 else " " + p
                    yield "\n"
                yield "```\n\n"
            else:  # quote
                yield "> "
                yield from words(_sentence(rng))
                yield "\n\n"


def take_deltas(tokens: Iterator[str], rng: random.Random, n: int) -> list[str]:
    """``n`` deltas of 1-3 tokens each (a delta never spans a paragraph break)."""
    out: list[str] = []
    pending: str | None = None
    while len(out) < n:
        k = rng.choice((1, 1, 1, 2, 2, 3))
        parts = []
        for _ in range(k):
            tok = pending if pending is not None else next(tokens)
            pending = None
            if parts and tok.startswith("\n\n"):
                pending = tok
                break
            parts.append(tok)
        out.append("".join(parts))
    return out


def split_text(text: str, n: int, rng: random.Random) -> list[str]:
    """Split ``text`` into ``n`` non-empty pieces at random places (``len(text) >= n``)."""
    if n <= 1:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def tool_arguments(rng: random.Random, n: int) -> str:
    """Compact JSON arguments long enough to be streamed as ``n`` deltas of ~4 characters."""
    args: dict[str, Any] = {
        "query": " ".join(rng.choice(WORDS) for _ in range(8)),
        "filters": {"source": ["docs", "issues"], "since": "2025-01-01", "max_results": 25},
        "notes": [],
    }
    while len(json.dumps(args, separators=(",", ":"), ensure_ascii=False)) < 4 * n:
        args["notes"].append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))))
    return json.dumps(args, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------------------------- the transcript


def build_events(n_deltas: int, n_summary: int, n_args: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    resp_id = "resp_" + _hex(rng, 48)
    rs_id, msg_id, fc_id = "rs_" + _hex(rng, 48), "msg_" + _hex(rng, 48), "fc_" + _hex(rng, 48)
    call_id = "call_" + _hex(rng, 24)
    created_at = 1752774614

    def response(status: str, output: list, usage: Any) -> dict[str, Any]:
        return {
            "id": resp_id, "object": "response", "created_at": created_at, "status": status, "background": False,
            "error": None, "incomplete_details": None, "instructions": "You are a helpful assistant.",
            "max_output_tokens": None, "max_tool_calls": None, "model": "o4-mini-2025-04-16", "output": output,
            "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": "medium", "summary": "detailed"},
            "service_tier": "auto" if status == "in_progress" else "default", "store": True, "temperature": 1.0,
            "text": {"format": {"type": "text"}}, "tool_choice": "auto",
            "tools": [{
                "type": "function", "name": TOOL_NAME, "description": "Search the knowledge base.",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
                "strict": False,
            }],
            "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
        }

    evs: list[dict[str, Any]] = []

    def emit(type_: str, **fields: Any) -> None:
        evs.append({"type": type_, "sequence_number": len(evs), **fields})

    emit("response.created", response=response("in_progress", [], None))
    emit("response.in_progress", response=response("in_progress", [], None))

    # -- output 0: reasoning with two summary parts ------------------------------------------------------------
    emit("response.output_item.added", output_index=0, item={"id": rs_id, "type": "reasoning", "summary": []})
    sum_tokens = markdown_tokens(random.Random(seed + 1))
    halves = [n_summary - n_summary // 2, n_summary // 2] if n_summary >= 2 else [n_summary]
    summaries = []
    for si, count in enumerate(halves):
        if count <= 0:
            continue
        emit("response.reasoning_summary_part.added", item_id=rs_id, output_index=0, summary_index=si,
             part={"type": "summary_text", "text": ""})
        deltas = take_deltas(sum_tokens, rng, count)
        deltas[0] = f"**Planning step {si + 1}**\n\n" + deltas[0].lstrip()
        for d in deltas:
            emit("response.reasoning_summary_text.delta", item_id=rs_id, output_index=0, summary_index=si,
                 delta=d, obfuscation=_obf(rng))
        text = "".join(deltas)
        emit("response.reasoning_summary_text.done", item_id=rs_id, output_index=0, summary_index=si, text=text)
        emit("response.reasoning_summary_part.done", item_id=rs_id, output_index=0, summary_index=si,
             part={"type": "summary_text", "text": text})
        summaries.append({"type": "summary_text", "text": text})
    rs_item = {"id": rs_id, "type": "reasoning", "summary": summaries}
    emit("response.output_item.done", output_index=0, item=rs_item)

    # -- output 1: the message ---------------------------------------------------------------------------------
    emit("response.output_item.added", output_index=1,
         item={"id": msg_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"})
    emit("response.content_part.added", item_id=msg_id, output_index=1, content_index=0,
         part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""})
    deltas = take_deltas(markdown_tokens(random.Random(seed + 2)), rng, n_deltas)
    for d in deltas:
        emit("response.output_text.delta", item_id=msg_id, output_index=1, content_index=0, delta=d, logprobs=[],
             obfuscation=_obf(rng))
    text = "".join(deltas)
    emit("response.output_text.done", item_id=msg_id, output_index=1, content_index=0, text=text, logprobs=[])
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    emit("response.content_part.done", item_id=msg_id, output_index=1, content_index=0, part=part)
    msg_item = {"id": msg_id, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    emit("response.output_item.done", output_index=1, item=msg_item)

    # -- output 2: a function call -----------------------------------------------------------------------------
    emit("response.output_item.added", output_index=2, item={
        "id": fc_id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": call_id,
        "name": TOOL_NAME})
    arguments = tool_arguments(rng, n_args)
    for d in split_text(arguments, n_args, rng):
        emit("response.function_call_arguments.delta", item_id=fc_id, output_index=2, delta=d, obfuscation=_obf(rng))
    emit("response.function_call_arguments.done", item_id=fc_id, output_index=2, arguments=arguments)
    fc_item = {"id": fc_id, "type": "function_call", "status": "completed", "arguments": arguments,
               "call_id": call_id, "name": TOOL_NAME}
    emit("response.output_item.done", output_index=2, item=fc_item)

    reasoning_tokens = n_summary * 6
    output_tokens = n_deltas * 2 + n_args + reasoning_tokens
    usage = {
        "input_tokens": 1234, "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": 1234 + output_tokens,
    }
    emit("response.completed", response=response("completed", [rs_item, msg_item, fc_item], usage))
    return evs


def arrival_times(evs: list[dict[str, Any]], seed: int) -> list[float]:
    """Plausible arrival times: ~0.6 s to the first event, a reasoning pause, then 5-40 ms per delta."""
    rng = random.Random(seed + 3)
    t = 0.6 + rng.random() * 0.3
    out = []
    for ev in evs:
        kind = ev["type"]
        if kind.endswith(".delta"):
            t += rng.uniform(0.005, 0.040)
        elif kind == "response.output_item.added":
            t += rng.uniform(0.3, 1.2)
        else:
            t += rng.uniform(0.0005, 0.003)
        out.append(round(t, 4))
    return out


def render(evs: list[dict[str, Any]], times: list[float] | None = None) -> bytes:
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    chunks = []
    for i, ev in enumerate(evs):
        if times is not None:
            chunks.append(f": t={times[i]:.4f}\n")
        chunks.append(f"event: {ev['type']}\ndata: {dumps(ev)}\n\n")
    return "".join(chunks).encode("utf-8")


def verify(data: bytes, evs: list[dict[str, Any]]) -> None:
    """Decode with streamview itself and check the assembled output against response.completed."""
    import io

    from streamview.session import Session
    from streamview.source import read_events

    events, _ = read_events(io.BytesIO(data))
    assert len(events) == len(evs), (len(events), len(evs))
    assert all(e.error is None for e in events), [e.error for e in events if e.error][:3]
    assert [e.seq for e in events] == list(range(len(evs)))
    model = Session()
    for e in events:
        model.add(e)
    final = evs[-1]["response"]["output"]
    items = model.state.ordered_items()
    assert items[0].text_of("summary_text") == "".join(s["text"] for s in final[0]["summary"])
    assert [b.deltas_text for b in items[0].ordered_blocks()] == [s["text"] for s in final[0]["summary"]]
    assert items[1].text_of("output_text") == final[1]["content"][0]["text"]
    assert items[1].ordered_blocks()[0].deltas_text == items[1].ordered_blocks()[0].done
    assert items[2].text_of("arguments") == final[2]["arguments"]
    json.loads(items[2].text_of("arguments"))
    assert model.state.status == "completed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deltas", type=int, default=20000, help="output_text.delta events in the message (default 20000)")
    ap.add_argument("--summary-deltas", type=int, default=None, help="reasoning summary deltas (default deltas/20, min 4)")
    ap.add_argument("--arg-deltas", type=int, default=None, help="function-call argument deltas (default deltas/50, min 4)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--timed", action="store_true", help="precede each event with a ': t=SECONDS' arrival comment")
    ap.add_argument("--verify", action="store_true", help="decode the result with streamview and check it (stderr)")
    ap.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    args = ap.parse_args(argv)
    if args.deltas < 1:
        ap.error("--deltas must be >= 1")
    n_summary = args.summary_deltas if args.summary_deltas is not None else max(4, args.deltas // 20)
    n_args = args.arg_deltas if args.arg_deltas is not None else max(4, args.deltas // 50)
    evs = build_events(args.deltas, n_summary, max(1, n_args), args.seed)
    data = render(evs, arrival_times(evs, args.seed) if args.timed else None)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(data)
    if args.verify:
        verify(data, evs)
        print(f"ok: {len(evs):,} events, {len(data):,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
