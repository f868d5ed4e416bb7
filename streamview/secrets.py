"""What never leaves streamview: the one list of secret headers, and ``key=``-style query values in URLs.

Live requests, the recorder (``--save``, the UI's ``s``), the metadata pane, error lines and ``serve`` all read this
module, so a header that carries a key is left out everywhere alike, and a URL is shown or recorded only with its
secret query values replaced by ``[redacted]``.
"""

from __future__ import annotations

import re
from typing import Iterable

REDACTED = "[redacted]"

# request and response headers that carry a key, a token or a session: never recorded, logged or shown
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "openai-api-key", "x-goog-api-key", "cookie",
    "set-cookie",
})

# query parameters whose values are keys (``?key=...`` is how some APIs take one)
SECRET_PARAMS = frozenset({"key", "api_key", "apikey", "api-key", "access_token", "token"})

_PARAM = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s]*)")


def is_secret_header(name: str) -> bool:
    return name.strip().lower() in SECRET_HEADERS


def public_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without the secret ones."""
    return [(k, v) for k, v in headers if not is_secret_header(k)]


def redact_url(text: str) -> str:
    """``text`` (a URL, or a line holding one) with the value of every secret query parameter replaced:
    ``https://host/v1/x?alt=sse&key=AIza...`` -> ``https://host/v1/x?alt=sse&key=[redacted]``."""
    if "=" not in text:
        return text

    def sub(m: re.Match) -> str:
        if m.group(2).lower() in SECRET_PARAMS and m.group(3):
            return f"{m.group(1)}{m.group(2)}={REDACTED}"
        return m.group(0)

    return _PARAM.sub(sub, text)


def query_secrets(url: str) -> list[str]:
    """The values of the secret query parameters of ``url`` (to redact them wherever else they might show)."""
    return [m.group(3) for m in _PARAM.finditer(url) if m.group(2).lower() in SECRET_PARAMS and m.group(3)]
