"""Naming patterns: distinctive keywords (class-based TF-IDF) or an LLM contrasting neighbours.

The LLM namer follows Anthropic's Clio: it sees a sample of the pattern's members and a
few members of the nearest other patterns, and writes a name that says what sets this
pattern apart, a one-paragraph description and inclusion criteria.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from oversight.schemas import PatternName

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.prompts import Prompt

__all__ = ["NAME_PROMPT", "class_keywords", "distinct_names", "keyword_name", "name_with_llm", "nearest_patterns"]

NAME_PROMPT = "name_pattern"
_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b"


def class_keywords(
    texts: Sequence[str], labels: np.ndarray, top: int = 6, *, exclude: frozenset[str] | set[str] = frozenset()
) -> dict[int, list[str]]:
    """The most distinctive words of each cluster (BERTopic's c-TF-IDF); noise (-1) only informs IDF.

    Words in ``exclude`` (and phrases holding one) are never chosen: the miner passes the words
    only one subject's notes use, which say what a note is about, not what went wrong."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted({int(label) for label in labels})
    docs = [" ".join(texts[int(i)] for i in np.flatnonzero(labels == c)) for c in classes]
    if not any(doc.strip() for doc in docs):
        return {c: [] for c in classes if c >= 0}
    vectorizer = CountVectorizer(stop_words="english", token_pattern=_TOKEN, ngram_range=(1, 2), min_df=1)
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64)
    except ValueError:  # only stop words
        return {c: [] for c in classes if c >= 0}
    tf = counts.multiply(1.0 / np.clip(counts.sum(axis=1), 1, None)).tocsr()
    words_per_class = counts.sum() / len(classes)
    idf = np.log(1.0 + words_per_class / np.clip(np.asarray(counts.sum(axis=0)).ravel(), 1, None))
    scores = tf.multiply(idf).toarray()
    vocab = vectorizer.get_feature_names_out()
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0:
            continue
        ranked = [vocab[j] for j in np.argsort(-scores[row])
                  if scores[row, j] > 0 and not (exclude and set(vocab[j].split()) & exclude)]
        out[c] = _drop_overlaps(ranked)[:top]
    return out


def _drop_overlaps(words: list[str]) -> list[str]:
    """Keep a bigram or its words, not both, so names do not stutter."""
    kept: list[str] = []
    for word in words:
        parts = set(word.split())
        if any(parts <= set(k.split()) or set(k.split()) <= parts for k in kept):
            continue
        kept.append(word)
    return kept


def keyword_name(keywords: list[str], size: int) -> PatternName:
    """A name, description and criterion built from keywords alone (no model)."""
    if not keywords:
        return PatternName(name="unnamed pattern", description=f"{size} notes with no distinctive words.", criteria=[])
    name = " / ".join(keywords[:3])
    description = f"{size} failure notes whose most distinctive words are: {', '.join(keywords)}."
    return PatternName(name=name, description=description, criteria=[f"mentions {', '.join(keywords[:3])}"])


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
                           "errors", "issue", "issues", "problem", "quality issues", "name"})


def _says_something(name: str) -> bool:
    """At least two words with letters, and not a generic label."""
    words = [w for w in name.split() if any(ch.isalpha() for ch in w)]
    return len(words) >= 2 and name.strip().lower() not in GENERIC_NAMES


def distinct_names(
    names: list[PatternName | None], keywords: list[list[str]], *, subject_words: frozenset[str] | set[str] = frozenset()
) -> list[PatternName | None]:
    """Names a lead can tell apart: generic ones dropped (None), repeated ones told apart by keywords.

    A name holding one of ``subject_words`` (words only one subject's notes use) names what the
    notes are about, not what went wrong: it is dropped too, and keywords name the pattern.
    """
    usable = [n if n is not None and _says_something(n.name) and not _names_subject(n.name, subject_words) else None
              for n in names]
    counts: dict[str, int] = {}
    for named in usable:
        if named is not None:
            counts[named.name.lower()] = counts.get(named.name.lower(), 0) + 1
    out: list[PatternName | None] = []
    for named, words in zip(usable, keywords, strict=True):
        if named is not None and counts[named.name.lower()] > 1:
            suffix = f" ({', '.join(words[:2])})" if words else ""
            named = named.model_copy(update={"name": named.name + suffix}) if suffix else None
        out.append(named)
    return out


def _names_subject(name: str, subject_words: frozenset[str] | set[str]) -> bool:
    return bool(subject_words) and any(w.lower() in subject_words for w in re.findall(r"[A-Za-z][A-Za-z'-]+", name))


def nearest_patterns(centroids: np.ndarray, count: int = 2) -> list[list[int]]:
    """For each pattern, the indices of the ``count`` most similar other patterns."""
    if len(centroids) < 2:
        return [[] for _ in range(len(centroids))]
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, -np.inf)
    return [list(np.argsort(-row)[:count]) for row in similarity]
