"""A small settings file in the user's config directory (``$XDG_CONFIG_HOME/streamview/settings.json``, else
``~/.config/streamview/settings.json``): what the user chose last time (the theme). A file that cannot be read
or written is ignored: the app runs with its defaults."""

from __future__ import annotations

import json
import os
from pathlib import Path


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "streamview" / "settings.json"


def load() -> dict:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(**values) -> bool:
    """Merge ``values`` into the file; False if it could not be written (read-only home, a full disk)."""
    data = load()
    data.update(values)
    p = path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(p)
    except OSError:
        return False
    return True
