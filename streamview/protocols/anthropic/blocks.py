"""What each Anthropic content block says beyond its streamed text: its details (a tool result's payload, compact),
its citations as the panes cite them, and the opaque blobs that ``print --json`` shows as a size.

Every content block type of the Messages API (the SDK's beta ``BetaContentBlock`` union) has its details here;
a type this module does not know gets its fields listed (``_generic``). Details are short and never an opaque
blob: encrypted content, signatures and base64 data are said by their size.
"""

from __future__ import annotations

from typing import Any

from ...state import Citation, Detail, clip, generic_citation

TEXT_LIMIT = 1000  # characters of a result's text shown (stdout, a fetched page, an MCP answer)
LIST_LIMIT = 2000  # characters of a list shown (search results, tool names)

# the content block types of the API (the SDK's BetaContentBlock union; tests/test_anthropic_blocks.py keeps this
# list equal to it)
TOOL_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
RESULT_TYPES = frozenset({
    "web_search_tool_result", "web_fetch_tool_result", "advisor_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
    "mcp_tool_result", "container_upload", "fallback", "mcp_tool_listing",
})
BLOCK_TYPES = TOOL_TYPES | RESULT_TYPES | {"text", "thinking", "redacted_thinking", "compaction"}


# -- opaque blobs ---------------------------------------------------------------------------------------------------
def blob_marker(value: str) -> str:
    """What ``print --json`` shows for an opaque value: its size, never the value."""
    return f"present ({len(value)} chars)"


# the fields of a typed object that hold an opaque value (beside every ``encrypted_*`` field)
_BLOBS = {
    "thinking": ("signature",),
    "redacted_thinking": ("data",),
    "compaction": ("signature",),
    "base64": ("data",),  # a document's base64 source (a fetched PDF)
}
_NOT_DATA = ("input",)  # a tool call's input is the caller's data: never masked


def masked(value: Any) -> Any:
    """``value`` (a content block in the API's shape, or a list of them) with each opaque blob replaced by
    ``blob_marker``: signatures, redacted thinking, ``encrypted_*`` fields, base64 sources. A new copy; the
    input is not changed. An empty string stays empty (there is nothing to hide)."""
    if isinstance(value, list):
        return [masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    blobs = _BLOBS.get(value.get("type"), ()) if isinstance(value.get("type"), str) else ()
    out = {}
    for k, v in value.items():
        if isinstance(v, str) and v and (k in blobs or k.startswith("encrypted_")):
            out[k] = blob_marker(v)
        elif k in _NOT_DATA:
            out[k] = v
        else:
            out[k] = masked(v)
    return out


# -- citations ------------------------------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(text.split())


def _span(what: str, start: Any, end: Any, exclusive: bool) -> str:
    """``page 3`` / ``pages 3-5``: the API's range (end exclusive for pages and blocks), inclusive for a human."""
    if type(start) is not int or type(end) is not int:
        return ""
    last = end - 1 if exclusive else end
    return f"{what} {start}" if last <= start else f"{what}s {start}-{last}"


def citation(a: Any) -> Citation | None:
    """One of a text block's citations as the panes cite it. Anthropic's citations point into a source (a web
    page, a document's characters, pages or blocks, a search result), never into the answer's text: the marker
    goes after the text (``at`` is None)."""
    if not isinstance(a, dict):
        return None
    kind = a.get("type")
    cited = a.get("cited_text")
    quote = f": “{clip(_one_line(cited), 80)}”" if isinstance(cited, str) and cited.strip() else ""
    title = a.get("title") if isinstance(a.get("title"), str) and a.get("title") else None
    if kind == "web_search_result_location":
        url = a.get("url")
        if not isinstance(url, str) or not url:
            return Citation(title + quote, None) if title else None
        return Citation(f"{title} <{url}>" if title else f"<{url}>", None)
    if kind in ("char_location", "page_location", "content_block_location"):
        doc = a.get("document_title") if isinstance(a.get("document_title"), str) and a.get("document_title") else None
        if doc is None:
            n = a.get("document_index")
            doc = f"document {n}" if type(n) is int else "a document"
        if isinstance(a.get("file_id"), str) and a["file_id"]:
            doc += f" ({a['file_id']})"
        if kind == "char_location":
            s, e = a.get("start_char_index"), a.get("end_char_index")
            where = f"characters {s}-{e}" if type(s) is int and type(e) is int else ""
        elif kind == "page_location":
            where = _span("page", a.get("start_page_number"), a.get("end_page_number"), True)
        else:
            where = _span("block", a.get("start_block_index"), a.get("end_block_index"), True)
        return Citation(doc + (f", {where}" if where else "") + quote, None)
    if kind == "search_result_location":
        source = a.get("source") if isinstance(a.get("source"), str) and a.get("source") else None
        name = f"{title} ({source})" if title and source else (title or source or "a search result")
        where = _span("block", a.get("start_block_index"), a.get("end_block_index"), True)
        return Citation(name + (f", {where}" if where else "") + quote, None)
    found = generic_citation(a)  # a citation type this module does not know: its url/title, never an offset
    return Citation(found.source, None) if found is not None else None


# -- details --------------------------------------------------------------------------------------------------------
def _error(content: Any) -> list[Detail] | None:
    """A tool result's error object (``*_error`` type or an ``error_code``), as one detail; None if it is not one."""
    if not isinstance(content, dict):
        return None
    ctype = content.get("type")
    if "error_code" not in content and not (isinstance(ctype, str) and ctype.endswith("_error")):
        return None
    code = content.get("error_code") or ctype
    msg = content.get("error_message")
    return [Detail("error", clip(f"{code}: {msg}" if isinstance(msg, str) and msg else str(code), TEXT_LIMIT))]


def _text(v: Any) -> str:
    return v.rstrip("\n") if isinstance(v, str) else ""


def _web_search(api: dict) -> list[Detail]:
    content = api.get("content")
    if not isinstance(content, list):
        return _error(content) or _generic(api)
    lines = []
    for n, r in enumerate(content, 1):
        if not isinstance(r, dict):
            lines.append(f"{n}. {type(r).__name__}")
            continue
        bits = [f"{n}. {r.get('title') or r.get('type') or '?'}"]
        if r.get("url"):
            bits.append(f"<{r['url']}>")
        if r.get("page_age"):
            bits.append(f"({r['page_age']})")
        lines.append(" ".join(str(b) for b in bits))
    return [Detail("results", clip("\n".join(lines), LIST_LIMIT) if lines else "no results")]


def _document(doc: Any) -> list[Detail]:
    if not isinstance(doc, dict):
        return []
    out = []
    if isinstance(doc.get("title"), str) and doc["title"]:
        out.append(Detail("title", doc["title"]))
    source = doc.get("source")
    if isinstance(source, dict):
        data, media = source.get("data"), source.get("media_type")
        if source.get("type") == "text" and isinstance(data, str):
            out.append(Detail("text", clip(data.strip(), TEXT_LIMIT)))
        elif isinstance(data, str):
            out.append(Detail("document", f"{media or source.get('type')}, {len(data):,} characters of {source.get('type')} data (not shown)"))
        elif source.get("type"):
            out.append(Detail("document", f"{source.get('type')} source"))
    return out


def _web_fetch(api: dict) -> list[Detail]:
    content = api.get("content")
    err = _error(content)
    if err is not None or not isinstance(content, dict):
        return err or _generic(api)
    out = []
    if content.get("url"):
        at = f" (retrieved {content['retrieved_at']})" if content.get("retrieved_at") else ""
        out.append(Detail("url", f"{content['url']}{at}"))
    return out + _document(content.get("content"))


def _execution(api: dict) -> list[Detail]:
    """code_execution / bash_code_execution results: stdout, stderr, the return code, the files written."""
    content = api.get("content")
    err = _error(content)
    if err is not None or not isinstance(content, dict):
        return err or _generic(api)
    out = []
    if _text(content.get("stdout")):
        out.append(Detail("stdout", clip(_text(content["stdout"]), TEXT_LIMIT)))
    elif isinstance(content.get("encrypted_stdout"), str):
        out.append(Detail("stdout", f"encrypted ({len(content['encrypted_stdout'])} chars)"))
    if _text(content.get("stderr")):
        out.append(Detail("stderr", clip(_text(content["stderr"]), TEXT_LIMIT)))
    if content.get("return_code") is not None:
        out.append(Detail("return code", str(content["return_code"])))
    files = [f.get("file_id") for f in content.get("content") or [] if isinstance(f, dict) and f.get("file_id")]
    if files:
        out.append(Detail("files", clip(", ".join(map(str, files)), LIST_LIMIT)))
    return out or [Detail("output", "(nothing)")]


def _text_editor(api: dict) -> list[Detail]:
    content = api.get("content")
    err = _error(content)
    if err is not None or not isinstance(content, dict):
        return err or _generic(api)
    ctype = content.get("type")
    if ctype == "text_editor_code_execution_view_result":
        kind = content.get("file_type") or "file"
        lines = ""
        start, num, total = content.get("start_line"), content.get("num_lines"), content.get("total_lines")
        if type(start) is int and type(num) is int:
            lines = (f", line {start}" if num <= 1 else f", lines {start}-{start + num - 1}") + (f" of {total}" if type(total) is int else "")
        out = [Detail("viewed", f"{kind} file{lines}")]
        text = content.get("content")
        if isinstance(text, str):
            out.append(Detail("content", clip(text, TEXT_LIMIT) if kind == "text" else f"{len(text):,} characters of {kind} data (not shown)"))
        return out
    if ctype == "text_editor_code_execution_create_result":
        return [Detail("result", "file updated" if content.get("is_file_update") else "file created")]
    if ctype == "text_editor_code_execution_str_replace_result":
        o_s, o_n, n_s, n_n = (content.get(k) for k in ("old_start", "old_lines", "new_start", "new_lines"))
        out = [Detail("result", f"replaced: @@ -{o_s},{o_n} +{n_s},{n_n} @@" if o_s is not None else "replaced")]
        lines = content.get("lines")
        if isinstance(lines, list) and lines:
            out.append(Detail("diff", clip("\n".join(str(x) for x in lines), TEXT_LIMIT)))
        return out
    return _generic(api)


def _tool_search(api: dict) -> list[Detail]:
    content = api.get("content")
    err = _error(content)
    if err is not None or not isinstance(content, dict):
        return err or _generic(api)
    refs = content.get("tool_references")
    if not isinstance(refs, list):
        return _generic(api)
    names = [str(r.get("tool_name")) for r in refs if isinstance(r, dict) and r.get("tool_name")]
    return [Detail("tools found", clip(", ".join(names), LIST_LIMIT) if names else "none")]


def _mcp_result(api: dict) -> list[Detail]:
    content = api.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "\n".join(c["text"] if isinstance(c, dict) and isinstance(c.get("text"), str) else f"({c.get('type') if isinstance(c, dict) else type(c).__name__})" for c in content)
    else:
        text = ""
    label = "error" if api.get("is_error") is True else "result"
    return [Detail(label, clip(text.strip(), TEXT_LIMIT) if text.strip() else "(no content)")]


def _advisor(api: dict) -> list[Detail]:
    content = api.get("content")
    err = _error(content)
    if err is not None or not isinstance(content, dict):
        return err or _generic(api)
    out = []
    if isinstance(content.get("text"), str):
        out.append(Detail("advice", clip(content["text"].strip(), TEXT_LIMIT)))
    elif isinstance(content.get("encrypted_content"), str):
        out.append(Detail("advice", f"redacted (encrypted, {len(content['encrypted_content'])} chars)"))
    reason = content.get("stop_reason")
    if isinstance(reason, str) and reason != "end_turn":
        out.append(Detail("stop", reason))
    return out or _generic(api)


def _container_upload(api: dict) -> list[Detail]:
    fid = api.get("file_id")
    return [Detail("file", fid)] if isinstance(fid, str) and fid else _generic(api)


def _fallback(api: dict) -> list[Detail]:
    def model(v: Any) -> str:
        return str(v.get("model")) if isinstance(v, dict) and v.get("model") else "?"

    out = [Detail("fallback", f"{model(api.get('from'))} -> {model(api.get('to'))}")]
    trigger = api.get("trigger")
    if isinstance(trigger, dict):
        cat = trigger.get("category")
        out.append(Detail("trigger", f"{trigger.get('type')}" + (f" ({cat})" if cat else "")))
    return out


def _mcp_listing(api: dict) -> list[Detail]:
    tools = api.get("tools")
    names = [str(t.get("name")) for t in tools if isinstance(t, dict) and t.get("name")] if isinstance(tools, list) else []
    server = api.get("mcp_server_name")
    return [Detail("tools", clip((f"{server}: " if server else "") + (", ".join(names) if names else "none"), LIST_LIMIT))]


def _compaction(api: dict) -> list[Detail]:
    out = []
    changes = api.get("tool_changes")
    if isinstance(changes, list) and changes:
        added = sum(1 for c in changes if isinstance(c, dict) and c.get("type") == "tool_addition")
        out.append(Detail("tool changes", f"{added} added, {len(changes) - added} removed"))
    return out


def _generic(api: dict) -> list[Detail]:
    """A block of a type (or a shape) this module does not know: its text fields, or its fields' names."""
    content = api.get("content")
    err = _error(content)
    if err is not None:
        return err
    found = []
    for where in (api, content if isinstance(content, dict) else {}):
        for key in ("text", "stdout", "stderr"):
            if _text(where.get(key)):
                found.append(Detail(key, clip(_text(where[key]), TEXT_LIMIT)))
    if isinstance(content, str) and content.strip():
        found.append(Detail("content", clip(content.strip(), TEXT_LIMIT)))
    if found:
        return found
    keys = [k for k in api if k != "type"]
    return [Detail("fields", ", ".join(keys) if keys else "(none)")]


_DETAILS = {
    "web_search_tool_result": _web_search,
    "web_fetch_tool_result": _web_fetch,
    "code_execution_tool_result": _execution,
    "bash_code_execution_tool_result": _execution,
    "text_editor_code_execution_tool_result": _text_editor,
    "tool_search_tool_result": _tool_search,
    "mcp_tool_result": _mcp_result,
    "advisor_tool_result": _advisor,
    "container_upload": _container_upload,
    "fallback": _fallback,
    "mcp_tool_listing": _mcp_listing,
    "compaction": _compaction,
}


def block_details(api: dict, done: bool) -> list[Detail]:
    """The details of one content block (``api``: the block in the API's shape, its streamed fields aside)."""
    btype = api.get("type")
    if btype in ("text", "thinking", "redacted_thinking"):
        return []
    if btype in TOOL_TYPES:
        out = []
        if btype == "mcp_tool_use" and isinstance(api.get("server_name"), str):
            out.append(Detail("server", api["server_name"]))
        return out
    if btype == "compaction":
        out = _compaction(api)
        if done and api.get("content") is None:
            out.insert(0, Detail("summary", "none: the compaction produced no summary"))
        return out
    handler = _DETAILS.get(btype) if isinstance(btype, str) else None
    return (handler or _generic)(api)
