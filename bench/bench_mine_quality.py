"""Pattern quality against human failure categories on real data, with BERTopic as the baseline.

    python bench/bench_mine_quality.py [--bertopic-runs 3] [--no-bertopic] [--sets ttcw,tofueval,finegrainedrlhf]
                                       [--llm-model MODEL --api-base URL] [--no-llm]

Data (../shared/data), each note with a human failure category and the source item (subject) it is about:
TTCW expert explanations with verdict No (category: the craft test, 14; source: the story),
TofuEval dev explanations with a single error type (category: ``type``, 7; source: the
document), FineGrainedRLHF dev answers and their corrections (category: the error span each
edit note overlaps most, or Missing-Info for an addition from a passage sentence the
annotators listed as missing; 6; source: the question).

Ours runs the whole library path on a fresh store per set. TTCW and TofuEval notes are kept
as imported notes with their subject (``metadata["subject"]``); FineGrainedRLHF rows go
through ``load_refinement_file``/``import_refinements`` (source: the question, so the task is
the subject) and ``collect_notes`` writes the edit notes, without a model. Edit notes that
touch no annotated span are mined but not scored. Then ``mine(names="keywords")``, and a
re-run with ``names="llm"`` (the embedded SmolLM2 by default) on the same store. The notes'
own texts get precomputed MiniLM vectors; any other text the miner embeds (notes masked by
subject) goes to the same default model, cached on disk. Naming does not move notes between
patterns, so both runs should score the same. BERTopic runs with its defaults on the raw note
texts and their vectors (``fit_transform(docs, embeddings=E)``), in its own virtualenv,
several times because its UMAP is unseeded by default.

Figures per set and method, on the scored notes, noise counted as one more label:
- patterns: AMI with the category (chance-corrected: NMI rewards many small clusters), AMI with
  the source item (how much the patterns group notes by subject rather than by failure), ARI
  with the category, pattern count, noise share; NMI kept for comparison with earlier rounds.
  The ``source_only`` row labels every note by its source item alone: its AMI with the
  category is how much category agreement the subject gives for free.
- top level (ours): each note labelled by its pattern's theme (``theme_id``), the run's first
  level: ``top_level`` (theme count), ``ami_top``, ``ami_source_top``, ``ari_top``, and whether
  the theme count is within 0.5x-3x of the set's category count.
- names (ours, per naming mode): ``single_source_name_share``, the share of pattern names
  holding a word (lowercase alphabetic, 3+ letters, not a scikit-learn English stop word)
  whose notes, the notes holding it as a token, all come from one source item; with up to 5
  example names (the offending words in brackets).
Two tables come first (patterns; top level and names); the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_mine_common import (
    BERTOPIC_PYTHON,
    SOURCED_DATASETS,
    BenchSet,
    embeddings_for,
    run_worker,
    scores,
)


class FixedEmbedder:
    """The precomputed vectors of the data set's note texts, looked up by text (same model).

    The miner may embed other texts too (notes masked by subject): those go to the default
    embedder (``MiniLMEmbedder``), cached on disk like the data set's own vectors.
    """

    def __init__(self, name: str, texts: list[str], vectors: Any):
        from oversight.mine.embed import DEFAULT_EMBEDDING_MODEL

        self.name = DEFAULT_EMBEDDING_MODEL
        self._set = name
        self._by_text = {t: v for t, v in zip(texts, vectors, strict=True)}
        self.fallback_texts = 0  # texts not among the notes' own, embedded (or read from the disk cache)

    async def embed(self, texts: Any) -> Any:
        import numpy as np

        texts = list(texts)
        unknown = list(dict.fromkeys(t for t in texts if t not in self._by_text))
        if unknown:
            self.fallback_texts += len(unknown)
            fresh = await asyncio.to_thread(embeddings_for, f"{self._set}-other", unknown)
            self._by_text.update(zip(unknown, fresh, strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.vstack([self._by_text[t] for t in texts]).astype(np.float32)


def labels_from_run(result: Any, ids: list[str]) -> tuple[list[int], list[int]]:
    """Per note (in the given order): its pattern's index and its theme's index; -1 for noise."""
    theme_index = {t["id"]: k for k, t in enumerate(result.themes)}
    pattern_of = {note_id: k for k, p in enumerate(result.patterns) for note_id in p.member_ids}
    theme_of = {note_id: theme_index.setdefault(p.theme_id, len(theme_index)) if p.theme_id else -1
                for p in result.patterns for note_id in p.member_ids}
    return [pattern_of.get(i, -1) for i in ids], [theme_of.get(i, -1) for i in ids]


_WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> set[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in ENGLISH_STOP_WORDS}


def single_source_names(names: list[str], texts: list[str], source: list[str]) -> dict[str, Any]:
    """Share of pattern names holding a word that appears in the notes of a single source item.

    A name word (lowercase alphabetic, 3+ letters, not an English stop word) is single-source
    when the notes whose text holds it as a token (at least one) all share one source item.
    """
    sources: dict[str, set[str]] = {}
    for text, item in zip(texts, source, strict=True):
        for word in set(_WORD.findall(text.lower())):
            sources.setdefault(word, set()).add(item)
    flagged = []
    for name in names:
        words = sorted(w for w in _words(name) if len(sources.get(w, ())) == 1)
        if words:
            flagged.append((name, words))
    return {"single_source_name_share": round(len(flagged) / len(names), 4) if names else 0.0,
            "single_source_names": len(flagged),
            "single_source_name_examples": [f"{name} [{', '.join(words)}]" for name, words in flagged[:5]]}


def run_figures(result: Any, bench: BenchSet, categories: int) -> dict[str, Any]:
    """Pattern-level and top-level scores on the scored notes, and the name metric, of one run."""
    kept = bench.scored
    truth = [str(bench.truth[i]) for i in kept]
    source = [bench.source[i] for i in kept]
    patterns, themes = labels_from_run(result, [bench.note_ids[i] for i in kept])
    top = scores(truth, themes, source)
    top_level = len(result.themes)
    names = [p.name for p in result.patterns]
    return {
        **scores(truth, patterns, source),
        "themes": result.run.themes,
        "top_level": top_level, "ami_top": top["ami"], "ami_source_top": top["ami_source"], "ari_top": top["ari"],
        "top_noise_share": top["noise_share"],
        "top_level_within_0.5x_3x_categories": 0.5 * categories <= top_level <= 3 * categories,
        "patterns_without_theme": sum(not p.theme_id for p in result.patterns),
        **single_source_names(names, bench.texts, bench.source),
        "example_names": names[:5],
    }


def ours(store: Any, bench: BenchSet, name: str, vectors: Any, llm: Any) -> dict[str, Any]:
    """Mine a filled store with keyword names, then with model names; figures of each run."""
    from oversight.mine.miner import mine

    categories = len({t for t in bench.truth if t is not None})
    embedder = FixedEmbedder(name, bench.texts, vectors)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    keyword_run = asyncio.run(mine(store, names="keywords", embedder=embedder))
    out["keywords"] = {**run_figures(keyword_run, bench, categories),
                       "wall_s": round(time.perf_counter() - started, 2),
                       "embedded_other_texts": embedder.fallback_texts}
    if llm is not None:
        started = time.perf_counter()
        llm_run = asyncio.run(mine(store, names="llm", llm=llm, embedder=embedder))
        out["llm"] = {**run_figures(llm_run, bench, categories),
                      "wall_s": round(time.perf_counter() - started, 2), "model": llm.model,
                      "named_by_llm": sum(p.named_by.startswith("llm") for p in llm_run.patterns)}
    return out


MEANS = ("ami", "ami_source", "ari", "nmi", "clusters", "noise_share")


def bertopic(bench: BenchSet, vectors: Any, runs: int) -> dict[str, Any]:
    """BERTopic on every note of the store (raw texts, their vectors), scored on the scored notes."""
    kept = bench.scored
    truth = [str(bench.truth[i]) for i in kept]
    source = [bench.source[i] for i in kept]
    results = []
    for _ in range(runs):
        measured = run_worker("bertopic", vectors, bench.texts)
        labels = [measured["labels"][i] for i in kept]
        results.append({**scores(truth, labels, source), "wall_s": measured["wall_s"]})
    return {
        "runs": results,
        **{f"{key}_mean": round(statistics.mean(r[key] for r in results), 4) for key in MEANS},
        "ami_max": max(r["ami"] for r in results),
        "nmi_max": max(r["nmi"] for r in results),
    }


def source_only(truth: list[str], source: list[str]) -> dict[str, Any]:
    """Every note labelled by its source item: what grouping by subject alone scores."""
    index: dict[str, int] = {}
    return scores(truth, [index.setdefault(s, len(index)) for s in source], source)


def _cell(got: dict[str, Any], key: str, width: int, digits: int = 3) -> str:
    value = got.get(key)
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, bool):
        return f"{'yes' if value else 'no':>{width}}"
    return f"{value:>{width}.{digits}f}" if isinstance(value, float) else f"{value:>{width}}"


def table(report: dict[str, Any]) -> str:
    """The pattern-level figures as a fixed-width table (BERTopic: means over its runs)."""
    head = (f"{'set':<16}{'notes':>6} {'method':<22}{'AMI cat':>8}{'AMI src':>8}{'ARI cat':>8}"
            f"{'NMI cat':>8}{'patterns':>9}{'themes':>7}{'noise':>7}")
    lines = [head, "-" * len(head)]

    def row(name: str, notes: Any, method: str, got: dict[str, Any], suffix: str = "") -> None:
        def cell(key: str, width: int, digits: int = 3) -> str:
            return _cell(got, key + suffix, width, digits)

        lines.append(f"{name:<16}{notes:>6} {method:<22}{cell('ami', 8)}{cell('ami_source', 8)}{cell('ari', 8)}"
                     f"{cell('nmi', 8)}{cell('clusters', 9, 1)}{cell('themes', 7)}{cell('noise_share', 7)}")

    for name, entry in report["datasets"].items():
        for mode, got in entry["oversight"].items():
            row(name, entry["notes"], f"oversight ({mode})", got)
        if entry.get("bertopic"):
            runs = len(entry["bertopic"]["runs"])
            row(name, entry["notes"], f"BERTopic (mean of {runs})", entry["bertopic"], "_mean")
        row(name, entry["notes"], "source only", entry["source_only"])
    return "\n".join(lines)


def top_table(report: dict[str, Any]) -> str:
    """Top level (themes) against the categories, and the single-source name share, per oversight run."""
    head = (f"{'set':<16}{'method':<22}{'cats':>5}{'top':>5}{' 0.5-3x':>8}{'AMI cat':>8}{'AMI src':>8}"
            f"{'ARI cat':>8}{'1-src names':>12}{'names':>7}")
    lines = [head, "-" * len(head)]
    for name, entry in report["datasets"].items():
        for mode, got in entry["oversight"].items():
            flagged = f"{got['single_source_name_share']:.3f}"
            lines.append(
                f"{name:<16}{f'oversight ({mode})':<22}{entry['categories']:>5}{_cell(got, 'top_level', 5)}"
                f"{_cell(got, 'top_level_within_0.5x_3x_categories', 8)}{_cell(got, 'ami_top', 8)}"
                f"{_cell(got, 'ami_source_top', 8)}{_cell(got, 'ari_top', 8)}{flagged:>12}{got['clusters']:>7}")
    return "\n".join(lines)


def open_llm(args: argparse.Namespace) -> tuple[Any, Any]:
    """The naming model: --llm-model, else the embedded SmolLM2 on a local server (None if absent)."""
    from oversight.errors import LocalModelError
    from oversight.llm import LLM

    if args.no_llm:
        return None, None
    if args.llm_model:
        return LLM(args.llm_model, api_base=args.api_base, api_key=args.api_key, concurrency=4), None
    try:
        from oversight.local import EMBEDDED_API_KEY, EMBEDDED_MODEL, LocalModelServer

        server = LocalModelServer().start()
    except LocalModelError as exc:  # no embedded model installed: keyword names only
        print(f"no LLM for naming: {exc}", file=sys.stderr)
        return None, None
    return LLM(EMBEDDED_MODEL, api_base=server.api_base, api_key=EMBEDDED_API_KEY, concurrency=2), server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bertopic-runs", type=int, default=3)
    parser.add_argument("--no-bertopic", action="store_true", help="ours and the source-only baseline only")
    parser.add_argument("--sets", default=",".join(SOURCED_DATASETS), help="comma-separated, of: "
                        + ", ".join(SOURCED_DATASETS))
    parser.add_argument("--llm-model")
    parser.add_argument("--api-base")
    parser.add_argument("--api-key")
    parser.add_argument("--no-llm", action="store_true")
    args = parser.parse_args()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in SOURCED_DATASETS]
    if unknown:
        parser.error(f"unknown sets: {unknown}")
    run_bertopic = not args.no_bertopic and Path(BERTOPIC_PYTHON).exists()
    if not args.no_bertopic and not run_bertopic:
        print(f"no BERTopic interpreter at {BERTOPIC_PYTHON}: BERTopic not run", file=sys.stderr)
    from oversight.store import Store

    llm, server = open_llm(args)
    report: dict[str, Any] = {"bench": "mine_quality", "embedding_model": "all-MiniLM-L6-v2-onnx-int8",
                              "noise": "counted as one label",
                              "baseline": "BERTopic defaults (UMAP+HDBSCAN+c-TF-IDF) on the same embeddings, "
                                          "run in /work/bench-venv via subprocess" if run_bertopic else None,
                              "datasets": {}}
    try:
        for name in sets:
            with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
                bench = SOURCED_DATASETS[name](store, Path(tmp))
                kept = bench.scored
                truth = [str(bench.truth[i]) for i in kept]
                source = [bench.source[i] for i in kept]
                print(f"{name}: {len(bench.texts)} notes mined, {len(kept)} scored, {len(set(truth))} categories, "
                      f"{len(set(source))} source items", file=sys.stderr)
                if bench.counts:
                    print(f"{name}: {json.dumps(bench.counts)}", file=sys.stderr)
                vectors = embeddings_for(name, bench.texts)
                mine_scores = ours(store, bench, name, vectors, llm)
            base = bertopic(bench, vectors, args.bertopic_runs) if run_bertopic else None
            entry: dict[str, Any] = {"notes": len(kept), "notes_mined": len(bench.texts),
                                     "categories": len(set(truth)), "category_counts": dict(Counter(truth)),
                                     "source_items": len(set(source)), **bench.counts, "oversight": mine_scores,
                                     "bertopic": base, "source_only": source_only(truth, source)}
            if base is not None:
                for mode, got in mine_scores.items():
                    entry[f"ami_ratio_{mode}_vs_bertopic_mean"] = (round(got["ami"] / base["ami_mean"], 3)
                                                                   if base["ami_mean"] else None)
            report["datasets"][name] = entry
    finally:
        if server is not None:
            server.stop()
    report["llm_names_measured"] = llm is not None
    report["bertopic_measured"] = run_bertopic
    print(table(report))
    print()
    print(top_table(report))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
