"""Message catalogs: user-facing text in Japanese and English, looked up the same way everywhere."""

from __future__ import annotations

from typing import Any

Catalog = dict[str, dict[str, str]]
DEFAULT_LOCALE = "ja"


def text(catalog: Catalog, locale: str, key: str, **kwargs: Any) -> str:
    """Return catalog[key] in locale, falling back to Japanese (the product's default)."""
    entry = catalog[key]
    message = entry.get(locale) or entry.get(DEFAULT_LOCALE) or next(iter(entry.values()))
    return message.format(**kwargs)
