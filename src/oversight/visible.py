"""Untrusted text made safe to show: every control character becomes a visible escape.

Stored text (task ids, prompts, drafts, notes, a model's words) may hold terminal escape
sequences (ESC, BEL, backspace, the one-byte CSI U+009B), bidi overrides that reorder what a
reader sees (U+202E), or lone surrogates that no encoder can write. ``visible`` shows each
as a literal escape: C0 controls as ``\\x1b``, the rest as ``\\u009b``, ``\\u202e``,
``\\ud800``. The second form is also a JSON string escape, so JSON text passed through it
stays valid JSON that decodes to the same value (JSON never holds a raw C0 control).
Newline and tab pass; CRLF becomes a newline. The CLI writes everything it prints through
it, and the Markdown report escapes with it too.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "visible"]

# C0 controls but tab and newline, DEL, C1 controls (\x9b is a one-byte CSI), the bidi marks,
# embeddings, overrides and isolates that can reorder what a reviewer reads, and lone surrogates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str | None) -> str:
    """``text`` with every unsafe character shown as a literal escape (ESC as ``\\x1b``, U+202E as
    ``\\u202e``), so no escape sequence can clear a screen, retitle a terminal, hide text or plant
    a link. Idempotent: what it returns holds no unsafe character."""
    if not text:
        return ""
    return UNSAFE.sub(_mark, text.replace("\r\n", "\n"))


def _mark(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x20 else f"\\u{code:04x}"
