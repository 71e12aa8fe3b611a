"""Per-pattern statistics: size, prevalence, slices, severity, first/last seen, trend, representatives.

Prevalence counts refinements (``unit_of``): a refinement whose tag, rationale sentences and edits
land in one pattern counts once there. One failure said twice by the same refinement, a tag
("ignores-one-word-instruction") and a rationale sentence restating it ("Asked for one word; the
draft answered with a sentence."), would still count in two patterns when the clustering puts
the two apart (the demo's "ignores word / instruction" and "answered / asked / word draft"):
``join_restatements`` puts each tag and the statements restating it (``restatements``) in one
pattern before anything is counted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from oversight.mine.cluster import Clustering, centroid
from oversight.schemas import (
    SLICE_FIELDS,
    FailureNote,
    PatternStats,
    Representative,
    TrendPoint,
)

__all__ = ["choose_granularity", "join_restatements", "pattern_stats", "period_of", "restatements", "unit_of"]


def unit_of(note: FailureNote) -> str:
    """What prevalence counts: the refinement a note came from, or the imported row itself."""
    return note.refinement_id or note.id


_QUOTED = re.compile(r'"[^"\n]*"|“[^”\n]*”')
_TOKEN = re.compile(r"[^\W_]+")
# Words that say nothing of a failure (words of one or two letters never count); "one" stays: "one word".
_STOP = frozenset(["and", "but", "for", "with", "are", "was", "were", "been", "its", "this", "that", "from", "than",
                   "then", "there", "their", "they", "she", "his", "her", "you", "the", "not"])


def _said(text: str) -> set[str]:
    return {w for w in _TOKEN.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def _alike(word: str, other: str) -> bool:
    """The same word, or one a longer form of the other ("info", "information"; "word", "words")."""
    return word == other or (min(len(word), len(other)) >= 4 and (word.startswith(other) or other.startswith(word)))


def restatements(notes: Sequence[FailureNote]) -> dict[int, int]:
    """Which statement restates a tag of its own refinement: {statement's index: tag's index}.

    A rationale sentence or confirmed finding restates a tag of the same refinement when it holds
    all the tag's words, or two of them ("Asked for one word; ..." restates "ignores one word
    instruction"); quoted text is the draft's words, not the statement, and is left out. Of
    several such tags, the one whose words it holds most."""
    tags: dict[str, list[tuple[int, set[str]]]] = defaultdict(list)
    for i, note in enumerate(notes):
        if note.source == "tag" and note.refinement_id and _said(note.text):
            tags[note.refinement_id].append((i, _said(note.text)))
    out: dict[int, int] = {}
    for i, note in enumerate(notes):
        if note.source not in ("rationale", "finding") or note.refinement_id not in tags:
            continue
        said = _said(_QUOTED.sub(" ", note.text))
        best: tuple[tuple[float, int], int] | None = None
        for tag, words in tags[note.refinement_id]:
            shared = sum(any(_alike(w, s) for s in said) for w in words)
            if shared and (shared == len(words) or shared >= 2) and (best is None or (shared / len(words), shared) > best[0]):
                best = ((shared / len(words), shared), tag)
        if best is not None:
            out[i] = best[1]
    return out


def join_restatements(clustering: Clustering, notes: Sequence[FailureNote], vectors: np.ndarray) -> Clustering:
    """The clustering with each tag and the statements restating it (``restatements``) in one pattern.

    They join the tag's pattern, or, when the tag is noise, the pattern most of its statements are
    in. A pattern left smaller than the run's smallest (``min_size``) by the notes that moved out
    becomes noise; an emptied one is gone. Patterns that changed get their centroid again; the
    others keep theirs and their theme. ``params["restatements_joined"]``: how many notes moved."""
    labels = clustering.labels.copy()
    said: dict[int, list[int]] = defaultdict(list)
    for statement, tag in restatements(notes).items():
        said[tag].append(statement)
    moved = 0
    for tag, statements in said.items():
        target = int(labels[tag])
        if target < 0:
            placed = Counter(int(labels[s]) for s in statements if labels[s] >= 0)
            target = min(placed, key=lambda c: (-placed[c], c)) if placed else -1
        for i in (tag, *statements):
            if target >= 0 and labels[i] != target:
                labels[i], moved = target, moved + 1
    params = {**clustering.params, "restatements_joined": moved}
    if not moved:
        return clustering._replace(params=params)
    k = len(clustering.centroids)
    before = np.bincount(clustering.labels[clustering.labels >= 0], minlength=k)
    after = np.bincount(labels[labels >= 0], minlength=k)
    smallest = int(clustering.params.get("min_size") or 1)
    labels[np.isin(labels, np.flatnonzero((after < before) & (after < smallest)))] = -1
    kept = [c for c in range(k) if np.any(labels == c)]
    index = {c: j for j, c in enumerate(kept)}
    relabelled = np.array([index.get(int(label), -1) for label in labels], dtype=np.int64)
    moved_now = labels != clustering.labels
    changed = {int(c) for c in np.concatenate([labels[moved_now], clustering.labels[moved_now]]) if c >= 0}
    width = vectors.shape[1] if vectors.ndim == 2 else clustering.centroids.shape[1]
    centroids = np.array([centroid(vectors[labels == c]) if c in changed else clustering.centroids[c] for c in kept],
                         dtype=np.float32).reshape(len(kept), width)
    first: dict[int, int] = {}
    themes = np.array([first.setdefault(int(clustering.themes[c]), len(first)) for c in kept], dtype=np.int64)
    return Clustering(relabelled, centroids, themes, params)


def choose_granularity(times: Sequence[datetime]) -> str:
    """day, week or month, so that a trend has a handful to a few dozen points."""
    if not times:
        return "day"
    span = (max(times) - min(times)).days
    if span <= 31:
        return "day"
    if span <= 366:
        return "week"
    return "month"


def period_of(moment: datetime, granularity: str) -> str:
    """The label of the period a moment falls in (2026-11-26, 2026-W48 or 2026-11)."""
    if granularity == "month":
        return moment.strftime("%Y-%m")
    if granularity == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m-%d")


def pattern_stats(
    notes: Sequence[FailureNote],
    members: np.ndarray,
    embeddings: np.ndarray,
    centre: np.ndarray,
    *,
    total_units: int,
    period_totals: dict[str, int],
    granularity: str,
    slice_fields: Sequence[str] = SLICE_FIELDS,
    representatives: int = 5,
) -> PatternStats:
    """The statistics of one pattern, given the indices of its member notes."""
    chosen = [notes[i] for i in members]
    units = {unit_of(n) for n in chosen}
    slices = {field: dict(Counter(n.slice_value(field) for n in chosen).most_common()) for field in slice_fields}
    times = [n.created_at for n in chosen]
    per_period = Counter(period_of(t, granularity) for t in times)
    trend = [
        TrendPoint(period=p, count=per_period.get(p, 0), share=round(per_period.get(p, 0) / total, 4))
        for p, total in sorted(period_totals.items())
        if total
    ]
    return PatternStats(
        size=len(chosen),
        refinements=len(units),
        prevalence=round(len(units) / total_units, 4) if total_units else 0.0,
        slices=slices,
        sources=dict(Counter(n.source for n in chosen).most_common()),
        severity=dict(Counter(n.severity or "unrated" for n in chosen).most_common()),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        trend=trend,
        representatives=_representatives(chosen, embeddings[members], centre, representatives),
    )


def _representatives(
    chosen: list[FailureNote], vectors: np.ndarray, centre: np.ndarray, limit: int
) -> list[Representative]:
    similarity = vectors @ centre
    out: list[Representative] = []
    seen: set[str] = set()
    for index in np.argsort(-similarity, kind="stable"):
        note = chosen[int(index)]
        if note.text in seen:
            continue
        seen.add(note.text)
        out.append(
            Representative(
                note_id=note.id,
                display_id=note.display_id,
                text=note.text,
                similarity=round(float(similarity[index]), 4),
                task_id=note.task_id,
                draft_id=note.draft_id,
                refinement_id=note.refinement_id,
            )
        )
        if len(out) >= limit:
            break
    return out
