"""What a Responses API output item did and what came back, beyond its streamed text: the lines the message pane,
the Markdown view and ``print`` show under the item (``ResponseState.details``), and the payload ``print --json``
reports (``compact``).

One rule for every item type: each field of the item's final payload that no block already shows becomes one
``Detail``, formatted by what the field holds, not by which item holds it (a tool's ``action``, its ``outputs``,
``results``, ``tools``, ``error``...). A field this module has no word for is shown as compact JSON, so a new item
type still shows what it carries. Long values are clipped with a count of what was left out; a base64 payload (an
image, audio, encrypted content) is never shown, only its size.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...state import Detail, Item, clip

LIMIT = 600  # characters of one detail's text
LIST_LIMIT = 6  # entries of a list shown before "… and N more" (whole entries: a clipped URL helps no one)
# fields the item's header or blocks already show, or that say nothing to a reader
SHOWN = frozenset({"id", "type", "status", "name", "call_id", "arguments", "input", "code", "content", "summary",
                   "role", "phase", "created_by", "caller", "namespace", "async_", "fingerprint", "svg_usage",
                   "max_output_length", "timeout_ms"})
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/=_-]")


def is_blob(value: Any) -> bool:
    """A long base64 string (an image, audio, encrypted content; recorders sometimes elide its middle with
    "..."): shown as its size, never as text. Text has spaces; base64 has none."""
    if not isinstance(value, str) or len(value) < 200:
        return False
    head = value[:4096]
    return " " not in head and "\n" not in head[:200] and len(_NOT_B64.findall(head)) * 50 < len(head)


def blob_text(value: str) -> str:
    return f"[base64, {len(value) * 3 // 4:,} bytes]"


def compact(value: Any) -> Any:
    """``value`` with every base64 payload in it replaced by ``[base64, N bytes]`` (``print --json``)."""
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compact(v) for v in value]
    if is_blob(value):
        return blob_text(value)
    return value


def _json(value: Any) -> str:
    return json.dumps(compact(value), ensure_ascii=False, separators=(", ", ": "))


def _many(entries: list[str], what: str) -> str:
    shown = entries[:LIST_LIMIT]
    more = len(entries) - len(shown)
    head = f"{len(entries)} {what}{'' if len(entries) == 1 else 's'}"
    return head + (":\n" if shown else "") + "\n".join(shown) + (f"\n… and {more} more" if more > 0 else "")


def _action(a: Any) -> tuple[str, str]:
    """A tool's action (web search, shell, computer use, image edit): its verb and what it acted on."""
    if not isinstance(a, dict):
        return "action", _json(a)
    kind = str(a.get("type") or "action")
    lines: list[str] = []
    if isinstance(a.get("query"), str):
        lines.append(json.dumps(a["query"], ensure_ascii=False))
    for key in ("queries",):
        if isinstance(a.get(key), list):
            lines.extend(json.dumps(q, ensure_ascii=False) for q in a[key] if isinstance(q, str))
    if isinstance(a.get("pattern"), str):
        lines.append(f"pattern {json.dumps(a['pattern'], ensure_ascii=False)}")
    if isinstance(a.get("url"), str):
        lines.append(f"<{a['url']}>")
    command = a.get("command")
    if isinstance(command, list):
        lines.append(" ".join(str(c) for c in command))
    elif isinstance(command, str):
        lines.append(command)
    if isinstance(a.get("commands"), list):
        lines.extend(f"$ {c}" for c in a["commands"])
    sources = a.get("sources")
    if isinstance(sources, list) and sources:
        lines.append(_many([_source(s) for s in sources], "source"))
    rest = {k: v for k, v in a.items() if k not in ("type", "query", "queries", "pattern", "url", "command",
                                                      "commands", "sources") and v not in (None, {}, [], "")}
    if rest:
        lines.append(_json(rest))
    return kind, "\n".join(lines) if lines else "(no details)"


def _source(s: Any) -> str:
    if isinstance(s, dict):
        return f"<{s['url']}>" if isinstance(s.get("url"), str) else _json(s)
    return str(s)


def _output(value: Any) -> str:
    """A tool's output: text, a list of results (shell outcomes, logs, images, files), or JSON."""
    if isinstance(value, str):
        return blob_text(value) if is_blob(value) else value
    if isinstance(value, list):
        return "\n".join(_output_entry(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return _output_entry(value)
    return _json(value)


def _output_entry(v: Any) -> str:
    if not isinstance(v, dict):
        return _output(v)
    kind = v.get("type")
    bits: list[str] = []
    outcome = v.get("outcome")
    if isinstance(outcome, dict):
        code = outcome.get("exit_code")
        bits.append(f"exit code {code}" if code is not None else str(outcome.get("type") or "outcome"))
    for key in ("stdout", "stderr", "logs", "text"):
        if isinstance(v.get(key), str) and v[key]:
            bits.append(f"{key}:\n{v[key].rstrip()}")
    if kind in ("image", "input_image", "computer_screenshot") or "image_url" in v:
        url = v.get("url") or v.get("image_url")
        bits.append("image" + (f" <{url}>" if isinstance(url, str) and not url.startswith("data:") else
                               f" ({len(url):,} characters of data URL)" if isinstance(url, str) else ""))
    elif kind in ("file", "input_file") or "file_id" in v:
        bits.append(f"file {v.get('filename') or v.get('file_id') or ''}".rstrip())
    if not bits:
        bits.append(_json(v))
    return "\n".join(bits)


def _results(value: Any) -> str:
    if not isinstance(value, list):
        return _output(value)
    entries = []
    for r in value:
        if not isinstance(r, dict):
            entries.append(str(r))
            continue
        head = str(r.get("filename") or r.get("file_id") or r.get("title") or r.get("url") or "result")
        score = r.get("score")
        text = r.get("text")
        line = head + (f" (score {score:.3f})" if isinstance(score, (int, float)) else "")
        if isinstance(text, str) and text:
            line += ": " + clip(" ".join(text.split()), 160)
        entries.append(line)
    return _many(entries, "result")


def _tools(value: Any) -> str:
    if not isinstance(value, list):
        return _json(value)
    names = []
    for t in value:
        if isinstance(t, dict):
            name = t.get("name") or t.get("type") or "?"
            desc = t.get("description")
            names.append(f"{name}: {clip(' '.join(desc.split()), 100)}" if isinstance(desc, str) and desc else str(name))
        else:
            names.append(str(t))
    return _many(names, "tool")


def _error(value: Any) -> str:
    if isinstance(value, dict):
        code = value.get("code") or value.get("type")
        message = value.get("message")
        return f"{code}: {message}" if code and message else str(message or code or _json(value))
    return str(value)


def _operation(value: Any) -> str:
    """An apply_patch operation: its verb and path (its diff is the item's ``diff`` block)."""
    if not isinstance(value, dict):
        return _json(value)
    rest = {k: v for k, v in value.items() if k not in ("type", "path", "diff")}
    line = " ".join(str(x) for x in (value.get("type"), value.get("path")) if x)
    return line + (f" {_json(rest)}" if rest else "")


def _safety(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(f"{c.get('code')}: {c.get('message')}" if isinstance(c, dict) else str(c) for c in value) or "(none)"
    return _json(value)


# field -> (its label, how it is worded); a field not listed is compact JSON under its own name
FIELDS = {
    "outputs": ("outputs", _output),
    "output": ("output", _output),
    "result": ("result", _output),
    "results": ("results", _results),
    "queries": ("queries", lambda v: "\n".join(json.dumps(q, ensure_ascii=False) for q in v) if isinstance(v, list) else _json(v)),
    "tools": ("tools", _tools),
    "error": ("error", _error),
    "operation": ("operation", _operation),
    "pending_safety_checks": ("safety checks", _safety),
    "acknowledged_safety_checks": ("safety checks acknowledged", _safety),
    "revised_prompt": ("revised prompt", str),
    "execution": ("execution", lambda v: str(v) if isinstance(v, str) else _json(v)),
    "environment": ("environment", lambda v: " ".join(str(x) for x in v.values() if isinstance(x, str)) if isinstance(v, dict) else _json(v)),
    "encrypted_content": ("encrypted content", lambda v: f"{len(v):,} characters" if isinstance(v, str) else _json(v)),
}
# image options, on one line
IMAGE_OPTIONS = ("size", "quality", "output_format", "background")


def item_details(item: Item, data: dict, extra: list[Detail]) -> list[Detail]:
    """The details of one output item from its payload ``data`` (plus what the stream added: ``extra``)."""
    out: list[Detail] = []
    options = []
    for key, value in data.items():
        if value is None or value == [] or value == {} or value == "":
            continue
        if key in SHOWN and not (key in ("arguments", "input") and not isinstance(value, str)):
            continue  # (arguments sent as an object, not streamed text, have no block to show them)
        if key == "encrypted_content" and item.type == "reasoning":
            continue  # every reasoning item carries it: not worth a line each
        if key == "action":
            if isinstance(value, dict) and any(b.kind == "command" for b in item.blocks.values()):
                value = {k: v for k, v in value.items() if k != "commands"}  # the command blocks show them
                if not any(v not in (None, {}, [], "") for k, v in value.items() if k != "type"):
                    continue
            label, text = _action(value)
            out.append(Detail(label, clip(text, LIMIT * 3)))  # its list of sources is already cut by entries
            continue
        if key == "actions" and isinstance(value, list):
            lines = [" ".join(_action(a)) for a in value]
            out.append(Detail("actions", clip(_many(lines, "action"), LIMIT)))
            continue
        if key in IMAGE_OPTIONS:
            options.append(f"{key} {value}")
            continue
        spec = FIELDS.get(key)
        if spec is not None:
            label, word = spec
            text = word(value)
        else:
            label, text = key.replace("_", " "), (value if isinstance(value, str) and not is_blob(value)
                                                  else blob_text(value) if is_blob(value) else _json(value))
        out.append(Detail(label, clip(text, LIMIT)))
    if options:
        out.append(Detail("image", ", ".join(options)))
    return out + extra
