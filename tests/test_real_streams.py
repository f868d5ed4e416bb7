"""Every stream a real server sent (``../shared/streams/real/``, read in place, never copied here): the protocol
streamview decides, what ``check`` reports, and what ``print --json`` assembles against the official SDK's own
accumulated state wherever an SDK accumulates that protocol (openai's ``ResponseStreamState``).

The folder is absent on a machine without ``../shared``: the tests skip with the reason, except under CI
(``CI=true``), where its absence fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from streamview.protocols.responses.details import compact
from streamview.session import read_session

pytestmark = pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK serialising its own types
REAL = Path(__file__).resolve().parents[2] / "shared" / "streams" / "real"
ROOT = Path(__file__).resolve().parents[1]

# the protocol of each stream, by the number its name starts with
PROTOCOL_OF = [(range(1, 25), "responses"), (range(25, 47), "chat"), (range(47, 60), "anthropic"),
               (range(60, 62), "gemini"), (range(62, 63), "cohere"), (range(63, 64), "completions")]
# what check must report as errors on a stream (every other stream: none). 23 is broken on purpose.
ERRORS = {"23_openai-responses_multi_mcp_list_tools_missing_done.sse": ["item-not-done", "item-not-done"]}
# streams the SDK itself refuses, and why (their ids are rewritten per occurrence by the recorder: SOURCES.md)
SDK_REFUSES = {"22_github-copilot-responses_rotated_ids.sse": "Lifecycle response identity changed"}


def real_streams() -> list[Path]:
    if not REAL.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real streams are missing: {REAL} (required on CI)")
        pytest.skip(f"the real streams are not here ({REAL} is absent)")
    return sorted(REAL.glob("*.sse"))


def expected_protocol(path: Path) -> str | None:
    n = int(path.name.split("_", 1)[0])
    return next((name for numbers, name in PROTOCOL_OF if n in numbers), None)


def _params() -> list:
    return sorted(REAL.glob("*.sse")) if REAL.is_dir() else [pytest.param(None, id="absent")]


def _name(p) -> str:
    return p.name[:40] if isinstance(p, Path) else str(p)


def test_missing_folder_skips_but_fails_on_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "REAL", tmp_path / "absent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        real_streams()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        real_streams()


def test_every_stream_is_here():
    assert len(real_streams()) >= 63


@pytest.mark.parametrize("path", _params(), ids=_name)
def test_protocol_and_check(path):
    if path is None:
        real_streams()
    want = expected_protocol(path)
    if want is None:
        pytest.skip(f"{path.name}: its protocol is not read by streamview yet")
    with open(path, "rb") as fp:
        session = read_session(fp, None)
    assert session.proto is not None and session.proto.name == want, path.name
    errors = [a.rule for a in session.anomalies if a.severity == "error"]
    assert errors == ERRORS.get(path.name, []), [(a.rule, a.index, a.message) for a in session.anomalies if a.severity == "error"]


# -- the openai SDK's ResponseStreamState ---------------------------------------------------------------------

def _union_types(union) -> dict[str, type]:
    args = typing.get_args(union)
    if args and typing.get_origin(args[0]) is typing.Union:
        args = typing.get_args(args[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in args}


def sdk_final_response(path: Path):
    """Feed the stream's events to openai's ``ResponseStreamState``; the response the SDK ends with (from
    ``response.completed``, or the failed / incomplete terminal event), or None when the stream has no terminal."""
    from openai._models import construct_type_unchecked
    from openai._types import omit
    from openai.lib.streaming.responses._responses import ResponseStreamState
    from openai.types.responses import ResponseStreamEvent

    from streamview.source import read_events

    known = _union_types(ResponseStreamEvent)
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    final = None
    with open(path, "rb") as fp:
        events = read_events(fp)[0]
    for ev in events:
        p = ev.payload
        if not isinstance(p, dict) or p.get("type") not in known:
            continue  # what the SDK's event union does not hold (a [DONE], a keep-alive, newer events)
        out = state.handle_event(construct_type_unchecked(type_=known[p["type"]], value=p))
        for e in out:
            if e.type in ("response.completed", "response.failed", "response.incomplete"):
                final = e.response
    return state._completed_response or final


def _print_json(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "streamview", "print", "--json", str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def _sdk_item(item) -> dict:
    d = item.to_dict(mode="json", warnings=False)
    d.pop("parsed_arguments", None)  # the SDK's own parse of function arguments (needs the request's tools)
    for part in d.get("content") or []:
        if isinstance(part, dict):
            part.pop("parsed", None)  # the SDK's own parse of structured output (needs the request's format)
    return compact(d)


def _responses_streams() -> list:
    return [p for p in _params() if p is None or expected_protocol(p) == "responses"]


@pytest.mark.parametrize("path", _responses_streams(), ids=_name)
def test_print_json_equals_the_openai_sdk(path):
    if path is None:
        real_streams()
    if path.name in SDK_REFUSES:
        with pytest.raises(RuntimeError, match=SDK_REFUSES[path.name]):
            sdk_final_response(path)
        return
    response = sdk_final_response(path)
    ours = _print_json(path)
    if response is None:
        pytest.skip(f"{path.name}: no terminal event, the SDK has no final response")
    assert ours["id"] == response.id
    assert ours["status"] == response.status
    assert ours["usage"] == (response.usage.to_dict(mode="json") if response.usage is not None else None)
    sdk_items = [_sdk_item(i) for i in response.output]
    assert len(ours["output"]) == len(sdk_items), [o["type"] for o in ours["output"]]
    for mine, theirs in zip(ours["output"], sdk_items):
        for key, value in theirs.items():
            assert mine.get(key) == value, (path.name, mine["output_index"], key)
