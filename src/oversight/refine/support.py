"""Which statements of a draft its task's context does not support: no model, no embedding.

A statement (a sentence of the draft) is unsupported where it uses words the context does not
have: a number or a name that is nowhere in the context (the strongest sign: models invent
dates, counts and people), or content words that the context has, but not near the rest of the
statement ("Audrey Langford plays Bonnie Blue Butler" from a passage naming Bonnie Langford and
another naming Audrey: every word is there, the statement is not). "Near" is a window of
``WINDOW`` adjacent sentences of one paragraph of one source (the prompt, the input, the context,
the reference):
a statement's support is the window that holds the most of its content words, and the words
that window lacks are its unsupported words.

The context is everything the task gives: prompt, input, context and reference. A task with
none of input, context or reference has nothing to check against (the prompt alone is a
question, not a source), and gets no gaps.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from oversight.schemas import Task

__all__ = ["FUNCTION_WORDS", "MIN_UNSUPPORTED", "WINDOW", "Gap", "context_sources", "gaps", "statements", "tokens"]

# Adjacent sentences that count as one place in the context: a fact often takes two sentences
# ("X was released on 2 May. It reached number one."). Chosen on FineGrainedRLHF dev (1, 2, 3
# tried; bench/bench_checks_triage.py chooses it again on each half and reports the other).
WINDOW = 2
# Content words a statement may have outside its closest window before it is a finding (a
# missing number or name is a finding on its own). Chosen as WINDOW was.
MIN_UNSUPPORTED = 2

# Words that carry no claim on their own: a statement is not unsupported for using them.
_FUNCTION_WORDS_TEXT = """
a an the this that these those it its i you he she we they me him her us them my your his our their
is are was were be been being am do does did has have had will would shall should can could may might must
and or but nor so yet if then than as of in on at by for to from with without into onto about over under
up down out off not no there here which who whom whose what when where why how also just only very
after before during while since until between both each other such one two first second new most more many
st nd rd th s
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
# A sentence ends at . ! ? (and a closing quote) before a capital, a digit or an opening quote, or at a
# line break; not after a lone capital ("J. Smith"), dotted initials ("U.S.") or a usual abbreviation.
_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)]))\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])|\n+")
_ABBREVIATIONS_TEXT = "mr mrs ms dr st jr sr vs etc no co inc ltd mt ft gen col lt sgt prof rev brig capt cpl gov sen " \
                      "rep pres adm maj cmdr hon fr"
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
_PARAGRAPH = re.compile(r"\n\s*\n")
_MAX_WORDS_LISTED = 6


@dataclass(frozen=True)
class Gap:
    """One statement of the draft (``draft[start:end]``) and the words of it the context lacks.

    ``absent``: content words that are nowhere in the context, as the draft writes them;
    ``specific``: those of them that are numbers or names; ``broken``: names of several words
    whose words the context has, but not together ("Audrey Langford"); ``unsupported``: the
    statement's content words its closest window of the context lacks (absent ones included).
    """

    start: int
    end: int
    words: int
    absent: tuple[str, ...]
    specific: tuple[str, ...]
    broken: tuple[str, ...]
    unsupported: tuple[str, ...]


_SUFFIX = re.compile(r"(?<=[a-z]{3})(?:ing|ed|es|s)$")


def _stem(token: str) -> str:
    """"plays" as "play", "released" as "releas": a draft may inflect the context's words."""
    return _SUFFIX.sub("", token) if len(token) > 4 else token


def _norm(token: str) -> str:
    token = _POSSESSIVE.sub("", token.casefold())
    if token[:1].isdigit():
        return token.replace(",", "")
    if token.isascii():
        return _stem(token)
    return _stem("".join(c for c in unicodedata.normalize("NFKD", token) if not unicodedata.combining(c)))


@functools.lru_cache(maxsize=65536)
def _forms(token: str) -> tuple[str, ...]:
    """The forms a context word matches a draft's by: its own (accents folded, "Bogotá" as "bogota"),
    and, for a Latin word with other letters, without them: some models drop every letter their
    vocabulary lacks ("Asōristān" comes out as "Asristn")."""
    norm = _norm(token)
    if token.isascii() or not any(c.isascii() and c.isalpha() for c in token):
        return (norm,)
    bare = _stem("".join(c for c in _POSSESSIVE.sub("", token.casefold()) if c.isascii()))
    return (norm, bare) if bare and bare != norm else (norm,)


def tokens(text: str) -> list[str]:
    """Words and numbers, casefolded, accents folded, possessive 's dropped, thousands separators dropped."""
    return [_norm(m.group()) for m in _TOKEN.finditer(text)]


def _context_tokens(text: str) -> list[tuple[str, ...]]:
    return [_forms(m.group()) for m in _TOKEN.finditer(text)]


def _content(token: str) -> bool:
    return token not in FUNCTION_WORDS and (len(token) >= 2 or token.isdigit())


def statements(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as (start, end) spans, surrounding whitespace left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for found in _BREAK.finditer(text):
        before = text[start:found.start()].rstrip("\"'\u201d\u2019)")
        last = before.rsplit(None, 1)[-1].rstrip(".").casefold() if before.split() else ""
        if "\n" not in found.group() and (len(last) == 1 or "." in last or last in _ABBREVIATIONS):
            continue  # "J. Smith", "U.S. Army", "Dr. Who": not the end of a sentence
        spans.append((start, found.start()))
        start = found.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        piece = text[a:b]
        if piece.strip():
            a += len(piece) - len(piece.lstrip())
            b -= len(piece) - len(piece.rstrip())
            out.append((a, b))
    return out


def context_sources(task: Task) -> list[str]:
    """The texts a draft of ``task`` is checked against, or [] when the task gives none to check against."""
    if not any((text or "").strip() for text in (task.input, task.context, task.reference)):
        return []
    return [text for text in (task.prompt, task.input, task.context, task.reference) if text and text.strip()]


class _Context:
    """The context's words, its word sequence (for names of several words) and its windows."""

    def __init__(self, sources: Iterable[str], window: int):
        self.words: set[str] = set()
        sequences: list[list[str]] = [[], []]  # each word's own form; its bare form where it has one
        self.windows: list[set[str]] = []
        for source in sources:
            for paragraph in _PARAGRAPH.split(source):  # a window does not run across a blank line
                found = [_context_tokens(paragraph[a:b]) for a, b in statements(paragraph)]
                sentences = [{f for forms in sentence for f in forms} for sentence in found]
                for i in range(len(sentences)):
                    self.windows.append(set().union(*sentences[i:i + window]))
                for forms in (forms for sentence in found for forms in sentence):
                    self.words.update(forms)
                    sequences[0].append(forms[0])
                    sequences[1].append(forms[-1])
            for sequence in sequences:
                sequence.append("\x00")
        self.sequences = [" " + " ".join(sequence) + " " for sequence in sequences]
        self.index: dict[str, list[int]] = {}
        for i, words in enumerate(self.windows):
            for word in words:
                self.index.setdefault(word, []).append(i)

    def closest(self, words: Sequence[str]) -> set[str]:
        """The window that holds the most of ``words`` (the first such), or an empty set."""
        hits = Counter(i for word in words for i in self.index.get(word, ()))
        if not hits:
            return set()
        return self.windows[max(hits, key=lambda i: (hits[i], -i))]

    def has_phrase(self, words: Sequence[str]) -> bool:
        return any(f" {' '.join(words)} " in sequence for sequence in self.sequences)


def _names(text: str) -> list[list[str]]:
    """Runs of two or more capitalised words (names), as the draft writes them. Punctuation ends a
    run ("Orange County, Texas" is two) and function words do not start one ("The Beatles" is one word)."""
    found: list[list[str]] = []
    run: list[str] = []
    end = 0
    for m in _TOKEN.finditer(text):
        word, joined = m.group(), not text[end:m.start()].strip()
        end = m.end()
        if word[:1].isupper() and (run or _norm(word) not in FUNCTION_WORDS):
            if run and not joined:
                found.append(run)
                run = []
            run.append(word)
            continue
        found.append(run)
        run = []
    found.append(run)
    return [r for r in found if len(r) > 1]


def _listed(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(words))


def gaps(task: Task, draft: str, *, window: int = WINDOW, min_unsupported: int = MIN_UNSUPPORTED) -> list[Gap]:
    """The statements of ``draft`` that ``task``'s context does not support, in draft order.

    A statement is one when a content word of it is nowhere in the context, a name of several
    words is not in the context as written, or ``min_unsupported`` of its content words are
    missing from the window of ``window`` adjacent context sentences that holds the most of them.
    """
    sources = context_sources(task)
    if not sources or not draft.strip():
        return []
    context = _Context(sources, window)
    out = []
    for start, end in statements(draft):
        text = draft[start:end]
        surface = [m.group() for m in _TOKEN.finditer(text)]
        content = [(s, _norm(s)) for s in surface if _content(_norm(s))]
        if not content:
            continue
        near = context.closest([w for _, w in content])
        absent = [s for s, w in content if w not in context.words]
        runs = [(run, [_norm(w) for w in run]) for run in _names(text)]
        broken = [" ".join(run) for run, words in runs
                  if all(w in context.words for w in words) and not context.has_phrase(words)]
        specific = [s for s in absent if s[:1].isdigit() or s[:1].isupper()]
        unsupported = [s for s, w in content if w not in near]
        if absent or broken or len(unsupported) >= min_unsupported:
            out.append(Gap(start, end, len(content), _listed(absent), _listed(specific), _listed(broken),
                           _listed(unsupported)))
    return out


def quoted(words: Sequence[str]) -> str:
    """``"a", "b", "c"`` (at most a few, then how many more)."""
    shown = ", ".join(f'"{w}"' for w in words[:_MAX_WORDS_LISTED])
    more = len(words) - _MAX_WORDS_LISTED
    return shown + (f" and {more} more" if more > 0 else "")
