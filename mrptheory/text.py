"""Small wording helpers shared by command output and figure titles."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``"1 seed"``, ``"4 seeds"``, ``"0 seeds"``: the count and the word in the right number
    (``many`` overrides the plural form, default ``word + "s"``)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
