"""The one writer of the command line: whatever a command prints passes through ``visible``.

While a command runs, ``sys.stdout`` and ``sys.stderr`` are ``EscapingStream``s: ``click.echo``,
``print``, ``sys.stdout.write``, a library that writes to stdout, click's own error lines and
warnings all show stored text's control characters as visible escapes, so a task id cannot
retitle the terminal or a note clear it, whether or not the call site remembered ``visible``.
Our own escapes (colours, the progress bar) go to the stream underneath: ``say`` styles text
it has escaped first, and ``Progress`` draws on it with its notes escaped.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import click

from oversight.visible import visible

__all__ = ["EscapingStream", "Styled", "escaped_output", "say", "unescaped"]


class EscapingStream(io.TextIOBase):
    """A text stream that writes ``visible(text)`` to the stream under it (newline and tab pass)."""

    def __init__(self, stream: TextIO):
        self.unescaped = stream  # for our own escapes only: colours and the progress bar

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.unescaped.write(visible(text))
        return len(text)

    def flush(self) -> None:
        self.unescaped.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.unescaped, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.unescaped.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.unescaped, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.unescaped, "errors", None)

    def close(self) -> None:  # the stream underneath is not ours to close
        pass


def unescaped(stream: Any) -> Any:
    """The stream under an EscapingStream (the stream itself otherwise): for our own escapes only."""
    return getattr(stream, "unescaped", stream) if isinstance(stream, EscapingStream) else stream


@contextmanager
def escaped_output() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` escaping for the duration (once, however deeply nested)."""
    if isinstance(sys.stdout, EscapingStream) and isinstance(sys.stderr, EscapingStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    mine = EscapingStream(sys.stdout), EscapingStream(sys.stderr)
    sys.stdout, sys.stderr = mine
    try:
        yield
    finally:
        # click swaps in its own wrapper after a closed pipe (`| head`): leave that one in place
        if sys.stdout is mine[0]:
            sys.stdout = saved[0]
        if sys.stderr is mine[1]:
            sys.stderr = saved[1]


@dataclass(frozen=True)
class Styled:
    """Text to show styled (``click.style``'s fg, bold, dim): escaped first, then coloured."""

    text: str
    fg: str | None = None
    bold: bool | None = None
    dim: bool | None = None


def say(*pieces: str | Styled, err: bool = False, nl: bool = True) -> None:
    """One line of ours: every piece escaped with ``visible``, the Styled ones then coloured.

    The colours are the only escapes written, and only on a terminal (click strips them elsewhere)."""
    out = "".join(click.style(visible(p.text), fg=p.fg, bold=p.bold, dim=p.dim) if isinstance(p, Styled)
                  else visible(p) for p in pieces)
    click.echo(out, file=unescaped(sys.stderr if err else sys.stdout), nl=nl)
