"""The mining run, step by step: collect notes, embed, cluster, name, count, record.

Each step is a plain function, so a researcher can script any of them and the LangGraph
graph (``oversight.mine.graph``) only wires them. ``mine()`` runs them all.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from oversight.mine.cluster import Clustering, ClusterParams, cluster_embeddings
from oversight.mine.embed import Embedder, get_embedder
from oversight.mine.identity import Previous, match_patterns
from oversight.mine.naming import (
    class_keywords,
    distinct_names,
    keyword_name,
    name_with_llm,
    nearest_patterns,
    sample_members,
)
from oversight.mine.notes import EditExplainer, notes_from_refinement
from oversight.mine.records import (
    SLICE_FIELDS,
    FailureNote,
    MiningRun,
    NamesMode,
    Pattern,
    PatternName,
    Theme,
)
from oversight.mine.stats import choose_granularity, pattern_stats, period_of, unit_of
from oversight.mine.storage import (
    embed_notes,
    latest_run,
    load_centroids,
    load_notes,
    load_patterns,
    refinements_with_notes,
    save_notes,
    save_run,
)
from oversight.schemas import DiffOp, new_id, utcnow

if TYPE_CHECKING:
    from oversight.llm import LLM
    from oversight.store import Store

__all__ = ["MiningResult", "Progress", "collect_notes", "llm_edit_explainer", "mine"]

Progress = Callable[[str], None]


@dataclass
class MiningResult:
    """What a run produced: the run record, its patterns (largest first) and themes."""

    run: MiningRun
    patterns: list[Pattern]
    themes: list[dict[str, Any]] = field(default_factory=list)
    noise: list[FailureNote] = field(default_factory=list)


def _quiet(_: str) -> None:
    pass


def collect_notes(store: Store, *, explain_edits: EditExplainer | None = None) -> int:
    """Turn every refinement that has no notes yet into notes; return how many were added."""
    from oversight.store import tables as t

    done = refinements_with_notes(store)
    fresh = [r for r in store.refinements() if r.id not in done]
    if not fresh:
        return 0
    from sqlalchemy import select

    with store.engine.connect() as conn:
        draft_ids = list({r.draft_id for r in fresh})
        drafts = {d["id"]: d for d in conn.scalars(select(t.drafts.c.data).where(t.drafts.c.id.in_(draft_ids)))}
        critique_ids = list({r.critique_id for r in fresh if r.critique_id})
        critiques = {
            c["id"]: c for c in conn.scalars(select(t.critiques.c.data).where(t.critiques.c.id.in_(critique_ids)))
        }
    tasks = {task.id: task for task in store.tasks({r.task_id for r in fresh})}
    from oversight.schemas import Critique, Draft

    notes: list[FailureNote] = []
    for refinement in fresh:
        draft = drafts.get(refinement.draft_id)
        critique = critiques.get(refinement.critique_id or "")
        notes += notes_from_refinement(
            refinement,
            task=tasks.get(refinement.task_id),
            draft=Draft.model_validate(draft) if draft else None,
            critique=Critique.model_validate(critique) if critique else None,
            explain_edits=explain_edits,
        )
    added, _ = save_notes(store, notes)
    return added


def llm_edit_explainer(llm: LLM, *, prompts_dir: str | None = None) -> EditExplainer:
    """An explainer that asks the model, in one sentence per edit, what the edit fixed."""
    from pydantic import BaseModel, Field

    from oversight.errors import StructuredOutputError
    from oversight.mine.notes import describe_edit
    from oversight.prompts import load_prompt

    class EditNote(BaseModel):
        note: str = Field(description="One sentence: what was wrong in the draft that this edit fixed.")

    prompt = load_prompt("edit_note", prompts_dir)

    def explain(draft_text: str, edits: list[DiffOp]) -> list[str]:
        async def one(op: DiffOp) -> str:
            messages = prompt.render(draft=draft_text[:4000], before=op.before, after=op.after, op=op.op)
            try:
                value, _ = await llm.structured(messages, EditNote, **prompt.params)
            except StructuredOutputError:  # an unusable answer: state the edit plainly instead
                return describe_edit(op)
            return " ".join(value.note.split()) or describe_edit(op)

        async def run() -> list[str]:
            return list(await asyncio.gather(*(one(op) for op in edits)))

        return asyncio.run(run())

    return explain


# -- the run -----------------------------------------------------------------------------


def mine(
    store: Store,
    *,
    names: NamesMode = "keywords",
    llm: LLM | None = None,
    embedder: Embedder | None = None,
    params: ClusterParams | None = None,
    explain_edits: EditExplainer | None = None,
    prompts_dir: str | None = None,
    progress: Progress = _quiet,
) -> MiningResult:
    """Collect notes, cluster them into named patterns, keep ids stable, record the run."""
    added = collect_notes(store, explain_edits=explain_edits)
    progress(f"notes: {added} new from refinements")
    notes = load_notes(store)
    embedder = embedder or get_embedder()
    progress(f"embedding {len(notes)} notes with {embedder.name}")
    vectors = embed_notes(store, [n.text for n in notes], embedder)
    progress("clustering")
    clustering = cluster_embeddings(vectors, params)
    return finish_run(
        store, notes, vectors, clustering, names=names, llm=llm, embedder_name=embedder.name,
        prompts_dir=prompts_dir, progress=progress,
    )


def finish_run(
    store: Store,
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    *,
    names: NamesMode,
    llm: LLM | None,
    embedder_name: str,
    prompts_dir: str | None = None,
    progress: Progress = _quiet,
) -> MiningResult:
    """Name, count and record clustered notes (the second half of ``mine``)."""
    run = MiningRun(id=new_id("run"), embedding_model=embedder_name, names=names, params=dict(clustering.params))
    labels = clustering.labels
    k = len(clustering.centroids)
    texts = [n.text for n in notes]
    members = [np.flatnonzero(labels == c) for c in range(k)]
    keywords = class_keywords(texts, labels) if k else {}
    ids = _match_ids(store, notes, members, clustering.centroids)
    previous = {p.id: p for p in load_patterns(store)}
    named = _names(notes, vectors, clustering, members, keywords, ids, previous, names, llm, prompts_dir, progress)
    patterns = _build_patterns(run, notes, vectors, clustering, members, keywords, ids, previous, named)
    themes = _themes(clustering, patterns, keywords)
    for pattern, theme in zip(patterns, clustering.themes, strict=True):
        pattern.theme_id = themes[int(theme)]["id"]
    noise = [notes[i] for i in np.flatnonzero(labels < 0)]
    run.notes, run.units = len(notes), len({unit_of(n) for n in notes})
    run.patterns, run.noise, run.themes = len(patterns), len(noise), len(themes)
    run.matched = sum(1 for i in ids if i in previous)
    run.noise_ids = [n.id for n in noise]
    run.finished_at = utcnow()
    similarities = [(vectors[m] @ clustering.centroids[c]).round(4).tolist() for c, m in enumerate(members)]
    save_run(store, run, patterns, clustering.centroids, similarities, themes)
    progress(f"{len(patterns)} patterns ({run.matched} continued), {len(noise)} notes left as noise")
    patterns = sorted(patterns, key=lambda p: (-p.size, p.id))  # the order the store lists them in
    return MiningResult(run=run, patterns=patterns, themes=themes, noise=noise)


def _match_ids(
    store: Store, notes: list[FailureNote], members: list[np.ndarray], centroids: np.ndarray
) -> list[str]:
    centres = load_centroids(store)
    previous = [Previous(p.id, frozenset(p.member_ids), centres[p.id]) for p in load_patterns(store) if p.id in centres]
    new_members = [frozenset(notes[i].id for i in m) for m in members]
    matched = match_patterns(previous, new_members, centroids)
    return [pid or new_id("p") for pid in matched]


def _names(
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    members: list[np.ndarray],
    keywords: dict[int, list[str]],
    ids: list[str],
    previous: dict[str, Pattern],
    names: NamesMode,
    llm: LLM | None,
    prompts_dir: str | None,
    progress: Progress,
) -> list[tuple[PatternName, str]]:
    k = len(members)
    out = [(keyword_name(keywords.get(c, []), len(members[c])), "keywords") for c in range(k)]
    if names != "llm" or llm is None or k == 0:
        return out
    # A continued pattern of about the same size keeps its model-written name.
    todo = [c for c in range(k) if not _keeps_name(previous.get(ids[c]), len(members[c]))]
    for c in set(range(k)) - set(todo):
        old = previous[ids[c]]
        out[c] = (PatternName(name=old.name, description=old.description, criteria=old.criteria), old.named_by)
    if not todo:
        return out
    progress(f"naming {len(todo)} patterns with {llm.model}")
    texts = [n.text for n in notes]
    samples = []
    for c in range(k):
        order = members[c][np.argsort(-(vectors[members[c]] @ clustering.centroids[c]), kind="stable")]
        samples.append(sample_members(texts, order, 12))
    neighbours = nearest_patterns(clustering.centroids)
    kw = [keywords.get(c, []) for c in range(k)]
    llm_names = name_with_llm(
        llm, [samples[c] for c in todo], [[n for n in neighbours[c]] for c in todo], [kw[c] for c in todo],
        prompts_dir=prompts_dir, all_samples=samples, all_keywords=kw,
    )
    usable = distinct_names(llm_names, [kw[c] for c in todo])
    for c, value in zip(todo, usable, strict=True):
        if value is not None:
            out[c] = (value, f"llm:{llm.model}")
    failed = sum(value is None for value in usable)
    if failed:
        progress(f"{failed} patterns named by keywords: the model's answer was unusable")
    return out


def _keeps_name(old: Pattern | None, size: int) -> bool:
    return bool(old and old.named_by.startswith("llm") and 0.67 <= size / max(old.size, 1) <= 1.5)


def _build_patterns(
    run: MiningRun,
    notes: list[FailureNote],
    vectors: np.ndarray,
    clustering: Clustering,
    members: list[np.ndarray],
    keywords: dict[int, list[str]],
    ids: list[str],
    previous: dict[str, Pattern],
    named: list[tuple[PatternName, str]],
) -> list[Pattern]:
    times = [n.created_at for n in notes]
    granularity = choose_granularity(times)
    period_totals = dict(Counter(period_of(t, granularity) for t in times))
    total_units = len({unit_of(n) for n in notes})
    extra = sorted({key for n in notes if n.source == "import" for key in n.metadata if key != "line"})
    slice_fields = [*SLICE_FIELDS, *[f for f in extra if f not in SLICE_FIELDS]]
    patterns = []
    for c, member in enumerate(members):
        stats = pattern_stats(
            notes, member, vectors, clustering.centroids[c], total_units=total_units,
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


def _themes(clustering: Clustering, patterns: list[Pattern], keywords: dict[int, list[str]]) -> list[dict[str, Any]]:
    themes: list[dict[str, Any]] = []
    for theme in range(int(clustering.themes.max()) + 1 if len(clustering.themes) else 0):
        chosen = [c for c, t in enumerate(clustering.themes) if t == theme]
        words = Counter(w for c in chosen for w in keywords.get(c, [])[:3])
        lead = patterns[chosen[0]]
        name = lead.name if len(chosen) == 1 else " · ".join(w for w, _ in words.most_common(3))
        themes.append(Theme(
            id=f"theme-{theme + 1}",
            name=name,
            pattern_ids=[patterns[c].id for c in chosen],
            size=sum(patterns[c].size for c in chosen),
            keywords=[w for w, _ in words.most_common(6)],
        ).model_dump())
    return themes


def current(store: Store) -> MiningResult | None:
    """The last run's result as stored (patterns largest first), or None before any run."""
    run = latest_run(store)
    if run is None:
        return None
    from oversight.mine.storage import run_themes

    notes = {n.id: n for n in load_notes(store)} if run.noise_ids else {}
    return MiningResult(
        run=run, patterns=load_patterns(store), themes=run_themes(run),
        noise=[notes[i] for i in run.noise_ids if i in notes],
    )
