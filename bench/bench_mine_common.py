"""Shared parts of the mine benchmarks: the real data sets, embeddings, and the timed workers.

The quality bench fills a fresh store per data set through ``SOURCED_DATASETS`` (TTCW and
TofuEval as imported notes with their subject, FineGrainedRLHF as imported post-edits whose
edit notes the library writes) and gets back a ``BenchSet``; ``DATASETS`` gives plain texts.
Embeddings (the default MiniLM) are cached on disk under ``CACHE`` by a hash of the texts.

Run as a worker (the benchmarks do this in fresh subprocesses, so each peak RSS is its own):

    python bench/bench_mine_common.py worker ours|bertopic IN.npz OUT.json

``ours`` runs oversight's clustering (themes included) plus keyword naming (c-TF-IDF);
``bertopic`` runs ``BERTopic().fit_transform(docs, embeddings=E)`` with its defaults (UMAP,
HDBSCAN, c-TF-IDF) in the BERTopic virtualenv (``BERTOPIC_PYTHON``, default
/work/bench-venv/bin/python). Both get the same precomputed embeddings.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _data_folder() -> Path:
    """../shared/data beside the checkout (a worktree under wt/ looks one level further up), or
    OVERSIGHT_BENCH_DATA."""
    if "OVERSIGHT_BENCH_DATA" in os.environ:
        return Path(os.environ["OVERSIGHT_BENCH_DATA"])
    near = [up / "shared" / "data" for up in (ROOT.parent, ROOT.parent.parent)]
    return next((path for path in near if path.exists()), near[0])


DATA = _data_folder()
TTCW = DATA / "creativity_eval" / "Art_or_Artifice" / "annotations" / "ttcw_annotations.json"
TOFUEVAL = DATA / "tofueval" / "factual_consistency"
BERTOPIC_PYTHON = os.environ.get("BERTOPIC_PYTHON", "/work/bench-venv/bin/python")
CACHE = Path(os.environ.get("OVERSIGHT_BENCH_CACHE", "/tmp/oversight-bench-mine"))


def load_ttcw() -> tuple[list[str], list[str], list[str]]:
    """TTCW expert explanations with verdict No: (ids, texts, category)."""
    ids, texts, category, _ = load_ttcw_with_source()
    return ids, texts, category


def load_ttcw_with_source(path: Path = TTCW) -> tuple[list[str], list[str], list[str], list[str]]:
    """TTCW expert explanations with verdict No: (ids, texts, category, story id)."""
    rows = [r for r in json.loads(path.read_text(encoding="utf-8"))
            if r["binary_verdict"] == "No" and r["explanation"].strip()]
    ids = [f"{r['story_id']}-{r['expert_idx']}-{r['ttcw_idx']}" for r in rows]
    return (ids, [r["explanation"].strip() for r in rows], [r["category"] for r in rows],
            [str(r["story_id"]) for r in rows])


def load_tofueval() -> tuple[list[str], list[str], list[str]]:
    """TofuEval dev explanations with a single error type: (ids, texts, type)."""
    ids, texts, labels, _ = load_tofueval_with_source()
    return ids, texts, labels


def load_tofueval_with_source(folder: Path = TOFUEVAL) -> tuple[list[str], list[str], list[str], list[str]]:
    """TofuEval dev explanations with a single error type: (ids, texts, type, document id)."""
    ids, texts, labels, sources = [], [], [], []
    for name in ("mediasum", "meetingbank"):
        path = folder / f"{name}_factual_eval_dev.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                kind = row["type"].strip()
                if row["exp"].strip() and kind and "," not in kind:
                    ids.append(f"{name}-{i}")
                    texts.append(row["exp"].strip())
                    labels.append(kind)
                    sources.append(f"{name}:{row['doc_id'].strip()}")
    return ids, texts, labels, sources


FINEGRAINEDRLHF_DEV = DATA / "finegrainedrlhf_qa_feedback" / "tasks" / "qa_feedback" / "data" / "dev_feedback.json"


@dataclass
class BenchSet:
    """The notes of a data set as a filled store holds them (store order), with what scores them.

    ``truth`` is the human failure category, None for a note that is mined but not scored (a
    FineGrainedRLHF edit touching no annotated error span); ``source`` is the item the note is
    about (story, document, question). ``counts`` holds what the loader reports.
    """

    note_ids: list[str]
    texts: list[str]
    source: list[str]
    truth: list[str | None]
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> list[int]:
        """Positions of the notes with a category (the ones the figures are computed on)."""
        return [i for i, t in enumerate(self.truth) if t is not None]


def fill_imported_notes(store: Any, ids: list[str], texts: list[str], truth: list[str],
                        source: list[str]) -> BenchSet:
    """Keep the texts as imported notes with their subject (``metadata["subject"]``); every note scored."""
    from oversight.schemas import FailureNote

    notes = [FailureNote(id=f"n_{i}", text=t, source="import", external_id=i, metadata={"subject": s})
             for i, t, s in zip(ids, texts, source, strict=True)]
    store.save_notes(notes)
    by_id = {n.id: (c, s) for n, c, s in zip(notes, truth, source, strict=True)}
    stored = store.notes()
    return BenchSet([n.id for n in stored], [n.text for n in stored], [by_id[n.id][1] for n in stored],
                    [by_id[n.id][0] for n in stored])


def fill_ttcw(store: Any, workdir: Path, path: Path = TTCW) -> BenchSet:
    return fill_imported_notes(store, *load_ttcw_with_source(path))


def fill_tofueval(store: Any, workdir: Path, folder: Path = TOFUEVAL) -> BenchSet:
    return fill_imported_notes(store, *load_tofueval_with_source(folder))


def fill_finegrainedrlhf(store: Any, workdir: Path, dev: Path = FINEGRAINEDRLHF_DEV) -> BenchSet:
    """FineGrainedRLHF dev as post-edits imported by the library, and the edit notes it writes.

    Each answer (``prediction 1``) and its correction (``feedback["corrected-prediction"]``)
    is one JSONL row (id and source: the question index, prompt: the question, context: its
    retrieved passages), read by
    ``load_refinement_file``, kept by ``import_refinements`` and turned into notes by
    ``collect_failure_notes`` (no model: the library's plain edit statements, at most ``MAX_EDIT_NOTES``
    per answer). An edit note is labelled with the error type of the annotated span
    (``feedback["errors"]``) it overlaps most (an insert: the span containing its position);
    an edit touching no span whose added words mostly come from a passage sentence the annotators
    listed as missing (``feedback["missing-info"]``) is labelled ``Missing-Info``; other notes
    touching no span stay in the store (they are mined) but are not scored.
    """
    from oversight.mine.miner import collect_failure_notes
    from oversight.refine.post_edits import import_refinements, load_refinement_file

    rows = json.loads(dev.read_text(encoding="utf-8"))
    path = workdir / "finegrainedrlhf_dev_edits.jsonl"
    spans: dict[str, list[tuple[int, int, str]]] = {}
    missing: dict[str, set[str]] = {}
    blank = 0
    with path.open("w", encoding="utf-8") as handle:
        for q, item in enumerate(rows):
            refined = item["feedback"]["corrected-prediction"]
            if not refined.strip() or not item["prediction 1"].strip():
                blank += 1
                continue
            spans[str(q)] = [(e["start"], e["end"], e["error type"]) for e in item["feedback"]["errors"]]
            missing[str(q)] = _missing_words(item)
            passages = "\n\n".join(" ".join(p) if isinstance(p, list) else str(p) for p in item["passages"])
            handle.write(json.dumps({"id": q, "draft": item["prediction 1"], "refined": refined, "source": q,
                                     "prompt": item["question"], "context": passages}) + "\n")
    items = load_refinement_file(path, draft_field="draft", refined_field="refined", id_field="id",
                                 source_field="source", prompt_field="prompt", context_field="context")
    imported = import_refinements(store, items, source_file=path)
    asyncio.run(collect_failure_notes(store))
    notes = [n for n in store.notes() if n.source == "edit"]
    refinements = {r.id: r for r in store.refinements()}
    drafts = store.drafts({n.draft_id for n in notes if n.draft_id})
    used: dict[str, set[int]] = {}
    how = Counter()
    texts, truth, source, note_ids = [], [], [], []
    for note in notes:
        edit = note.metadata.get("edit") or {}
        refinement = refinements.get(note.refinement_id or "")
        draft = drafts.get(note.draft_id or "")
        start, way = _edit_start(edit, refinement, draft, used.setdefault(note.refinement_id or "", set()))
        how[way] += 1
        task = str(note.task_id)
        label = None
        if start is not None:
            end = start + len(edit.get("before", ""))
            if start == end:  # an insert: the span it lands in
                hits = [(1, kind) for s, e, kind in spans.get(task, []) if s <= start <= e]
            else:
                hits = [(min(end, e) - max(start, s), kind) for s, e, kind in spans.get(task, [])
                        if min(end, e) > max(start, s)]
            label = max(hits)[1] if hits else None
            if label is None and _adds_missing(edit, missing.get(task, set())):
                label = MISSING_INFO
        note_ids.append(note.id)
        texts.append(note.text)
        truth.append(label)
        source.append(task)
    labelled = [t for t in truth if t is not None]
    counts = {"rows": len(rows), "rows_skipped_blank": blank, "imported": imported.added,
              "edit_notes": len(notes), "other_notes": len(store.notes()) - len(notes),
              "labelled_notes": len(labelled), "unlabelled_notes": len(notes) - len(labelled),
              "label_counts": dict(Counter(labelled).most_common()), "edit_offset_from": dict(how)}
    return BenchSet(note_ids, texts, source, truth, counts)


ORACLE = DATA / "creativity_eval" / "Writing_Alignment" / "preference_ranking" / "LLM_edited_oracle.json"


def _oracle_category(raw: str) -> str:
    """The writers' edit category, its spelling made one ("Unnecessary/ Redundant" is "Unnecessary/Redundant")."""
    return re.sub(r"\s*/\s*", "/", " ".join(raw.split()))


def _oracle_spans(item: dict[str, Any]) -> list[tuple[int, int, str]]:
    """Where each of the writer's fine-grained edits lies in the LLM paragraph (characters, category):
    each ``originalText`` found in ``preedit``, the first place not already taken by an earlier one."""
    spans: list[tuple[int, int, str]] = []
    for edit in item["fine_grained_edits"]:
        original = edit["originalText"]
        at = item["preedit"].find(original)
        while at >= 0 and any(s < at + len(original) and at < e for s, e, _ in spans):
            at = item["preedit"].find(original, at + 1)
        if at >= 0 and original:
            spans.append((at, at + len(original), _oracle_category(edit["categorization"])))
    return spans


def fill_oracle(store: Any, workdir: Path, oracle: Path = ORACLE) -> BenchSet:
    """LLM_edited_oracle: 136 LLM paragraphs and a professional writer's edit of each, imported as post-edits.

    Each paragraph is one JSONL row (prompt: the writing instruction, draft: ``preedit``, refined:
    ``postedit``, id and source: the paragraph's id), read by ``load_refinement_file``, kept by
    ``import_refinements`` and turned into edit notes by ``collect_failure_notes`` without a model, as a team
    would import their writers' edits. An edit note is labelled with the category of the writer's
    fine-grained edit (``fine_grained_edits``: Cliche, Purple Prose, ...) it overlaps most (an insert:
    the edit containing its position); a note touching none is mined but not scored.
    """
    from oversight.mine.miner import collect_failure_notes
    from oversight.refine.post_edits import import_refinements, load_refinement_file

    rows = json.loads(oracle.read_text(encoding="utf-8"))
    path = workdir / "llm_edited_oracle.jsonl"
    spans: dict[str, list[tuple[int, int, str]]] = {}
    with path.open("w", encoding="utf-8") as handle:
        for item in rows:
            spans[item["id"]] = _oracle_spans(item)
            handle.write(json.dumps({"id": item["id"], "prompt": item["instruction"], "draft": item["preedit"],
                                     "refined": item["postedit"], "source": item["id"]}) + "\n")
    items = load_refinement_file(path, draft_field="draft", refined_field="refined", id_field="id",
                                 source_field="source", prompt_field="prompt")
    imported = import_refinements(store, items, source_file=path)
    asyncio.run(collect_failure_notes(store))
    notes = [n for n in store.notes() if n.source == "edit"]
    texts, truth, source, note_ids = [], [], [], []
    for note in notes:
        edit = note.metadata.get("edit") or {}
        start, task = edit.get("start"), str(note.task_id)
        label = None
        if isinstance(start, int):
            end = start + len(edit.get("before", ""))
            if start == end:
                hits = [(1, kind) for s, e, kind in spans.get(task, []) if s <= start <= e]
            else:
                hits = [(min(end, e) - max(start, s), kind) for s, e, kind in spans.get(task, [])
                        if min(end, e) > max(start, s)]
            label = max(hits)[1] if hits else None
        note_ids.append(note.id)
        texts.append(note.text)
        truth.append(label)
        source.append(task)
    labelled = [t for t in truth if t is not None]
    counts = {"rows": len(rows), "imported": imported.added, "writer_edits": sum(len(v) for v in spans.values()),
              "edit_notes": len(notes), "labelled_notes": len(labelled), "unlabelled_notes": len(notes) - len(labelled),
              "label_counts": dict(Counter(labelled).most_common())}
    return BenchSet(note_ids, texts, source, truth, counts)


def fill_oracle_edits(store: Any, workdir: Path, oracle: Path = ORACLE) -> BenchSet:
    """LLM_edited_oracle's 1,156 fine-grained edits as a note file of edits (``notes import --before-field
    originalText --after-field editedText --source-field id``): one note per writer's edit, its category
    the label, its paragraph the subject."""
    from oversight.mine.note_files import load_note_file

    rows = json.loads(oracle.read_text(encoding="utf-8"))
    path = workdir / "llm_edited_oracle_edits.jsonl"
    labels: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as handle:
        for item in rows:
            for k, edit in enumerate(item["fine_grained_edits"]):
                key = f"{item['id']}:{k}"
                labels[key] = _oracle_category(edit["categorization"])
                handle.write(json.dumps({"key": key, "id": item["id"], "originalText": edit["originalText"],
                                         "editedText": edit["editedText"]}) + "\n")
    notes = load_note_file(path, id_field="key", source_field="id", before_field="originalText",
                           after_field="editedText")
    store.save_notes(notes)
    stored = store.notes()
    truth = [labels[str(n.external_id)] for n in stored]
    return BenchSet([n.id for n in stored], [n.text for n in stored], [str(n.subject) for n in stored], truth,
                    {"rows": len(rows), "notes": len(stored), "label_counts": dict(Counter(truth).most_common())})


MISSING_INFO = "Missing-Info"


def _content_words(text: str) -> set[str]:
    from oversight.mine.notes import _words

    return _words(text)


def _missing_words(item: dict[str, Any]) -> set[str]:
    """The words of the passage sentences the annotators listed as missing from the answer
    (``feedback["missing-info"]``: passage_id counts from 1, sentence_id from 0, the title)."""
    words: set[str] = set()
    for entry in item["feedback"].get("missing-info") or []:
        passage = item["passages"][entry["passage_id"] - 1]
        for k in entry["sentence_id"]:
            if isinstance(passage, list) and 0 <= k < len(passage):
                words |= _content_words(passage[k])
    return words


def _adds_missing(edit: dict[str, Any], missing: set[str]) -> bool:
    """An edit that adds (three or more new words, most of them) what a missing passage sentence says."""
    added = _content_words(edit.get("after", "")) - _content_words(edit.get("before", ""))
    return len(added) >= 3 and len(added & missing) >= 0.5 * len(added)


def _edit_start(edit: dict[str, Any], refinement: Any, draft: Any, used: set[int]) -> tuple[int | None, str]:
    """Where an edit starts in the draft (characters): the note's own ``start``, else found again.

    Without ``start``: the offset of the same op in the refinement's diff (the diff's ``before``
    texts concatenate to the draft; ``used`` keeps two equal ops of one answer apart), else the
    first place the ``before`` text occurs in the draft (a delete or replace).
    """
    if isinstance(edit.get("start"), int):
        return edit["start"], "note"
    if refinement is not None:
        offset = 0
        for k, op in enumerate(refinement.diff):
            if (k not in used and op.op == edit.get("op") and op.before == edit.get("before")
                    and op.after == edit.get("after")):
                used.add(k)
                return offset, "diff"
            offset += len(op.before)
    if draft is not None and edit.get("before"):
        found = draft.text.find(edit["before"])
        if found >= 0:
            return found, "draft_text"
    return None, "none"


def load_finegrainedrlhf_edits() -> tuple[list[str], list[str], list[str], list[str]]:
    """FineGrainedRLHF dev edit notes, labelled ones only, as the library imports them (a throwaway store).

    Returns (ids, texts, error type, question index); see ``fill_finegrainedrlhf``.
    """
    import tempfile

    from oversight.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "edits.db") as store:
        bench = fill_finegrainedrlhf(store, Path(tmp))
    kept = bench.scored
    return ([bench.note_ids[i] for i in kept], [bench.texts[i] for i in kept],
            [str(bench.truth[i]) for i in kept], [bench.source[i] for i in kept])


DATASETS = {"ttcw": load_ttcw, "tofueval": load_tofueval}
# Fill a fresh store with a data set's notes (the library path) and return them with category and source item
SOURCED_DATASETS: dict[str, Callable[[Any, Path], BenchSet]] = {
    "ttcw": fill_ttcw, "tofueval": fill_tofueval, "finegrainedrlhf": fill_finegrainedrlhf, "oracle": fill_oracle,
    "oracle_edits": fill_oracle_edits}


def embeddings_for(name: str, texts: list[str]) -> Any:
    """The default embedder's vectors for a data set (cached on disk between runs)."""
    import numpy as np

    from oversight.embed import MiniLMEmbedder, text_hash

    CACHE.mkdir(parents=True, exist_ok=True)
    key = text_hash("\n".join(texts))[:12]
    path = CACHE / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = MiniLMEmbedder().encode(texts)
    np.save(path, vectors)
    return vectors


def run_worker(kind: str, vectors: Any, docs: list[str], *, timeout: float = 1800) -> dict[str, Any]:
    """Run one timed worker in a fresh process on saved inputs; return what it measured."""
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"in-{os.getpid()}-{kind}"
    np.savez(f"{stem}.npz", E=vectors, docs=np.array(docs, dtype=object))
    out = Path(f"{stem}.json")
    python = BERTOPIC_PYTHON if kind == "bertopic" else sys.executable
    # BERTopic gets the vectors: it must not fetch a model (offline, the Hub would refuse it)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    done = subprocess.run([python, __file__, "worker", kind, f"{stem}.npz", str(out)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    out.unlink()
    Path(f"{stem}.npz").unlink()
    return result


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _worker(kind: str, inputs: str, output: str) -> None:
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    data = np.load(inputs, allow_pickle=True)
    vectors, docs = data["E"], [str(d) for d in data["docs"]]
    loaded = _peak_rss_mb()
    if kind == "ours":
        from oversight.mine.cluster import cluster_embeddings
        from oversight.mine.naming import class_keywords
        from oversight.mine.represent import centre_by_subject, combine, lexical_vectors, mask_notes
        from oversight.schemas import FailureNote

        # Subjects for the cost of the representation: notes spread over 2% as many items
        # (TTCW has 26 notes per story, TofuEval 9 per document). The masked texts are not
        # re-embedded here: embedding is shared and not timed (see bench_mine_scale).
        notes = [FailureNote(id=f"n{i}", text=d, source="import", metadata={"subject": f"s{i % max(1, len(docs) // 50)}"})
                 for i, d in enumerate(docs)]
        started = time.perf_counter()
        masked = mask_notes(notes)
        subjects = [n.subject for n in notes]
        vectors = combine(centre_by_subject(vectors, subjects), lexical_vectors(masked, subjects))
        clustering = cluster_embeddings(vectors)
        class_keywords(masked, clustering.labels)
        wall = time.perf_counter() - started
        labels, themes = clustering.labels, clustering.themes
        extra = {"themes": themes.tolist(), "distinct": clustering.params["distinct"]}
    else:
        from bertopic import BERTopic

        started = time.perf_counter()
        topics, _ = BERTopic().fit_transform(docs, embeddings=vectors)
        wall = time.perf_counter() - started
        labels, extra = np.asarray(topics), {}
    Path(output).write_text(json.dumps({
        "labels": np.asarray(labels).tolist(), "wall_s": round(wall, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1), "rss_after_load_mb": round(loaded, 1), **extra,
    }))


def scores(truth: list[str], labels: Any, source: list[str] | None = None) -> dict[str, Any]:
    """Agreement of a labelling with the human categories (and, given, with the source items).

    Noise (-1) counts as one more label, on all notes. ``ami``/``ari``/``nmi``: against the
    category; ``ami_source``: against the item each note is about (how much a clustering
    groups by subject); ``nmi_without_noise`` on non-noise notes; k; noise share.
    """
    import numpy as np
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score

    labels = np.asarray(labels)
    truth_array = np.asarray(truth)
    kept = labels >= 0
    out = {
        "ami": round(float(adjusted_mutual_info_score(truth_array, labels)), 4),
        "ari": round(float(adjusted_rand_score(truth_array, labels)), 4),
        "nmi": round(float(normalized_mutual_info_score(truth_array, labels)), 4),
        "nmi_without_noise": round(float(normalized_mutual_info_score(truth_array[kept], labels[kept])), 4)
        if kept.any() else 0.0,
        "clusters": int(labels.max()) + 1 if len(labels) else 0,
        "noise_share": round(float((~kept).mean()), 4),
    }
    if source is not None:
        out["ami_source"] = round(float(adjusted_mutual_info_score(np.asarray(source), labels)), 4)
    return out


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        _worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(json.dumps({"usage": "bench_mine_common.py worker ours|bertopic IN.npz OUT.json"}))
