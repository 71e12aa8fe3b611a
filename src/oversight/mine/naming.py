"""Naming patterns: distinctive keywords (class-based TF-IDF) or an LLM contrasting neighbours.

The LLM namer follows Anthropic's Clio: it sees a sample of the pattern's members and a
few members of the nearest other patterns, and writes a name that says what sets this
pattern apart, a one-paragraph description and inclusion criteria. With no model, a pattern
is named in its notes' own words (``oversight.mine.plain_names``), keywords last.

No name says a word twice: keywords are counted note by note (a bigram never runs from one
note into the next, which gave "replaced replaced"), and a keyword repeating a word of one
ranked above it, or of the name it would tell apart, is skipped; a plural, possessive, -ing or
-ed form, or a word's short form ("info", "information"), counts as the word (``word_stem``).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from oversight.schemas import PatternName

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt

__all__ = [
    "FILLERS",
    "NAME_PROMPT",
    "class_keywords",
    "distinct_names",
    "distinct_words",
    "keyword_name",
    "name_with_llm",
    "nearest_patterns",
    "tell_apart",
    "theme_name",
    "word_stem",
]

NAME_PROMPT = "name_pattern"
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b"
_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Words that name no failure of their own ("like / things / feels", "It does not"): never a keyword.
FILLERS = frozenset({"does", "did", "doesn't", "didn't", "don't", "isn't", "wasn't", "aren't", "it's", "there's",
                     "that's", "really", "just", "thing", "things", "like", "feel", "feels", "way", "sort", "bit",
                     "pretty", "lot", "quite", "make", "makes", "get", "gets", "got", "i'm", "i've", "i'd",
                     "it'd", "you'd", "he's", "she's", "they're", "we're", "you're"})


def class_keywords(
    texts: Sequence[str], labels: np.ndarray, top: int = 6, *, exclude: frozenset[str] | set[str] = frozenset()
) -> dict[int, list[str]]:
    """The most distinctive words of each cluster (BERTopic's c-TF-IDF); noise (-1) only informs IDF.

    Words and bigrams are counted note by note (a bigram never runs from one note into the next:
    that gave "replaced replaced"), and a keyword never repeats a word of itself or of a keyword
    ranked above it ("character" keeps "characters" out); filler words ("like", "things") are stop
    words. Words in ``exclude`` (and phrases holding
    one) are never chosen: the miner passes the words only one subject's notes use, which say what
    a note is about, not what went wrong."""
    from scipy import sparse
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = sorted({int(label) for label in labels})
    named = [c for c in classes if c >= 0]
    if not any(text.strip() for text in texts):
        return {c: [] for c in named}
    vectorizer = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | FILLERS), token_pattern=_TOKEN,
                                 ngram_range=(1, 2), min_df=1)
    try:
        per_note = vectorizer.fit_transform(texts)
    except ValueError:  # only stop words
        return {c: [] for c in named}
    row_of = {c: row for row, c in enumerate(classes)}
    rows = np.array([row_of[int(label)] for label in labels])
    members = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(classes), len(rows)))
    counts = (members @ per_note).astype(np.float64).tocsr()
    tf = counts.multiply(1.0 / np.clip(counts.sum(axis=1), 1, None)).tocsr()
    words_per_class = counts.sum() / len(classes)
    idf = np.log(1.0 + words_per_class / np.clip(np.asarray(counts.sum(axis=0)).ravel(), 1, None))
    scores = tf.multiply(idf).toarray()
    vocab = vectorizer.get_feature_names_out()
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0:
            continue
        ranked = [vocab[j] for j in np.argsort(-scores[row], kind="stable")  # ties: alphabetical
                  if scores[row, j] > 0 and not (exclude and set(vocab[j].split()) & exclude)]
        out[c] = distinct_words(ranked)[:top]
    return out


def word_stem(word: str) -> str:
    """A word as names compare it: lower case, without a possessive, plural, -ing or -ed ending."""
    word = word.lower().replace("’", "'")
    for endings in (("'s", "s"), ("ing", "ed")):
        for ending in endings:
            if word.endswith(ending) and not word.endswith("ss") and len(word) - len(ending) >= 3:
                word = word[: -len(ending)]
                break
    return word


def _stems(phrase: str) -> list[str]:
    return [word_stem(w) for w in _WORDS.findall(phrase)]


def _same(stem: str, other: str) -> bool:
    """One word said twice: the same stem, or one a longer form of the other ("info", "information")."""
    return stem == other or (min(len(stem), len(other)) >= 4 and (stem.startswith(other) or other.startswith(stem)))


def _repeats(stems: Sequence[str], said: Iterable[str] = ()) -> bool:
    """Do ``stems`` say a word twice, or one already ``said``?"""
    seen = list(said)
    for stem in stems:
        if any(_same(stem, s) for s in seen):
            return True
        seen.append(stem)
    return False


def distinct_words(words: list[str]) -> list[str]:
    """Keep a keyword only when it says no word twice, neither within itself nor with one kept
    before it ("replaced replaced", "long passage" after "replaced long", "characters" after
    "character", "info" after "information"), so names do not stutter."""
    kept: list[str] = []
    said: list[str] = []
    for word in words:
        stems = _stems(word)
        if not stems or _repeats(stems, said):
            continue
        kept.append(word)
        said.extend(stems)
    return kept


NO_WORDS = "nothing shared but specifics"  # notes that share no word once names, numbers and quotes are masked


def keyword_name(keywords: list[str], size: int) -> PatternName:
    """A name, description and criterion built from keywords alone (no model); no word said twice."""
    keywords = distinct_words(keywords)
    if not keywords:
        return PatternName(name=NO_WORDS, criteria=[], description=f"{size} notes that share no word once names, "
                                                                   "numbers, quotes and subject words are masked.")
    name = " / ".join(keywords[:3])
    description = f"{size} failure notes whose most distinctive words are: {', '.join(keywords)}."
    return PatternName(name=name, description=description, criteria=[f"mentions {', '.join(keywords[:3])}"])


def theme_name(keywords: Sequence[Sequence[str]], lead: str | None = None, count: int = 3, *,
               own: str | None = None) -> str:
    """A theme's name: the name of its largest pattern (``lead``, given when that name is a phrase and
    the pattern holds half the theme's notes) with how many more it holds; else ``own`` (a phrase
    naming all its notes, when one fits); else its patterns' commonest keywords, no word said twice."""
    if lead is not None and len(keywords) > 1:
        return f"{lead} (+{len(keywords) - 1} more)"
    if own is not None:
        return own
    tally = Counter(w for words in keywords for w in words[:3])
    return " · ".join(distinct_words([w for w, _ in tally.most_common()])[:count])


def tell_apart(names: list[PatternName], keywords: list[list[str]]) -> list[PatternName]:
    """Names made distinct: a name shared by patterns gets, in each, two of its keywords not already
    in it ("Abrupt endings (pacing, time)"), or a number when none is left."""
    counts = Counter(n.name.lower() for n in names)
    out: list[PatternName] = []
    taken: set[str] = set()
    for named, words in zip(names, keywords, strict=True):
        name = named.name
        if counts[name.lower()] > 1:
            said = _stems(name)
            fresh = [w for w in distinct_words(words) if not _repeats(_stems(w), said)][:2]
            name = f"{name} ({', '.join(fresh)})" if fresh else name
        base, n = name, 1
        while name.lower() in taken:
            n += 1
            name = f"{base} ({n})"
        taken.add(name.lower())
        out.append(named if name == named.name else named.model_copy(update={"name": name}))
    return out


def sample_members(texts: Sequence[str], order: Iterable[int], limit: int, max_chars: int = 300) -> list[str]:
    """Up to ``limit`` distinct texts, in the given order (closest to the centre first), trimmed."""
    seen: set[str] = set()
    out: list[str] = []
    for index in order:
        text = re.sub(r"\s+", " ", texts[int(index)]).strip()
        if text in seen:
            continue
        seen.add(text)
        out.append(text if len(text) <= max_chars else text[: max_chars - 1] + "…")
        if len(out) >= limit:
            break
    return out


async def _name_one(
    llm: LLM, prompt: Prompt, members: list[str], contrasts: list[dict[str, Any]], keywords: list[str]
) -> PatternName | None:
    """The model's name, or None when its answer did not fit the schema even after repair."""
    from oversight.errors import StructuredOutputError

    messages = prompt.render(members=members, contrasts=contrasts, keywords=keywords)
    try:
        value, _ = await llm.structured(messages, PatternName, **prompt.params)
    except StructuredOutputError:  # one unusable answer should not sink the run: keywords name it
        return None
    return _tidy(value)


def _tidy(value: PatternName) -> PatternName:
    name = value.name.strip().strip('."').strip() or "unnamed pattern"
    return PatternName(
        name=name[:120],
        description=value.description.strip(),
        criteria=[c.strip() for c in value.criteria if c.strip()][:6],
    )


async def name_with_llm(
    llm: LLM,
    samples: list[list[str]],
    neighbours: list[list[int]],
    keywords: list[list[str]],
    *,
    prompt: Prompt,
    all_samples: list[list[str]] | None = None,
    all_keywords: list[list[str]] | None = None,
    contrast_members: int = 3,
) -> list[PatternName | None]:
    """Name each pattern from its sample, contrasted with its nearest patterns (``prompt``: name_pattern).

    ``neighbours`` index into ``all_samples``/``all_keywords`` (default: the lists given). A pattern
    whose answer never fit the schema gets None (the caller names it by keywords). Raises LLMError.
    """
    pool_samples = samples if all_samples is None else all_samples
    pool_keywords = keywords if all_keywords is None else all_keywords
    jobs = []
    for k, members in enumerate(samples):
        contrasts = [
            {"keywords": pool_keywords[j], "members": pool_samples[j][:contrast_members]} for j in neighbours[k]
        ]
        jobs.append(_name_one(llm, prompt, members, contrasts, keywords[k]))
    return list(await asyncio.gather(*jobs))


GENERIC_NAMES = frozenset({"a note", "note", "notes", "the end", "unnamed pattern", "pattern", "failure", "error",
                           "errors", "issue", "issues", "problem", "quality issues", "name", NO_WORDS})


def _says_something(name: str) -> bool:
    """At least two words with letters, and not a generic label."""
    words = [w for w in name.split() if any(ch.isalpha() for ch in w)]
    return len(words) >= 2 and name.strip().lower() not in GENERIC_NAMES


def distinct_names(
    names: list[PatternName | None], keywords: list[list[str]], *, subject_words: frozenset[str] | set[str] = frozenset()
) -> list[PatternName | None]:
    """Names a lead can tell apart: generic ones dropped (None), repeated ones told apart (``tell_apart``).

    A name holding one of ``subject_words`` (words only one subject's notes use) names what the
    notes are about, not what went wrong: it is dropped too, and keywords name the pattern.
    """
    usable = [n if n is not None and _says_something(n.name) and not _names_subject(n.name, subject_words) else None
              for n in names]
    told = iter(tell_apart([n for n in usable if n is not None],
                           [words for n, words in zip(usable, keywords, strict=True) if n is not None]))
    return [next(told) if n is not None else None for n in usable]


def _names_subject(name: str, subject_words: frozenset[str] | set[str]) -> bool:
    return bool(subject_words) and any(w.lower() in subject_words for w in re.findall(r"[A-Za-z][A-Za-z'-]+", name))


def nearest_patterns(centroids: np.ndarray, count: int = 2) -> list[list[int]]:
    """For each pattern, the indices of the ``count`` most similar other patterns."""
    if len(centroids) < 2:
        return [[] for _ in range(len(centroids))]
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -np.inf)
    return [list(np.argsort(-row)[:count]) for row in similarity]
