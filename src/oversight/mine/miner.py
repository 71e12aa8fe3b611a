"""The mining run, step by step: collect notes, represent, cluster, name, count, record.

``represent_notes`` is where a note stops being about its subject: the texts are masked and the
vectors centred within each subject (``oversight.mine.represent``), so patterns follow failures.

Each step is a plain function, so a researcher can script any of them and the LangGraph
graph (``oversight.pipelines.mine``) only wires them. ``mine()`` runs them all. Steps that
may call a model are async; clustering is CPU work and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from oversight._aio import gather_or_cancel
from oversight.mine.cluster import Clustering, ClusterParams, cluster_embeddings
from oversight.mine.identity import Previous, match_patterns
from oversight.mine.lock import holding_mine_lock
from oversight.mine.naming import (
    NAME_PROMPT,
    class_keywords,
    distinct_names,
    name_with_llm,
    nearest_patterns,
    sample_members,
)
from oversight.mine.notes import EditExplainer, LLMEditExplainer, notes_from_refinement
from oversight.mine.plain_names import plain_names
from oversight.mine.represent import RepresentParams, represent_notes, single_subject_words
from oversight.mine.stats import choose_granularity, join_restatements, pattern_stats, period_of, unit_of
from oversight.mine.themes import build_themes, theme_phrases
from oversight.prompts import load_prompt
from oversight.schemas import (
    SLICE_FIELDS,
    Critique,
    Draft,
    FailureNote,
    MiningResult,
    MiningRun,
    NamesMode,
    Pattern,
    PatternName,
    Refinement,
    Task,
    new_id,
    utcnow,
)

if TYPE_CHECKING:
    from oversight.embed import Embedder
    from oversight.llm import LLM
    from oversight.mine.abstract import NoteAbstractor
    from oversight.prompts import Prompt
    from oversight.store import Store

__all__ = [
    "MiningResult",
    "Progress",
    "cluster_representation",
    "collect_failure_notes",
    "current",
    "finish_run",
    "mine",
    "run_themes",
]

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


async def collect_failure_notes(store: Store, *, explain_edits: EditExplainer | None = None) -> int:
    """Turn every refinement that has no notes yet into notes; return how many were added.

    Only ``explain_edits`` calls a model. An ``LLMEditExplainer`` keeps each answer in the
    store as it arrives, so a run that is interrupted (an error, a kill) and run again pays
    only for the answers it never got. Raises LLMError.
    """
    fresh, tasks, drafts, critiques = await asyncio.to_thread(_unnoted, store)
    if not fresh:
        return 0
    if isinstance(explain_edits, LLMEditExplainer) and explain_edits.cache is None:
        explain_edits = explain_edits.with_cache(store)
    per_refinement = await gather_or_cancel([
        notes_from_refinement(
            refinement,
            task=tasks.get(refinement.task_id),
            draft=drafts.get(refinement.draft_id),
            critique=critiques.get(refinement.critique_id or ""),
            explain_edits=explain_edits,
        )
        for refinement in fresh
    ])
    added, _ = await asyncio.to_thread(store.save_notes, [note for notes in per_refinement for note in notes])
    return added


def _unnoted(store: Store) -> tuple[list[Refinement], dict[str, Task], dict[str, Draft], dict[str, Critique]]:
    """Refinements with no notes yet, with their tasks, drafts and critiques (blocking reads)."""
    done = store.refinements_with_notes()
    fresh = [r for r in store.refinements() if r.id not in done]
    if not fresh:
        return [], {}, {}, {}
    tasks = {task.id: task for task in store.tasks({r.task_id for r in fresh})}
    drafts = store.drafts({r.draft_id for r in fresh})
    critiques = store.critiques({r.critique_id for r in fresh if r.critique_id})
    return fresh, tasks, drafts, critiques


def run_themes(run: MiningRun) -> list[dict[str, Any]]:
    """The themes a run recorded."""
    return list(run.params.get("themes", []))


def current(store: Store) -> MiningResult | None:
    """The last run's result as stored (patterns largest first), or None before any run."""
    run = store.latest_run()
    if run is None:
        return None
    notes = {n.id: n for n in store.notes()} if run.noise_ids else {}
    return MiningResult(
        run=run, patterns=store.patterns(), themes=run_themes(run),
        noise=[notes[i] for i in run.noise_ids if i in notes],
    )


# -- the run -----------------------------------------------------------------------------


async def mine(
    store: Store,
    *,
    names: NamesMode,
    llm: LLM | None = None,
    embedder: Embedder,
    params: ClusterParams | None = None,
    explain_edits: EditExplainer | None = None,
    name_prompt: Prompt | None = None,
    progress: Progress = _quiet,
    abstract: NoteAbstractor | None = None,
    wait: bool = False,
    represent: RepresentParams | None = None,
    lock_held: bool = False,
    reviewers: Collection[str] | None = None,
) -> MiningResult:
    """Collect notes, cluster them into named patterns, keep ids stable, record the run.

    One run at a time per database (``oversight.mine.lock``): while another holds the lock this
    raises MiningInProgressError before anything is paid for, or with ``wait`` waits for it;
    ``lock_held``: the caller holds the lock already (``mine_project`` takes it before choosing models).
    ``abstract``: restate each note as a topic-free failure with a model before embedding.
    ``represent``: the weights of what the clustering sees beside each note's embedding.

    ``llm`` names patterns when ``names`` is "llm" (with ``name_prompt``, default the bundled
    name_pattern prompt); without one, keywords name them. ``reviewers`` (a trust decision,
    ``oversight.review.qualify.trusted_reviewers``): of the notes refinements gave, only those of
    these reviewers' refinements are clustered (every refinement still gets its notes). Raises LLMError.
    """
    async with nullcontext() if lock_held else holding_mine_lock(store, wait=wait, progress=progress):
        added = await collect_failure_notes(store, explain_edits=explain_edits)
        progress(f"notes: {added} new from refinements")
        notes = await asyncio.to_thread(store.notes, reviewers=reviewers)
        if reviewers is not None:
            progress(f"trusting {len(reviewers)} reviewer(s): {len(notes)} notes clustered")
        if abstract is not None:
            progress(f"restating {len(notes)} notes as topic-free failures with {abstract.llm.model}")
        progress(f"embedding {len(notes)} notes with {embedder.name}")
        represent = represent or RepresentParams()
        texts, vectors = await represent_notes(store, notes, embedder, abstract=abstract, params=represent)
        progress("clustering")
        clustering = await cluster_representation(vectors, params, represent=represent, abstract=abstract)
        return await finish_run(
            store, notes, vectors, clustering, names=names, llm=llm, embedder_name=embedder.name,
            name_prompt=name_prompt, progress=progress, texts=texts,
        )


async def cluster_representation(
    vectors: np.ndarray, params: ClusterParams | None, *, represent: RepresentParams,
    abstract: NoteAbstractor | None = None,
) -> Clustering:
    """Cluster the represented notes (in a worker thread); the run records how they were represented."""
    clustering = await asyncio.to_thread(cluster_embeddings, vectors, params)
    clustering.params["represent"] = represent._asdict()
    if abstract is not None:
        clustering.params["abstracted_by"] = abstract.name
    return clustering


async def finish_run(
    store: Store,
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    *,
    names: NamesMode,
    llm: LLM | None,
    embedder_name: str,
    name_prompt: Prompt | None = None,
    progress: Progress = _quiet,
    texts: list[str] | None = None,
) -> MiningResult:
    """Name, count and record clustered notes (the second half of ``mine``). Raises LLMError.

    ``texts`` are the notes as represented (``represent_notes``): keyword names come from them,
    so a subject's own words never name a pattern. Default: the notes' own texts. A tag and the
    statements restating it are put in one pattern first (``stats.join_restatements``), so one
    failure of one refinement is counted once.
    """
    names = names if llm is not None else "keywords"  # what the run records is who named it
    clustering = await asyncio.to_thread(join_restatements, clustering, notes, vectors)
    run = MiningRun(id=new_id("run"), embedding_model=embedder_name, names=names, params=dict(clustering.params))
    texts = texts if texts is not None else [n.text for n in notes]
    plan = await asyncio.to_thread(_plan, store, notes, clustering, texts)
    named = await _names(notes, vectors, clustering, plan, _Naming(names, llm, name_prompt, progress), texts)
    theme_names = await asyncio.to_thread(theme_phrases, notes, vectors, clustering, plan.members, plan.keywords,
                                          texts, exclude=plan.about_one)
    result = await asyncio.to_thread(_record, store, run, notes, vectors, clustering, plan, named, theme_names)
    progress(f"{run.patterns} patterns ({run.matched} continued), {run.noise} notes left as noise")
    return result


class _Plan(NamedTuple):
    """What naming and recording share: members per cluster, keywords, stable ids, last run's patterns."""

    members: list[np.ndarray]
    keywords: dict[int, list[str]]
    ids: list[str]
    previous: dict[str, Pattern]
    previous_themes: list[dict[str, Any]]
    about_one: set[str]  # words only one subject's notes use: never in a name


@dataclass
class _Naming:
    """Who names the patterns of a run, and how."""

    names: NamesMode
    llm: LLM | None
    prompt: Prompt | None
    progress: Progress


def _plan(store: Store, notes: list[FailureNote], clustering: Clustering, texts: list[str]) -> _Plan:
    """Keywords and ids (blocking: the store and scikit-learn, so it runs in a worker thread)."""
    k = len(clustering.centroids)
    members = [np.flatnonzero(clustering.labels == c) for c in range(k)]
    about_one = single_subject_words([n.text for n in notes], [n.subject for n in notes])
    keywords = class_keywords(texts, clustering.labels, exclude=about_one) if k else {}
    previous = {p.id: p for p in store.patterns()}
    last = store.latest_run()
    centres = store.centroids()
    earlier = [Previous(p.id, frozenset(p.member_ids), centres[p.id]) for p in previous.values() if p.id in centres]
    matched = match_patterns(earlier, [frozenset(notes[i].id for i in m) for m in members], clustering.centroids)
    return _Plan(members, keywords, [pid or new_id("p") for pid in matched], previous,
                 run_themes(last) if last else [], about_one)


def _record(
    store: Store,
    run: MiningRun,
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    plan: _Plan,
    named: list[tuple[PatternName, str]],
    theme_names: list[str | None],
) -> MiningResult:
    """Count, write the run whole and return it (blocking: runs in a worker thread)."""
    patterns = _build_patterns(run, notes, vectors, clustering.centroids, plan, named)
    themes = build_themes(clustering, patterns, plan.keywords, plan.previous_themes, theme_names)
    for pattern, theme in zip(patterns, clustering.themes, strict=True):
        pattern.theme_id = themes[int(theme)]["id"]
    noise = [notes[i] for i in np.flatnonzero(clustering.labels < 0)]
    run.notes, run.units = len(notes), len({unit_of(n) for n in notes})
    run.patterns, run.noise, run.themes = len(patterns), len(noise), len(themes)
    run.matched = sum(1 for i in plan.ids if i in plan.previous)
    run.noise_ids = [n.id for n in noise]
    run.finished_at = utcnow()
    similarities = [(vectors[m] @ clustering.centroids[c]).round(4).tolist() for c, m in enumerate(plan.members)]
    store.save_run(run, patterns, clustering.centroids, similarities, themes)
    patterns = sorted(patterns, key=lambda p: (-p.size, p.id))  # the order the store lists them in
    return MiningResult(run=run, patterns=patterns, themes=themes, noise=noise)


async def _names(
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    plan: _Plan,
    naming: _Naming,
    texts: list[str],
) -> list[tuple[PatternName, str]]:
    members, keywords, ids, previous, _, about_one = plan
    k = len(members)
    # Members nearest the centre first: the central note may name the pattern, and the model reads them first.
    orders = [members[c][np.argsort(-(vectors[members[c]] @ clustering.centroids[c]), kind="stable")]
              for c in range(k)]
    # A name holding a word that only one subject's notes use names the subject, not the failure.
    plain = await asyncio.to_thread(plain_names, notes, texts, orders, keywords, exclude=about_one)
    out = [(name, "keywords") for name in plain]
    llm = naming.llm
    if naming.names != "llm" or llm is None or k == 0:
        return out
    # A continued pattern of about the same size keeps its model-written name.
    todo = [c for c in range(k) if not _keeps_name(previous.get(ids[c]), len(members[c]))]
    for c in set(range(k)) - set(todo):
        old = previous[ids[c]]
        out[c] = (PatternName(name=old.name, description=old.description, criteria=old.criteria), old.named_by)
    if not todo:
        return out
    naming.progress(f"naming {len(todo)} patterns with {llm.model}")
    samples = [sample_members([n.text for n in notes], order, 12) for order in orders]
    neighbours = nearest_patterns(clustering.centroids)
    kw = [keywords.get(c, []) for c in range(k)]
    prompt = naming.prompt or await asyncio.to_thread(load_prompt, NAME_PROMPT)
    llm_names = await name_with_llm(
        llm, [samples[c] for c in todo], [list(neighbours[c]) for c in todo], [kw[c] for c in todo],
        prompt=prompt, all_samples=samples, all_keywords=kw,
    )
    usable = distinct_names(llm_names, [kw[c] for c in todo], subject_words=about_one)
    for c, value in zip(todo, usable, strict=True):
        if value is not None:
            out[c] = (value, f"llm:{llm.model}")
    failed = sum(value is None for value in usable)
    if failed:
        naming.progress(f"{failed} patterns named by keywords: the model's answer was unusable")
    return out


def _keeps_name(old: Pattern | None, size: int) -> bool:
    return bool(old and old.named_by.startswith("llm") and 0.67 <= size / max(old.size, 1) <= 1.5)


def _build_patterns(
    run: MiningRun,
    notes: list[FailureNote],
    vectors: np.ndarray,
    centroids: np.ndarray,
    plan: _Plan,
    named: list[tuple[PatternName, str]],
) -> list[Pattern]:
    members, keywords, ids, previous = plan[:4]
    times = [n.created_at for n in notes]
    granularity = choose_granularity(times)
    period_totals = dict(Counter(period_of(t, granularity) for t in times))
    total_units = len({unit_of(n) for n in notes})
    extra = sorted({key for n in notes if n.source == "import" for key in n.metadata if key != "line"})
    slice_fields = [*SLICE_FIELDS, *[f for f in extra if f not in SLICE_FIELDS]]
    patterns = []
    for c, member in enumerate(members):
        stats = pattern_stats(
            notes, member, vectors, centroids[c], total_units=total_units,
            period_totals=period_totals, granularity=granularity, slice_fields=slice_fields,
        )
        old = previous.get(ids[c])
        name, named_by = named[c]
        history = [*(old.history if old else []), {"run_id": run.id, "at": run.started_at.isoformat(),
                                                    "size": stats.size, "prevalence": stats.prevalence}]
        patterns.append(
            Pattern(
                id=ids[c], name=name.name, description=name.description, criteria=name.criteria,
                keywords=keywords.get(c, []), named_by=named_by, member_ids=[notes[i].id for i in member],
                stats=stats, history=history, created_at=old.created_at if old else run.started_at,
                updated_at=run.started_at,
            )
        )
    return patterns
