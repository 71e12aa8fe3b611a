"""Style features of a response: length and markdown decoration, counted plainly."""

from __future__ import annotations

import re

from oversight.schemas import FEATURES

__all__ = ["normalised_difference", "style_features"]

_WORD = re.compile(r"\w")  # a word has a letter or digit: list bullets and emojis do not count
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
# Pictographs, symbols, dingbats and flags; not plain punctuation or CJK.
_EMOJI = re.compile(
    "[\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff\U0001f900-\U0001f9ff"
    "\U0001fa70-\U0001faff\U0001f1e6-\U0001f1ff\u2600-\u26ff\u2700-\u27bf\u2b50\u2b55\u2705\u274c]"
)


def style_features(text: str) -> dict[str, float]:
    """Count words (tokens with a letter or digit), headers, list items, bold spans, emojis, fenced code blocks."""
    return {
        "length": float(sum(1 for word in text.split() if _WORD.search(word))),
        "headers": float(len(_HEADER.findall(text))),
        "lists": float(len(_LIST.findall(text))),
        "bold": float(len(_BOLD.findall(text))),
        "emoji": float(len(_EMOJI.findall(text))),
        "code": float(len(_FENCE.findall(text)) // 2),
    }


def normalised_difference(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """(a - b) / (a + b) per feature, 0 when both are 0, as in Chatbot Arena's style control.

    Bounded in [-1, 1] so one very long answer cannot dominate the fit.
    """
    out: dict[str, float] = {}
    for name in FEATURES:
        total = a[name] + b[name]
        out[name] = 0.0 if total == 0 else (a[name] - b[name]) / total
    return out
