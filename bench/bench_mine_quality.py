"""Pattern quality against human failure categories on real data, with BERTopic as the baseline.

    python bench/bench_mine_quality.py [--bertopic-runs 3] [--no-bertopic] [--sets ttcw,tofueval,finegrainedrlhf]
                                       [--llm-model MODEL --api-base URL] [--no-llm]

Data (../shared/data), each note with a human failure category and the source item it is about:
TTCW expert explanations with verdict No (category: the craft test, 14; source: the story),
TofuEval dev explanations with a single error type (category: ``type``, 7; source: the
document), FineGrainedRLHF dev edits from ``prediction 1`` to its correction, as the library
writes them without a model (category: the error span each edit overlaps, 5; source: the question).

Ours runs the whole library path: notes imported into a fresh store, ``mine(names="keywords")``,
then a re-run with ``names="llm"`` (the embedded SmolLM2 by default) on the same store; scores
come from the stored patterns' members, with noise counted as one more label. Naming does
not move notes between patterns, so both runs should score the same.
BERTopic runs with its defaults on the same embeddings (``fit_transform(docs, embeddings=E)``),
in its own virtualenv, several times because its UMAP is unseeded by default.

Figures per set and method: AMI with the category (chance-corrected: NMI rewards many small
clusters), AMI with the source item (how much the patterns group notes by subject rather than
by failure), ARI with the category, patterns, themes (top level), noise share; NMI is kept for
comparison with earlier rounds. The ``source_only`` row labels every note by its source item
alone: its AMI with the category is how much category agreement the subject gives for free.
A table comes first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_mine_common import BERTOPIC_PYTHON, SOURCED_DATASETS, embeddings_for, run_worker, scores


class FixedEmbedder:
    """The precomputed vectors of the data set, looked up by text (same model, no re-embedding)."""

    def __init__(self, texts: list[str], vectors: Any):
        from oversight.mine.embed import DEFAULT_EMBEDDING_MODEL

        self.name = DEFAULT_EMBEDDING_MODEL
        self._by_text = {t: v for t, v in zip(texts, vectors, strict=True)}

    async def embed(self, texts: Any) -> Any:
        import numpy as np

        return np.vstack([self._by_text[t] for t in texts])


def labels_from_run(result: Any, ids: list[str]) -> list[int]:
    """A label per note (in file order) from the run's patterns; -1 for noise."""
    index = {note_id: k for k, p in enumerate(result.patterns) for note_id in p.member_ids}
    return [index.get(i, -1) for i in ids]


def ours(ids: list[str], texts: list[str], truth: list[str], source: list[str], vectors: Any,
         llm: Any) -> dict[str, Any]:
    from oversight.mine.miner import mine
    from oversight.schemas import FailureNote
    from oversight.store import Store

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        notes = [FailureNote(id=f"n_{i}", text=t, source="import", external_id=i) for i, t in zip(ids, texts,
                                                                                                   strict=True)]
        store.save_notes(notes)
        embedder = FixedEmbedder(texts, vectors)
        started = time.perf_counter()
        keyword_run = asyncio.run(mine(store, names="keywords", embedder=embedder))
        out["keywords"] = {**scores(truth, labels_from_run(keyword_run, [n.id for n in notes]), source),
                           "wall_s": round(time.perf_counter() - started, 2),
                           "themes": keyword_run.run.themes,
                           "example_names": [p.name for p in keyword_run.patterns[:5]]}
        if llm is not None:
            started = time.perf_counter()
            llm_run = asyncio.run(mine(store, names="llm", llm=llm, embedder=embedder))
            out["llm"] = {**scores(truth, labels_from_run(llm_run, [n.id for n in notes]), source),
                          "wall_s": round(time.perf_counter() - started, 2), "model": llm.model,
                          "themes": llm_run.run.themes,
                          "named_by_llm": sum(p.named_by.startswith("llm") for p in llm_run.patterns),
                          "example_names": [p.name for p in llm_run.patterns[:5]]}
    return out


MEANS = ("ami", "ami_source", "ari", "nmi", "clusters", "noise_share")


def bertopic(texts: list[str], truth: list[str], source: list[str], vectors: Any, runs: int) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        measured = run_worker("bertopic", vectors, texts)
        results.append({**scores(truth, measured["labels"], source), "wall_s": measured["wall_s"]})
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


def table(report: dict[str, Any]) -> str:
    """The figures as a fixed-width table (BERTopic: means over its runs)."""
    head = (f"{'set':<16}{'notes':>6} {'method':<22}{'AMI cat':>8}{'AMI src':>8}{'ARI cat':>8}"
            f"{'NMI cat':>8}{'patterns':>9}{'themes':>7}{'noise':>7}")
    lines = [head, "-" * len(head)]

    def row(name: str, notes: Any, method: str, got: dict[str, Any], suffix: str = "") -> None:
        def cell(key: str, width: int, digits: int = 3) -> str:
            value = got.get(key + suffix)
            if value is None:
                return f"{'-':>{width}}"
            return f"{value:>{width}.{digits}f}" if isinstance(value, float) else f"{value:>{width}}"

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
    llm, server = open_llm(args)
    report: dict[str, Any] = {"bench": "mine_quality", "embedding_model": "all-MiniLM-L6-v2-onnx-int8",
                              "noise": "counted as one label",
                              "baseline": "BERTopic defaults (UMAP+HDBSCAN+c-TF-IDF) on the same embeddings, "
                                          "run in /work/bench-venv via subprocess" if run_bertopic else None,
                              "datasets": {}}
    try:
        for name in sets:
            ids, texts, truth, source = SOURCED_DATASETS[name]()
            vectors = embeddings_for(name, texts)
            print(f"{name}: {len(texts)} notes, {len(set(truth))} categories, {len(set(source))} source items",
                  file=sys.stderr)
            mine_scores = ours(ids, texts, truth, source, vectors, llm)
            base = bertopic(texts, truth, source, vectors, args.bertopic_runs) if run_bertopic else None
            entry: dict[str, Any] = {"notes": len(texts), "categories": len(set(truth)),
                                     "source_items": len(set(source)), "oversight": mine_scores,
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
    print(json.dumps(report))


if __name__ == "__main__":
    main()
