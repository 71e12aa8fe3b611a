"""Shared parts of the mine benchmarks: the real data sets, embeddings, and the timed workers.

Run as a worker (the benchmarks do this in fresh subprocesses, so each peak RSS is its own):

    python bench/bench_mine_common.py worker ours|bertopic IN.npz OUT.json

``ours`` runs oversight's clustering (themes included) plus keyword naming (c-TF-IDF);
``bertopic`` runs ``BERTopic().fit_transform(docs, embeddings=E)`` with its defaults (UMAP,
HDBSCAN, c-TF-IDF) in the BERTopic virtualenv (``BERTOPIC_PYTHON``, default
/work/bench-venv/bin/python). Both get the same precomputed embeddings.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OVERSIGHT_BENCH_DATA", ROOT.parent / "shared" / "data"))
BERTOPIC_PYTHON = os.environ.get("BERTOPIC_PYTHON", "/work/bench-venv/bin/python")
CACHE = Path(os.environ.get("OVERSIGHT_BENCH_CACHE", "/tmp/oversight-bench-mine"))


def load_ttcw() -> tuple[list[str], list[str], list[str]]:
    """TTCW expert explanations with verdict No: (ids, texts, category)."""
    ids, texts, category, _ = load_ttcw_with_source()
    return ids, texts, category


def load_ttcw_with_source() -> tuple[list[str], list[str], list[str], list[str]]:
    """TTCW expert explanations with verdict No: (ids, texts, category, story id)."""
    path = DATA / "creativity_eval" / "Art_or_Artifice" / "annotations" / "ttcw_annotations.json"
    rows = [r for r in json.loads(path.read_text(encoding="utf-8"))
            if r["binary_verdict"] == "No" and r["explanation"].strip()]
    ids = [f"{r['story_id']}-{r['expert_idx']}-{r['ttcw_idx']}" for r in rows]
    return (ids, [r["explanation"].strip() for r in rows], [r["category"] for r in rows],
            [str(r["story_id"]) for r in rows])


def load_tofueval() -> tuple[list[str], list[str], list[str]]:
    """TofuEval dev explanations with a single error type: (ids, texts, type)."""
    ids, texts, labels, _ = load_tofueval_with_source()
    return ids, texts, labels


def load_tofueval_with_source() -> tuple[list[str], list[str], list[str], list[str]]:
    """TofuEval dev explanations with a single error type: (ids, texts, type, document id)."""
    ids, texts, labels, sources = [], [], [], []
    for name in ("mediasum", "meetingbank"):
        path = DATA / "tofueval" / "factual_consistency" / f"{name}_factual_eval_dev.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                kind = row["type"].strip()
                if row["exp"].strip() and kind and "," not in kind:
                    ids.append(f"{name}-{i}")
                    texts.append(row["exp"].strip())
                    labels.append(kind)
                    sources.append(f"{name}:{row['doc_id'].strip()}")
    return ids, texts, labels, sources


def load_finegrainedrlhf_edits() -> tuple[list[str], list[str], list[str], list[str]]:
    """FineGrainedRLHF dev: the edits from ``prediction 1`` to ``corrected-prediction`` as notes.

    The diff is the library's (``word_diff`` tokens, ``significant_edits``), and each note's
    text is what the library writes for an edit when no model explains it (``describe_edit``).
    An edit is labelled with the error type of the annotated span it overlaps most (an insert:
    the span containing its position); edits that touch no error span are left out. No cap of
    edits per answer (the library keeps at most ``MAX_EDIT_NOTES``). Returns (ids, texts,
    error type, question index).
    """
    import difflib

    from oversight.mine.notes import describe_edit, significant_edits
    from oversight.refine import _TOKEN
    from oversight.schemas import DiffOp

    path = DATA / "finegrainedrlhf_qa_feedback" / "tasks" / "qa_feedback" / "data" / "dev_feedback.json"
    ids, texts, labels, sources = [], [], [], []
    for q, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        before, after = item["prediction 1"], item["feedback"]["corrected-prediction"]
        spans = [(e["start"], e["end"], e["error type"]) for e in item["feedback"]["errors"]]
        a, b = _TOKEN.findall(before), _TOKEN.findall(after)
        offsets = [0]
        for token in a:
            offsets.append(offsets[-1] + len(token))
        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for k, (tag, i1, i2, j1, j2) in enumerate(matcher.get_opcodes()):
            op = DiffOp(op=tag, before="".join(a[i1:i2]), after="".join(b[j1:j2]))
            if not significant_edits([op]):
                continue
            start, end = offsets[i1], offsets[i2]
            if start == end:  # an insert: the span it lands in
                hits = [(1, kind) for s, e, kind in spans if s <= start <= e]
            else:
                hits = [(min(end, e) - max(start, s), kind) for s, e, kind in spans if min(end, e) > max(start, s)]
            if not hits:
                continue
            ids.append(f"q{q}-op{k}")
            texts.append(describe_edit(op))
            labels.append(max(hits)[1])
            sources.append(f"q{q}")
    return ids, texts, labels, sources


DATASETS = {"ttcw": load_ttcw, "tofueval": load_tofueval}
# (ids, texts, human failure category, source item id) for the quality bench
SOURCED_DATASETS = {"ttcw": load_ttcw_with_source, "tofueval": load_tofueval_with_source,
                    "finegrainedrlhf": load_finegrainedrlhf_edits}


def embeddings_for(name: str, texts: list[str]) -> Any:
    """The default embedder's vectors for a data set (cached on disk between runs)."""
    import numpy as np

    from oversight.mine.embed import MiniLMEmbedder, text_hash

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
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TOKENIZERS_PARALLELISM="false")
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

        started = time.perf_counter()
        clustering = cluster_embeddings(vectors)
        class_keywords(docs, clustering.labels)
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
