"""Message catalogs: user-facing text in Japanese and English, looked up the same way everywhere."""

from __future__ import annotations

from typing import Any

Catalog = dict[str, dict[str, str]]
DEFAULT_LOCALE = "ja"

# The one-line verdict people see in the terminal and in Slack, by Review.verdict.
VERDICTS: Catalog = {
    "ok": {"ja": "OK", "en": "OK"},
    "warn": {"ja": "気になる点があります", "en": "Worth a second look"},
    "block": {"ja": "修正が必要です", "en": "Needs changes"},
    "approval": {"ja": "承認が必要です", "en": "Needs a manager's approval"},
}


def text(catalog: Catalog, locale: str, key: str, **kwargs: Any) -> str:
    """Return catalog[key] in locale, falling back to Japanese (the product's default)."""
    entry = catalog[key]
    message = entry.get(locale) or entry.get(DEFAULT_LOCALE) or next(iter(entry.values()))
    return message.format(**kwargs)
