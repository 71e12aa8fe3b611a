"""What a note looks like to the clustering: its failure, with its subject taken out.

Notes about the same task share its topic ("the anthem", "the helicopter contract"), and an
embedding of the raw text groups them by that topic, not by what went wrong. Measured on three
real sets (bench/bench_mine_quality.py: AMI with the human failure category against AMI with the
item each note is about), three steps move the patterns from the subject to the failure:

1. **Masking** (``mask_notes``): quoted spans become ``"…"``, numbers ``N``, and the subject's
   own words ``X``: proper names inside a sentence; words of the note's task or draft (when the
   store has them) that are not common to many tasks; and, with ten or more subjects, words
   found in the notes of only a few subjects (at most 3, or 5% of them). Masked texts are what
   gets embedded and what keyword names are drawn from, so a name cannot be a subject word.
2. **Centring within the subject** (``centre_by_subject``): each note's vector minus the mean
   of its subject's notes, shrunk by n / (n + 2) (a subject with two notes loses two thirds
   of its mean, one with twenty nearly all of it), then re-normalised. Notes with no subject,
   or alone in theirs, keep their vector.

3. **The failure's own words** (``lexical_vectors``): TF-IDF of the masked notes over words
   found in three or more notes, reduced to 64 dimensions, centred the same way, and set beside
   the embedding at 1.5 times its weight (``combine``). A sentence embedding blurs the few words that
   name a failure ("tense", "opinion", "does not mention"); these keep them.

On TTCW (1,254 expert explanations, 48 stories) the three lift AMI with the craft category from
0.26 to 0.48 and drop AMI with the story from 0.23 to -0.02 (ARI 0.14 to 0.40); the figures for
every set are in the bench's output and the issue notes.

4. **An edit carries the edit** (``edit_shapes``, ``removed_words_vectors``, ``added_words_vectors``,
   ``transformation_vectors``). An edit note's text is a phrase about its shape ("Replaced a
   phrase in the middle: …") whose quotes masking takes out, and an embedding of a phrase blurs
   what kind of edit it was. So each edit note also carries its shape as numbers (log words
   removed, log words added, their difference, a pure cut, a pure addition; standardised over
   the run's edit notes), the words the trainer cut and the words put in (TF-IDF of each side,
   words and word pairs in three or more edits, LSA; a side left empty stays zeros): for an edit,
   the removed words are the failure ("a testament to", "tapestry"), not the topic; and what the
   edit did, embedding(after) - embedding(before) of its spans. Notes that are not edits have
   zeros there. On professional writers' edits of LLM prose (LLM_edited_oracle, 8 categories:
   Cliche, Purple Prose, ...) the shape alone separates the categories better than any embedding
   of the edit's words (k-means told k: AMI 0.26 against 0.15 for the words added). Weights are
   chosen leave-one-set-out over five sets (bench/): the words put in and the transformation help
   no set (weight 0.5 against 0, paired over the other knobs: -0.005 to +0.003 per set on
   average, within the spread of 0.003-0.011; at the defaults they lower FineGrainedRLHF), so
   their default weight is 0 and they cost nothing unless asked for (``RepresentParams``).
"""

from __future__ import annotations

import asyncio
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from oversight.mine.vectors import note_vectors
from oversight.schemas import FailureNote

if TYPE_CHECKING:
    from oversight.embed import Embedder
    from oversight.mine.abstract import NoteAbstractor
    from oversight.store import Store

__all__ = [
    "SHRINK",
    "Representation",
    "RepresentParams",
    "added_words_vectors",
    "centre_by_subject",
    "combine",
    "edit_shapes",
    "lexical_vectors",
    "mask_notes",
    "mask_text",
    "removed_words_vectors",
    "represent_notes",
    "single_subject_words",
    "subject_word_limit",
    "transformation_vectors",
]

SHRINK = 2.0
MIN_SUBJECTS = 10  # below this, "found with few subjects" says nothing: every word is
COMMON_TASK_SHARE = 0.2  # a word in more task texts than this is the project's vocabulary, not a subject

_QUOTE = re.compile(r'"[^"\n]{1,400}"|“[^”\n]{1,400}”|(?<![A-Za-z])\'[^\'\n]{2,400}\'(?![A-Za-z])')
_NUMBER = re.compile(r"\b\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|s|%)?\b")
# A capitalised word (or run of them) after a lower-case word: a name, not a sentence start.
_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][\w'’-]+(?:(?: (?:of|de|the))* [A-Z][\w'’-]+)*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _lower_words(text: str) -> set[str]:
    """The words of a text, lower-cased, without English stop words (never a subject's own)."""
    stop = _stop_words()
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in stop}


def subject_word_limit(subjects: int) -> int:
    """A word found in the notes of at most this many subjects is about them (0: too few subjects to tell)."""
    if subjects < MIN_SUBJECTS:
        return 0
    return max(3, math.ceil(0.05 * subjects))


def _few_subject_words(texts: Sequence[str], subjects: Sequence[str | None]) -> set[str]:
    where: dict[str, set[str]] = defaultdict(set)
    for text, subject in zip(texts, subjects, strict=True):
        if subject is None:
            continue
        for word in _lower_words(text):
            where[word].add(subject)
    limit = subject_word_limit(len({s for s in subjects if s is not None}))
    return {w for w, found in where.items() if len(found) <= limit} if limit else set()


def single_subject_words(texts: Sequence[str], subjects: Sequence[str | None]) -> set[str]:
    """Words found in the notes of exactly one subject (and of no note without one)."""
    where: dict[str, set[str | None]] = defaultdict(set)
    for text, subject in zip(texts, subjects, strict=True):
        for word in _lower_words(text):
            where[word].add(subject)
    return {w for w, found in where.items() if len(found) == 1 and None not in found}


def _own_words(source_texts: Mapping[str, str]) -> dict[str, set[str]]:
    """Per subject, the words of its task and draft that are not common to many subjects."""
    words = {subject: _lower_words(text) for subject, text in source_texts.items()}
    if not words:
        return {}
    counts: dict[str, int] = defaultdict(int)
    for found in words.values():
        for word in found:
            counts[word] += 1
    common = {w for w, n in counts.items() if n > max(1, COMMON_TASK_SHARE * len(words))}
    return {subject: found - common for subject, found in words.items()}


def mask_text(text: str, subject_words: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The text with quotes, numbers, names and the given subject words masked."""
    text = _QUOTE.sub('"…"', text)
    text = _NUMBER.sub("N", text)
    text = _NAME.sub("X", text)
    if subject_words:
        text = _WORD.sub(lambda m: "X" if m.group(0).lower() in subject_words else m.group(0), text)
    return text


def mask_notes(notes: Sequence[FailureNote], source_texts: Mapping[str, str] | None = None) -> list[str]:
    """The text of each note as the clustering and the keyword names see it (see the module doc).

    ``source_texts`` maps a subject (a task id) to the text of its task and draft, when known.
    """
    texts = [n.text for n in notes]
    subjects = [n.subject for n in notes]
    few = _few_subject_words(texts, subjects)
    own = _own_words(source_texts or {})
    return [mask_text(text, few | own.get(subject or "", set())) for text, subject in zip(texts, subjects, strict=True)]


LEXICAL_DIMS = 64
LEXICAL_WEIGHT = 1.5  # TofuEval 0.117 -> 0.123 with the category, 0.146 -> 0.115 with the document (at 0.95)
LEXICAL_MIN_NOTES = 3  # a word in fewer notes than this says nothing about a recurring failure


def lexical_vectors(texts: Sequence[str], subjects: Sequence[str | None]) -> np.ndarray | None:
    """The words the masked notes share, as unit vectors: TF-IDF over words in three or more notes,
    reduced to at most 64 dimensions (LSA, seeded), centred within each subject like the embeddings.

    The embedding carries what a note means; these carry the failure's own vocabulary ("tense",
    "opinion", "not mention"), which a sentence embedding of a masked note blurs. None when the
    notes share too few words."""
    reduced = _lsa_units(texts, stop_words="english")
    return None if reduced is None else centre_by_subject(reduced, subjects)


def _lsa_units(texts: Sequence[str], **tfidf: Any) -> np.ndarray | None:
    """``texts`` as TF-IDF over words in ``LEXICAL_MIN_NOTES`` or more of them (``tfidf``: more
    vectorizer options), reduced by LSA (seeded) to at most ``LEXICAL_DIMS`` dimensions, as unit rows.
    None with fewer than four distinct texts, no word that common, or fewer than two dimensions."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(set(texts)) < 4:  # four texts saying the same thing have no shared vocabulary to weigh
        return None
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=LEXICAL_MIN_NOTES,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b", **tfidf)
    try:  # fitted on distinct texts: a note said ten times does not make its words common
        vectorizer.fit(list(dict.fromkeys(texts)))
        counts = vectorizer.transform(texts)
    except ValueError:  # no word in enough texts
        return None
    dims = min(LEXICAL_DIMS, counts.shape[1] - 1, len(texts) - 1)
    if dims < 2:
        return None
    with warnings.catch_warnings():  # a column of zero variance makes the explained-variance ratio 0/0: unused
        warnings.simplefilter("ignore", RuntimeWarning)
        reduced = TruncatedSVD(dims, random_state=0).fit_transform(counts).astype(np.float32)
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return np.where(norms > 1e-9, reduced / np.clip(norms, 1e-12, None), 0.0).astype(np.float32)


def combine(embedded: np.ndarray, lexical: np.ndarray | None, weight: float = LEXICAL_WEIGHT,
            *extra: tuple[np.ndarray | None, float]) -> np.ndarray:
    """The embedding and the lexical vector (times ``weight``) side by side, and any ``extra`` (block,
    weight) pairs after them, as one unit vector."""
    blocks = [embedded, *([weight * lexical] if lexical is not None else [])]
    blocks += [w * block for block, w in extra if block is not None and w]
    if len(blocks) == 1:
        return embedded
    both = np.hstack(blocks)
    return (both / np.clip(np.linalg.norm(both, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


EDIT_SHAPE_WEIGHT = 2.0
REMOVED_WORDS_WEIGHT = 0.5
# Measured leave-one-set-out (bench_mine_quality.py): no held-out set gained from either, so off.
ADDED_WORDS_WEIGHT = 0.0
TRANSFORMATION_WEIGHT = 0.0


class RepresentParams(NamedTuple):
    """The weights of the blocks the clustering sees (measured defaults): the lexical vector beside the
    embedding, then the edit's shape, removed words, added words and transformation beside that (unit)
    text vector. A block of weight 0 is not computed."""

    lexical_weight: float = LEXICAL_WEIGHT
    edit_shape_weight: float = EDIT_SHAPE_WEIGHT
    removed_words_weight: float = REMOVED_WORDS_WEIGHT
    added_words_weight: float = ADDED_WORDS_WEIGHT
    transformation_weight: float = TRANSFORMATION_WEIGHT


def _edit(note: FailureNote) -> dict[str, str] | None:
    edit = note.metadata.get("edit") if note.metadata else None
    return edit if isinstance(edit, dict) and isinstance(edit.get("before"), str) else None


def edit_shapes(notes: Sequence[FailureNote]) -> np.ndarray | None:
    """Each edit note's shape as five numbers, standardised over the edit notes and scaled to unit
    expected length: log(1 + words removed), log(1 + words added), their difference, a pure cut, a
    pure addition. Zeros for notes that are not edits; None when fewer than two notes are edits."""
    rows = np.zeros((len(notes), 5), dtype=np.float64)
    edits = np.zeros(len(notes), dtype=bool)
    for i, note in enumerate(notes):
        edit = _edit(note)
        if edit is None:
            continue
        removed, added = len(edit.get("before", "").split()), len(str(edit.get("after", "")).split())
        rows[i] = [math.log1p(removed), math.log1p(added), math.log1p(added) - math.log1p(removed),
                   removed == 0, added == 0]
        edits[i] = True
    if edits.sum() < 2:
        return None
    mean, spread = rows[edits].mean(axis=0), rows[edits].std(axis=0)
    rows[edits] = (rows[edits] - mean) / np.where(spread > 1e-9, spread, 1.0)
    return (rows / math.sqrt(rows.shape[1])).astype(np.float32)


def _edit_words_vectors(notes: Sequence[FailureNote], side: str) -> np.ndarray | None:
    """TF-IDF of one side of each edit (``before``: the words cut, ``after``: the words put in; words
    and word pairs found in three or more edits), LSA to at most 64 dimensions (seeded), unit rows
    centred within each subject. Zeros for other notes and for an empty side; None when the edits
    share too few words."""
    rows = [i for i, note in enumerate(notes) if _edit(note) is not None]
    texts = [str(_edit(notes[i]).get(side) or "") for i in rows]  # type: ignore[union-attr]
    reduced = _lsa_units(texts, ngram_range=(1, 2))  # an empty side has no word: a zero row
    if reduced is None:
        return None
    out = np.zeros((len(notes), reduced.shape[1]), dtype=np.float32)
    out[rows] = _centre_keeping_zeros(reduced, [notes[i].subject for i in rows])
    return out


def removed_words_vectors(notes: Sequence[FailureNote]) -> np.ndarray | None:
    """The words each edit cut, as unit vectors (``_edit_words_vectors`` of the ``before`` side): for an
    edit the removed words are the failure ("a testament to", "tapestry"), not the topic."""
    return _edit_words_vectors(notes, "before")


def added_words_vectors(notes: Sequence[FailureNote]) -> np.ndarray | None:
    """The words each edit put in, as unit vectors (``_edit_words_vectors`` of the ``after`` side): a plain
    phrase for a cliche, a concrete detail for a vague noun. Zeros for a pure cut."""
    return _edit_words_vectors(notes, "after")


async def transformation_vectors(store: Store, notes: Sequence[FailureNote], embedder: Embedder) -> np.ndarray | None:
    """What each edit did, as a direction: embedding(after) - embedding(before) of its spans (an empty
    side counts as the origin, so a pure cut points away from what it cut), unit rows centred within
    each subject. Each span is embedded once (the store's cache). Zeros for other notes; None when
    fewer than two notes are edits."""
    rows = [i for i, note in enumerate(notes) if _edit(note) is not None]
    if len(rows) < 2:
        return None
    sides = [(str(_edit(notes[i]).get("before") or "").strip(), str(_edit(notes[i]).get("after") or "").strip())
             for i in rows]  # type: ignore[union-attr]
    spans = sorted({t for pair in sides for t in pair if t})
    if not spans:
        return None
    embedded = await note_vectors(store, spans, embedder)
    at = {t: k for k, t in enumerate(spans)}
    zero = np.zeros(embedded.shape[1], dtype=np.float32)
    diff = np.vstack([(embedded[at[a]] if a else zero) - (embedded[at[b]] if b else zero) for b, a in sides])
    norms = np.linalg.norm(diff, axis=1, keepdims=True)
    diff = np.where(norms > 1e-6, diff / np.clip(norms, 1e-12, None), 0.0).astype(np.float32)
    out = np.zeros((len(notes), diff.shape[1]), dtype=np.float32)
    out[rows] = _centre_keeping_zeros(diff, [notes[i].subject for i in rows])
    return out


def _centre_keeping_zeros(vectors: np.ndarray, subjects: Sequence[str | None]) -> np.ndarray:
    """``centre_by_subject`` of the non-zero rows (an edit with nothing on a side keeps its zeros)."""
    out = np.zeros_like(vectors, dtype=np.float32)
    kept = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 1e-9)
    if len(kept):
        out[kept] = centre_by_subject(vectors[kept], [subjects[i] for i in kept])
    return out


def centre_by_subject(vectors: np.ndarray, subjects: Sequence[str | None], shrink: float = SHRINK) -> np.ndarray:
    """Each row minus n/(n+shrink) of its subject's mean, re-normalised (see the module doc)."""
    if len(subjects) != len(vectors):
        raise ValueError(f"{len(subjects)} subjects for {len(vectors)} vectors")
    out = np.array(vectors, dtype=np.float32, copy=True)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, subject in enumerate(subjects):
        if subject is not None:
            groups[subject].append(i)
    for rows in groups.values():
        distinct = np.unique(vectors[rows], axis=0)  # a note said ten times is one note about its subject
        n = len(distinct)
        if n < 2:
            continue
        out[rows] = vectors[rows] - (n / (n + shrink)) * distinct.mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    # A note equal to its subject's mean has no direction left: keep its own.
    out = np.where(norms > 1e-6, out, vectors)
    return (out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


# -- the whole step, as the miner and the mine graph run it ---------------------------------


class Representation(NamedTuple):
    """What the clustering sees of each note: the masked text and the centred vector."""

    texts: list[str]
    vectors: np.ndarray


def _source_texts(store: Store, notes: list[FailureNote]) -> dict[str, str]:
    """Per task the notes are about, the text of the task and of its drafts (blocking reads)."""
    task_ids = {n.task_id for n in notes if n.task_id}
    if not task_ids:
        return {}
    out = {t.id: " ".join(x for x in (t.prompt, t.input, t.context) if x) for t in store.tasks(task_ids)}
    drafts = store.drafts({n.draft_id for n in notes if n.draft_id})
    for draft in drafts.values():
        if draft.task_id in out:
            out[draft.task_id] += " " + draft.text
    return out


async def represent_notes(
    store: Store, notes: list[FailureNote], embedder: Embedder, *, abstract: NoteAbstractor | None = None,
    params: RepresentParams | None = None,
) -> Representation:
    """Mask each note's subject out of its text, embed (cached per text), centre within each subject.

    With ``abstract``, a model first restates each note as a topic-free failure (Clio-style; each
    answer kept in the store, so a re-run pays nothing twice) and the restatement is what is masked
    and embedded. Raises LLMError."""
    if abstract is not None:
        if abstract.cache is None:
            abstract = replace(abstract, cache=store)
        statements = await abstract([n.text for n in notes])
        notes = [n.model_copy(update={"text": s}) for n, s in zip(notes, statements, strict=True)]
    sources = await asyncio.to_thread(_source_texts, store, notes)
    texts = await asyncio.to_thread(mask_notes, notes, sources)
    vectors = await note_vectors(store, texts, embedder)
    subjects = [n.subject for n in notes]
    lexical = await asyncio.to_thread(lexical_vectors, texts, subjects)
    params = params or RepresentParams()
    shapes = edit_shapes(notes) if params.edit_shape_weight else None
    removed = await asyncio.to_thread(removed_words_vectors, notes) if params.removed_words_weight else None
    added = await asyncio.to_thread(added_words_vectors, notes) if params.added_words_weight else None
    moved = await transformation_vectors(store, notes, embedder) if params.transformation_weight else None
    text = combine(centre_by_subject(vectors, subjects), lexical, params.lexical_weight)  # a unit vector
    return Representation(texts, combine(text, None, 0.0, (shapes, params.edit_shape_weight),
                                         (removed, params.removed_words_weight), (added, params.added_words_weight),
                                         (moved, params.transformation_weight)))
