"""What the OpenAI protocols (Responses API, Chat Completions, legacy Completions) share: the key and base URL the
official SDK reads, the error body it parses, the base URL ``serve`` prints, the headers worth showing, the
parameters a server echoes, and (the two chunk protocols) the error object a data payload reports and the usage
under the names the panes read."""

from __future__ import annotations

from typing import Any, Mapping

from .base import LiveApi, LiveOptions, ServeRoute

KEY_ENV = "OPENAI_API_KEY"
BASE_ENV = "OPENAI_BASE_URL"
DEFAULT_BASE = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4.1-nano"
HEADERS = ("openai-processing-ms", "openai-version", "openai-organization", "openai-project")
PARAMS = {  # the field as the server echoes it -> a short label that keeps the value column wide
    "instructions": "instructions",
    "temperature": "temperature",
    "top_p": "top_p",
    "max_output_tokens": "max output",
    "max_tool_calls": "max tools",
    "service_tier": "tier",
    "store": "store",
    "truncation": "truncation",
    "parallel_tool_calls": "parallel",
    "tool_choice": "tool_choice",
    "previous_response_id": "previous",
    "background": "background",
    "system_fingerprint": "fingerprint",
}


def error_of(p: dict) -> dict | None:
    """The error a chunk stream's data payload reports, or None: ``{"error": {...}}`` (what the SDK raises
    ``APIError`` on: any truthy ``error``), or vLLM's ``{"object": "error", "message": ...}``."""
    err = p.get("error")
    if err:
        if isinstance(err, dict):
            return err
        return {"message": err if isinstance(err, str) else str(err)}
    if p.get("object") == "error":
        return {k: p[k] for k in ("message", "type", "param", "code") if k in p}
    return None


_USAGE_NAMES = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens",
                "prompt_tokens_details": "input_tokens_details", "completion_tokens_details": "output_tokens_details"}


def normalize_usage(u: dict) -> dict:
    """A chunk stream's usage object (``prompt_tokens``, ``completion_tokens``...) with the keys the panes read
    (the Responses API's names); other keys kept."""
    return {_USAGE_NAMES.get(k, k): v for k, v in u.items()}


def error_body(message: str, status: int) -> dict:
    """The error object the openai SDK reads (``{"error": {message, type, code, param}}``)."""
    return {"error": {"message": message, "type": "invalid_request_error", "code": "not_found" if status == 404 else None, "param": None}}


class OpenAIServe(ServeRoute):
    upstream = "https://api.openai.com"
    base_env = "OPENAI_BASE_URL"

    def __init__(self, *paths: str) -> None:
        self.paths = paths

    def error_body(self, message: str, status: int) -> dict:
        return error_body(message, status)

    def base_url(self, root: str) -> str:
        return f"{root}/v1"  # the openai SDK adds /responses or /chat/completions


class OpenAILive(LiveApi):
    """``POST {base}{path}`` with ``Authorization: Bearer $OPENAI_API_KEY``; the base is ``--base-url``,
    ``$OPENAI_BASE_URL`` or https://api.openai.com/v1, as the openai SDK takes it."""

    default_model = DEFAULT_MODEL
    key_env = (KEY_ENV,)
    base_env = BASE_ENV
    default_base = DEFAULT_BASE
    path = ""

    def payload(self, options: LiveOptions) -> dict[str, Any]:
        raise NotImplementedError

    def finish_payload(self, payload: dict[str, Any]) -> None:
        """Last touches after ``--body`` was merged (the stream flag is set already)."""

    def build(self, options: LiveOptions, env: Mapping[str, str]):
        from ..live import RequestError, make_request, merge_body

        payload = merge_body(self.payload(options), options)
        self.finish_payload(payload)
        headers = dict(options.headers)
        given = {k.lower() for k in headers}
        base = (options.base_url or env.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")
        key = env.get(KEY_ENV, "")
        if not given & {"authorization", "api-key"}:
            if not key:
                raise RequestError(f"{KEY_ENV} is not set: export it (or pass --header 'Authorization: Bearer ...')")
            headers["Authorization"] = f"Bearer {key}"
        return make_request(f"{base}{self.path}", payload, headers, key)
