"""Pattern names with no model: what the edits did, the trainers' own tag, or the central note, shortened.

Keywords ("replaced / words / phrase") make a lead guess; a short phrase in the notes' own words
does not. Each pattern takes the first of these that fits (``plain_names``):

1. **Edits stated by their shape** (most members): the commonest shape ("Removed a whole sentence"),
   with the place and flags most of those edits share, then up to two words these edits cut (added,
   for additions) far more often than other edits do: ``Removed a whole sentence at the end — 'tapestry'``.
2. **A tag** that more than half of the pattern's refinements carry: the tag, as the trainers wrote it.
3. **The central note**: of the notes nearest the pattern's centre, the one whose short phrase (its
   first sentence, cut before any quote or aside, at most ten words) holds the most of the
   pattern's keywords, whole sentences first.
4. **Keywords** (``naming.keyword_name``).

A word in a name is one that notes about several subjects use: never in ``exclude`` (the miner
passes the words only one subject's notes use), used by the notes of more subjects than the
masking treats as one subject's own (``represent.subject_word_limit``), and, in a note's phrase,
not masked in that note. No name says a word twice, and names are told apart (``naming.tell_apart``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from oversight.mine.naming import FILLERS, distinct_words, keyword_name, tell_apart, word_stem
from oversight.mine.represent import mask_text, subject_word_limit
from oversight.schemas import FailureNote, PatternName

__all__ = ["EditShape", "edit_shape", "phrase_names", "plain_names", "short_phrase"]

DISTINCT_WORDS = 2  # at most this many cut (or added) words after an edit pattern's shape
CENTRAL_LOOK = 10  # how many of the notes nearest a pattern's centre may lend it their words
SHORT_WORDS = 10  # a name from a note is cut to this many words at most
_SHAPE = re.compile(r'^((?:Removed|Added|Replaced|Cut|Changed a number)\b[^:"]*): "')
_PLACES = (" at the start", " in the middle", " at the end")
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+")
_ASIDE = re.compile(r"\s*(?:[;:(\[\"“”]|\s[-–—]\s|--)")
_OPENERS = re.compile(r"^(?:(?:no|yes|again|also|overall)\b[,.]?\s+)+", re.IGNORECASE)
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "we", "my", "me", "our", "us"})
# A clause opening with one of these, cut at its comma, is the half of a sentence that says least.
_SUBORDINATE = frozenset({"while", "although", "though", "as", "because", "since", "if", "when", "whereas",
                          "instead", "despite", "even", "unless", "after", "before", "aside", "apart"})
_INITIAL = re.compile(r"^[B-HJ-Z]\.?$")  # "Q", "C.": a name cut to its initial


class EditShape(NamedTuple):
    """What a plainly stated edit did ("Removed a whole sentence"), where, and its flags."""

    core: str
    place: str
    flags: tuple[str, ...]


def edit_shape(note: FailureNote) -> EditShape | None:
    """The shape of an edit note stated without a model (``notes.describe_edit``), else None."""
    if note.source != "edit" or "edit" not in note.metadata or note.metadata.get("explained_by") == "llm":
        return None
    found = _SHAPE.match(note.text)
    if found is None:
        return None
    head, *flags = found.group(1).split(", ")
    place = next((p for p in _PLACES if head.endswith(p)), "")
    return EditShape(head[: len(head) - len(place)], place, tuple(flags))


def plain_names(
    notes: Sequence[FailureNote],
    texts: Sequence[str],
    orders: Sequence[np.ndarray],
    keywords: Mapping[int, list[str]],
    *,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> list[PatternName]:
    """A name per pattern (see the module doc). ``orders[c]``: pattern c's members, nearest its centre
    first; ``texts``: the notes as masked for clustering; ``keywords``: ``naming.class_keywords``."""
    phrases, apart = _phrase_names(notes, texts, orders, keywords, exclude)
    names = [named or keyword_name(keywords.get(c, []), len(orders[c])) for c, named in enumerate(phrases)]
    return tell_apart(names, apart)


def phrase_names(
    notes: Sequence[FailureNote],
    texts: Sequence[str],
    orders: Sequence[np.ndarray],
    keywords: Mapping[int, list[str]],
    *,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> list[str | None]:
    """``plain_names`` without its last resort: a phrase per group (a shape, a tag, a central note), or
    None where only keywords would name it. The miner names themes with it: a theme's notes as one group."""
    phrases, apart = _phrase_names(notes, texts, orders, keywords, exclude)
    named = tell_apart([p for p in phrases if p is not None], [a for p, a in zip(phrases, apart, strict=True) if p])
    told = iter(named)
    return [next(told).name if p is not None else None for p in phrases]


def _phrase_names(
    notes: Sequence[FailureNote], texts: Sequence[str], orders: Sequence[np.ndarray],
    keywords: Mapping[int, list[str]], exclude: frozenset[str] | set[str],
) -> tuple[list[PatternName | None], list[list[str]]]:
    """Per group, its phrase name (None: none fits) and the words that would tell it from a namesake."""
    spread: dict[str, set[str]] = {}
    for note in notes:
        for word in _content(note.text):
            spread.setdefault(word, set()).add(note.subject or note.id)
    limit = max(1, subject_word_limit(len({n.subject for n in notes if n.subject is not None})))
    shared = {w for w, found in spread.items() if len(found) > limit} - set(exclude)
    cut = _edit_words(notes, orders, shared)
    names: list[PatternName | None] = []
    apart = []
    for c, order in enumerate(orders):
        words = keywords.get(c, [])
        by_shape = _shape_name(notes, order, cut[c].telling)
        names.append(by_shape or _tag_name(notes, order, words, shared)
                     or _central_name(notes, texts, order, words, shared))
        # Two patterns of one shape are told apart by what their edits cut, not by shape words.
        apart.append([f"'{w}'" for w in cut[c].apart if w not in cut[c].telling] if by_shape else words)
    return names, apart


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | FILLERS


def _content(text: str) -> set[str]:
    """The words of a text a name could hold: lower case, three letters or more, no stop word."""
    stop = _stop_words()
    words = (w.lower().replace("’", "'").removesuffix("'s") for w in _WORDS.findall(text))
    return {w for w in words if len(w) >= 3 and w not in stop}


def _says_twice(phrase: str) -> bool:
    stop = _stop_words()
    stems = [word_stem(w) for w in _WORDS.findall(phrase) if len(w) >= 3 and w.lower() not in stop]
    return len(distinct_words(stems)) < len(stems)


class _CutWords(NamedTuple):
    """Words a pattern's shaped edits cut (added, for additions) more than other edits do."""

    telling: list[str]  # distinctive enough to name it
    apart: list[str]  # enough to tell it from patterns of the same shape


def _edit_words(notes: Sequence[FailureNote], orders: Sequence[np.ndarray], shared: set[str]) -> list[_CutWords]:
    """Per pattern, the words its shaped edits cut (added, for additions), ``shared`` ones, from two
    subjects or more, most telling first: ``telling`` (up to ``DISTINCT_WORDS``) are in a tenth of
    them and at least five, and twice as common among them as among all shaped edits; ``apart``
    are in two of them and half again as common."""
    bags: list[list[tuple[str, set[str]]]] = []
    for order in orders:
        bag = []
        for i in order:
            shape = edit_shape(notes[i])
            if shape is None:
                continue
            edit = notes[i].metadata["edit"]
            before, after = _content(edit.get("before") or ""), _content(edit.get("after") or "")
            changed = after - before if shape.core.startswith("Added") else before - after
            bag.append((notes[i].subject or notes[i].id, changed & shared))
        bags.append(bag)
    everywhere = Counter(w for bag in bags for _, words in bag for w in words)
    edits = sum(len(bag) for bag in bags)
    out = []
    for bag in bags:
        held = Counter(w for _, words in bag for w in words)
        ranked = []
        for word, count in held.items():
            lift = (count / len(bag)) / (everywhere[word] / edits)
            if count >= 2 and lift >= 1.5 and len({s for s, w in bag if word in w}) >= 2:
                ranked.append((-count * np.log(lift), word, count >= max(5, 0.1 * len(bag)) and lift >= 2))
        ranked.sort()
        out.append(_CutWords(distinct_words([w for _, w, telling in ranked if telling])[:DISTINCT_WORDS],
                             distinct_words([w for _, w, _ in ranked])))
    return out


def _shape_name(notes: Sequence[FailureNote], order: np.ndarray, words: list[str]) -> PatternName | None:
    shapes = [s for s in (edit_shape(notes[i]) for i in order) if s is not None]
    if not shapes or len(shapes) * 2 <= len(order):
        return None
    cores = Counter(s.core for s in shapes)
    core, count = cores.most_common(1)[0]
    alike = [s for s in shapes if s.core == core]
    place, held = Counter(s.place for s in alike).most_common(1)[0]
    flags = [f for f in dict.fromkeys(f for s in alike for f in s.flags)
             if sum(f in s.flags for s in alike) * 2 > len(alike)]
    shape = core + (place if held * 2 > len(alike) else "") + "".join(f", {f}" for f in flags)
    others = ", ".join(f"{c.lower()} ({n})" for c, n in cores.most_common(4)[1:])
    told = (f" Words these edits {'added' if core.startswith('Added') else 'cut'} far more often than others: "
            f"{', '.join(words)}." if words else "")
    return PatternName(
        name=shape + (" — " + ", ".join(f"'{w}'" for w in words) if words else ""),
        description=f"{len(order)} failure notes, {len(shapes)} of them edits a reviewer made; the commonest: "
                    f"{core.lower()} ({count})" + (f", then {others}." if others else ".") + told,
        criteria=[f"needed this edit: {shape[0].lower()}{shape[1:]}"[:120]],
    )


def _tag_name(notes: Sequence[FailureNote], order: np.ndarray, keywords: list[str], shared: set[str]) -> PatternName | None:
    tags = Counter(notes[i].text for i in order if notes[i].source == "tag")
    if not tags:
        return None
    tag, count = tags.most_common(1)[0]
    units = len({notes[i].refinement_id or notes[i].id for i in order})
    if count * 2 <= units or not _content(tag) <= shared or _says_twice(tag):
        return None
    words = f" Their most distinctive words: {', '.join(keywords)}." if keywords else ""
    return PatternName(name=tag, description=f"{len(order)} failure notes; {count} of {units} refinements tagged "
                                             f"'{tag}'.{words}", criteria=[f"shows what trainers tagged '{tag}'"])


def _central_name(
    notes: Sequence[FailureNote], texts: Sequence[str], order: np.ndarray, keywords: list[str], shared: set[str]
) -> PatternName | None:
    wanted = [word_stem(w) for k in keywords[:6] for w in _WORDS.findall(k)]
    best: tuple[tuple[int, bool, int], str] | None = None
    for rank, i in enumerate(order[:CENTRAL_LOOK]):
        found = short_phrase(notes[i].text)
        if found is None:
            continue
        phrase, whole = found
        words = _content(phrase)
        hits = len({word_stem(w) for w in words} & set(wanted))
        if (hits and words <= shared and words <= _content(texts[i]) and not _says_twice(phrase)
                and mask_text(phrase) == phrase and (best is None or (hits, whole, -rank) > best[0])):
            best = ((hits, whole, -rank), phrase)
    if best is None:
        return None
    phrase = best[1]
    rest = f" Their most distinctive words: {', '.join(keywords)}." if keywords else ""
    return PatternName(name=phrase, description=f"{len(order)} failure notes like: {phrase}.{rest}",
                       criteria=[f"fits '{phrase}'"[:120]])


_DANGLING = frozenset({"the", "a", "an", "to", "of", "and", "or", "for", "with", "in", "on", "at", "that", "which",
                       "by", "from", "as", "is", "was", "are", "were", "be", "its", "their", "his", "her"})


def _trimmed(words: list[str]) -> list[str]:
    """Words cut mid-sentence, without the articles and prepositions left dangling at the end."""
    while len(words) > 2 and words[-1].lower() in _DANGLING:
        words = words[:-1]
    return words


def short_phrase(text: str, limit: int = SHORT_WORDS) -> tuple[str, bool] | None:
    """A note as a short phrase, and whether it is a whole sentence: the first sentence without an
    opening "No," or "Yes,", cut before any quote, aside or list (then ending in "…"), at the last
    comma within ``limit`` words when longer, else after eight words (with "…"). None when fewer
    than two words are left, or it holds a number or an initial ("C. Jones"), speaks in the first
    person ("I think ..."), or is a subordinate clause cut from its sentence ("While we ...")."""
    first = _OPENERS.sub("", _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0])
    before = _ASIDE.split(first, maxsplit=1)
    whole = len(before) == 1
    words = before[0].strip().rstrip(".,!?").split()
    if len(words) > limit:
        commas = [k for k, w in enumerate(words[:limit]) if w.endswith(",") and k >= 3]
        words, whole = (words[: commas[-1] + 1], False) if commas else ([*_trimmed(words[:8]), "…"], False)
    elif not whole and words:
        words = [*words, "…"]
    said = [w.strip(",.;:!?").lower() for w in words]
    if (len([w for w in words if w != "…"]) < 2 or any(w in _FIRST_PERSON for w in said) or any(ch.isdigit() for w in words for ch in w)
            or any(_INITIAL.match(w.strip(",;:!?").replace("’", "'").removesuffix("'s")) for w in words) or (not whole and said[0] in _SUBORDINATE)):
        return None
    phrase = " ".join(words).rstrip(",")
    return phrase[0].upper() + phrase[1:], whole
