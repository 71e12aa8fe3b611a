"""Pattern quality against human categories on real data, with BERTopic as the baseline.

    python bench/bench_mine_quality.py [--bertopic-runs 3] [--llm-model MODEL --api-base URL] [--no-llm]

Data (../shared/data): TTCW expert explanations with verdict No (truth: ``category``, 14
classes) and TofuEval dev explanations with a single error type (truth: ``type``, 7).

Ours runs the whole library path: notes imported into a fresh store, ``mine(names="keywords")``,
then a re-run with ``names="llm"`` (the embedded SmolLM2 by default) on the same store; NMI/ARI
come from the stored patterns' members, with noise counted as one more label. Naming does
not move notes between patterns, so both runs should score the same; the bench checks it.
BERTopic runs with its defaults on the same embeddings (``fit_transform(docs, embeddings=E)``),
in its own virtualenv, several times because its UMAP is unseeded by default.
The last line is one JSON object.
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

from bench_mine_common import DATASETS, embeddings_for, run_worker, scores


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


def ours(name: str, ids: list[str], texts: list[str], truth: list[str], vectors: Any, llm: Any) -> dict[str, Any]:
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
        out["keywords"] = {**scores(truth, labels_from_run(keyword_run, [n.id for n in notes])),
                           "wall_s": round(time.perf_counter() - started, 2),
                           "themes": keyword_run.run.themes,
                           "example_names": [p.name for p in keyword_run.patterns[:5]]}
        if llm is not None:
            started = time.perf_counter()
            llm_run = asyncio.run(mine(store, names="llm", llm=llm, embedder=embedder))
            out["llm"] = {**scores(truth, labels_from_run(llm_run, [n.id for n in notes])),
                          "wall_s": round(time.perf_counter() - started, 2), "model": llm.model,
                          "named_by_llm": sum(p.named_by.startswith("llm") for p in llm_run.patterns),
                          "example_names": [p.name for p in llm_run.patterns[:5]]}
    return out


def bertopic(texts: list[str], truth: list[str], vectors: Any, runs: int) -> dict[str, Any]:
    results = []
    for _ in range(runs):
        measured = run_worker("bertopic", vectors, texts)
        results.append({**scores(truth, measured["labels"]), "wall_s": measured["wall_s"]})
    return {
        "runs": results,
        "nmi_mean": round(statistics.mean(r["nmi"] for r in results), 4),
        "nmi_max": max(r["nmi"] for r in results),
        "ari_mean": round(statistics.mean(r["ari"] for r in results), 4),
    }


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
    parser.add_argument("--llm-model")
    parser.add_argument("--api-base")
    parser.add_argument("--api-key")
    parser.add_argument("--no-llm", action="store_true")
    args = parser.parse_args()
    llm, server = open_llm(args)
    report: dict[str, Any] = {"bench": "mine_quality", "embedding_model": "all-MiniLM-L6-v2-onnx-int8",
                              "baseline": "BERTopic defaults (UMAP+HDBSCAN+c-TF-IDF) on the same embeddings, "
                                          "run in /work/bench-venv via subprocess", "datasets": {}}
    try:
        for name, load in DATASETS.items():
            ids, texts, truth = load()
            vectors = embeddings_for(name, texts)
            print(f"{name}: {len(texts)} notes, {len(set(truth))} categories", file=sys.stderr)
            mine_scores = ours(name, ids, texts, truth, vectors, llm)
            base = bertopic(texts, truth, vectors, args.bertopic_runs)
            entry = {"notes": len(texts), "categories": len(set(truth)), "oversight": mine_scores, "bertopic": base}
            for mode, got in mine_scores.items():
                entry[f"nmi_ratio_{mode}_vs_bertopic_mean"] = round(got["nmi"] / base["nmi_mean"], 3)
                entry[f"target_met_{mode}"] = got["nmi"] >= base["nmi_mean"]
            report["datasets"][name] = entry
            print(json.dumps({name: {m: (v["nmi"], v["ari"], v["clusters"]) for m, v in mine_scores.items()},
                              "bertopic": (base["nmi_mean"], base["ari_mean"])}), file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
    report["target_met"] = all(v for d in report["datasets"].values() for k, v in d.items()
                               if k.startswith("target_met_"))
    report["llm_names_measured"] = llm is not None
    print(json.dumps(report))


if __name__ == "__main__":
    main()
