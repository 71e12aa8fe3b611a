"""Speed and memory of mining at 1k, 10k and 50k notes, as ratios to BERTopic on the same embeddings.

    python bench/bench_mine_scale.py [--sizes 1000,10000,50000] [--seed 20261126] [--no-distinct]

The real notes (TTCW No explanations + TofuEval single-type explanations, 1,884 texts) are
grown by resampling with replacement (numpy seed recorded in the output): no paraphrase,
so a grown set repeats texts. oversight clusters identical texts once, so a second variant,
"distinct", adds tiny Gaussian noise (sigma 0.005 per dimension, then re-normalised;
cosine to the original about 0.995) to every resampled vector: no two notes are identical,
which exercises the large-set path (exact clustering of a seeded 4,000 sample, the rest
labelled by nearest neighbours).

Each side runs in a fresh process on the same saved embeddings: oversight's clustering,
themes and keyword naming; BERTopic's ``fit_transform(docs, embeddings=E)`` with defaults
(in /work/bench-venv). Embedding is shared, so it is not timed here (the default embedder
does about 1,000 TTCW-length notes in 6-15 s on 2 busy cores). Peak RSS is the worker's
``ru_maxrss``. ratio = ours / BERTopic (target <= 1.0); 50k under 2 GB.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_mine_common import DATASETS, embeddings_for, run_worker

JITTER = 0.005


def pool() -> tuple[list[str], Any]:
    import numpy as np

    texts: list[str] = []
    vectors = []
    for name, load in DATASETS.items():
        _, found, _ = load()
        texts += found
        vectors.append(embeddings_for(name, found))
    return texts, np.vstack(vectors)


def grow(texts: list[str], vectors: Any, size: int, seed: int, distinct: bool) -> tuple[list[str], Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(texts), size)
    grown = vectors[pick].copy()
    if distinct:
        grown += rng.normal(scale=JITTER, size=grown.shape).astype(np.float32)
        grown /= np.linalg.norm(grown, axis=1, keepdims=True)
    return [texts[i] for i in pick], grown.astype(np.float32)


def measure(size: int, variant: str, texts: list[str], vectors: Any, seed: int) -> dict[str, Any]:
    docs, grown = grow(texts, vectors, size, seed, variant == "distinct")
    ours = run_worker("ours", grown, docs)
    base = run_worker("bertopic", grown, docs)
    k = max(ours["labels"]) + 1
    return {
        "notes": size,
        "variant": variant,
        "distinct_vectors": ours["distinct"],
        "oversight": {"wall_s": ours["wall_s"], "peak_rss_mb": ours["peak_rss_mb"],
                      "rss_after_load_mb": ours["rss_after_load_mb"], "patterns": k,
                      "noise_share": round(sum(1 for x in ours["labels"] if x < 0) / size, 4)},
        "bertopic": {"wall_s": base["wall_s"], "peak_rss_mb": base["peak_rss_mb"],
                     "rss_after_load_mb": base["rss_after_load_mb"], "topics": max(base["labels"]) + 1,
                     "noise_share": round(sum(1 for x in base["labels"] if x < 0) / size, 4)},
        "time_ratio": round(ours["wall_s"] / base["wall_s"], 4),
        "rss_ratio": round(ours["peak_rss_mb"] / base["peak_rss_mb"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--no-distinct", action="store_true")
    args = parser.parse_args()
    texts, vectors = pool()
    variants = ["resampled"] + ([] if args.no_distinct else ["distinct"])
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for variant in variants:
            row = measure(size, variant, texts, vectors, args.seed)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("notes", "variant", "time_ratio", "rss_ratio")}
                             | {"ours_s": row["oversight"]["wall_s"], "bertopic_s": row["bertopic"]["wall_s"],
                                "ours_mb": row["oversight"]["peak_rss_mb"]}), file=sys.stderr)
    largest = [r for r in rows if r["notes"] == max(r2["notes"] for r2 in rows)]
    print(json.dumps({
        "bench": "mine_scale",
        "growth": f"resampled with replacement from {len(texts)} real notes (TTCW No + TofuEval single-type), "
                  f"numpy seed {args.seed}; 'distinct' adds N(0, {JITTER}) per dimension then re-normalises",
        "timed": "clustering + themes + keyword names (ours) vs BERTopic fit_transform with precomputed "
                 "embeddings (defaults); each in a fresh subprocess; embedding not timed (shared)",
        "results": rows,
        "max_time_ratio": max(r["time_ratio"] for r in rows),
        "max_rss_ratio": max(r["rss_ratio"] for r in rows),
        "largest_peak_rss_mb": max(r["oversight"]["peak_rss_mb"] for r in largest),
        "target_met": all(r["time_ratio"] <= 1.0 and r["rss_ratio"] <= 1.0 for r in rows)
        and all(r["oversight"]["peak_rss_mb"] < 2048 for r in largest),
    }))


if __name__ == "__main__":
    main()
