"""The panes' colours, from the app's current theme: every mark and highlight readable in every built-in theme,
dark or light (a fixed palette put near-black on dark grey in ``textual-light``). Made once per theme."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color

_MADE: dict[str, dict[str, Style | None]] = {}


def _readable(color: Color, background: Color, dark: bool) -> Color:
    """``color``, lightened on a dark background or darkened on a light one until it stands out (contrast 3:1)."""
    for _ in range(8):
        if _contrast(color, background) >= 3.0:
            break
        color = color.lighten(0.08) if dark else color.darken(0.08)
    return color


def _luminance(c: Color) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def _contrast(a: Color, b: Color) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def pane_styles(app) -> dict[str, Style | None]:
    """Style name (``render.STYLES``, plus the response pane's ``good``/``bad``/``warn``/``dim`` and ``related``)
    -> a Rich style for the app's current theme."""
    name = app.theme
    made = _MADE.get(name)
    if made is not None:
        return made
    theme = app.current_theme
    dark = bool(theme.dark)
    background = Color.parse(theme.background or ("#121212" if dark else "#efefef"))
    foreground = Color.parse(theme.foreground or ("#e0e0e0" if dark else "#1e1e1e"))

    def tone(value: str | None, fallback: str) -> Color:
        return _readable(Color.parse(value or fallback), background, dark)

    error = tone(theme.error, "#ba3c5b")
    warning = tone(theme.warning, "#ffa62b")
    success = tone(theme.success, "#4ebf71")
    primary = tone(theme.primary, "#0178d4")
    related = background.blend(Color.parse(theme.primary or "#0178d4"), 0.22)
    raw_warning = Color.parse(theme.warning or "#ffa62b")
    made = {
        "mark": Style(color=error.get_contrast_text(1.0).rich_color, bgcolor=error.rich_color, bold=True),
        "note": Style(color=warning.rich_color),
        "item": Style(color=success.rich_color),
        "problem": Style(color=error.rich_color, bold=True),
        "lifecycle": Style(color=primary.rich_color, bold=True),
        "delta": Style(color=foreground.blend(background, 0.35).rich_color),
        "comment": Style(color=warning.rich_color, italic=True),
        "stall": Style(color=raw_warning.get_contrast_text(1.0).rich_color, bgcolor=raw_warning.rich_color, bold=True),
        "related": Style(bgcolor=related.rich_color, color=foreground.rich_color),
        "good": Style(color=success.rich_color),
        "bad": Style(color=error.rich_color, bold=True),
        "warn": Style(color=warning.rich_color),
        "dim": Style(color=foreground.blend(background, 0.4).rich_color),
        "": None,
    }
    _MADE[name] = made
    return made
