"""`oversight export` of 1,000,000 refinements to each format: peak memory and time, against a plain
full read of the same rows on the same database.

    python bench/bench_export.py [--sizes 100000,1000000] [--dbs sqlite,postgres] [--old-at 100000] [--keep DIR]

Rows: synthetic, seeded (``--seed``): one task (some with a context passage), draft, critique (two
findings shown, one held back) and refinement each; decisions accept 35%, edit 30%, rewrite 10%,
reject 15% (a third with a refined text), skip 5%, and 5% answered by a simulated reviewer. They
are written in bulk (executemany, 5,000 rows a statement batch): what is measured is the export.
The sizes grow one database: the second size adds rows to the first's.

Each export runs as the real command (``oversight --db URL export ...``) in a child process;
its wall time and peak RSS (VmHWM, which the child reads as it exits) are taken. Formats: the
flat rows (JSONL, Parquet) and sft, preference and kto (JSONL, and a dataset folder: Parquet and a
card). Baselines, in a child process too, read the same joined rows (refinements with their task,
draft and critique, oldest first) and write them out with no work on them:

- SQLite: a plain SELECT written to CSV (Python's sqlite3 and csv: what `.dump` costs, on the rows);
- PostgreSQL: ``COPY (SELECT ...) TO STDOUT`` into a file (psycopg's copy).

``ratio`` = export time / baseline time. ``--old-at N``: also the export as it was before it streamed
(every task loaded, each draft and critique fetched by id), at that size only (at 1M it would take
hours). PostgreSQL needs OVERSIGHT_TEST_POSTGRES_URL (a schema of its own, dropped after unless --keep).
Progress goes to stderr, results to stdout; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

EXPORTS = {  # name -> export options (the output path is added)
    "flat.jsonl": [], "flat.parquet": [],
    "sft.jsonl": ["--as", "sft"], "sft.hf": ["--as", "sft"],
    "preference.jsonl": ["--as", "preference"], "preference.hf": ["--as", "preference"],
    "kto.jsonl": ["--as", "kto"], "kto.hf": ["--as", "kto"],
}
JOIN = ("SELECT r.id, r.created_at, r.data, t.data, t.source, d.data, c.data FROM refinements r "
        "LEFT JOIN tasks t ON t.id = r.task_id LEFT JOIN drafts d ON d.id = r.draft_id "
        "LEFT JOIN critiques c ON c.id = r.critique_id ORDER BY r.created_at, r.id")
SENTENCE = ("the treaty was signed in 1648 after thirty years of war and it reshaped the map of europe for a "
            "century while historians still argue about how much it changed in the lives of ordinary people")
WORDS = SENTENCE.split()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- seeding ------------------------------------------------------------------------------------------


def seed(url: str, start: int, stop: int, rng: random.Random) -> float:
    """Refinements ``start`` to ``stop`` (with their tasks, drafts, critiques), in bulk; the seconds taken.

    Records are built as dicts from one pydantic record of each kind (what ``model_dump`` gives), so
    that seeding a million costs minutes, not the validation of four million models."""
    from sqlalchemy import insert

    from oversight.schemas import Critique, Draft, DroppedFinding, Finding, FindingVerdict, Refinement, Task, Usage
    from oversight.store import Store
    from oversight.store import tables as t
    from oversight.store._summaries import critique_summary, draft_summary, refinement_summary

    finding = Finding(quote="x", issue="Check it.", severity="low", category="factual-error")
    task_t = Task(id="t", prompt="p").model_dump(mode="json")
    draft_t = Draft(id="d", task_id="t", model="m", prompt_name="draft", prompt_version="v1", text="x",
                    usage=Usage(prompt_tokens=120, completion_tokens=80)).model_dump(mode="json")
    critique_t = Critique(id="c", draft_id="d", task_id="t", model="openai/critic", prompt_name="critique",
                          prompt_version="v2", grounding="quote-in-draft/1", summary="Two issues.",
                          findings=[finding, finding.model_copy(update={"issue": "Unsupported.",
                                                                        "category": "unsupported-claim"})],
                          dropped=[DroppedFinding(finding=finding.model_copy(update={"quote": "1649"}),
                                                  reason="not-in-draft")]).model_dump(mode="json")
    refinement_t = Refinement(task_id="t", draft_id="d", decision="accept", seconds_spent=30.0,
                              finding_verdicts=[FindingVerdict(finding=0, verdict="right")]).model_dump(mode="json")
    began = time.perf_counter()
    epoch = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(url) as store:
        for lo in range(start, stop, 5000):
            tasks, drafts, critiques, refinements = [], [], [], []
            for i in range(lo, min(stop, lo + 5000)):
                made = epoch + timedelta(seconds=i)
                at = made.isoformat().replace("+00:00", "Z")
                words = rng.choices(WORDS, k=rng.randint(40, 90))
                text = " ".join(words) + "."
                tid, did, cid = f"t{i:07d}", f"d{i:07d}", f"c{i:07d}"
                task = {**task_t, "id": tid, "prompt": f"Question {i}: what happened in {1600 + i % 100}?",
                        "context": " ".join(rng.choices(WORDS, k=120)) if i % 4 == 0 else None,
                        "domain": f"d{i % 8}", "metadata": {"license": "cc-by-4.0"} if i % 2 else {}, "created_at": at}
                draft = {**draft_t, "id": did, "task_id": tid, "model": f"openai/drafter-{i % 3}", "text": text,
                         "created_at": at}
                findings = [{**critique_t["findings"][0], "quote": words[0]}, {**critique_t["findings"][1],
                                                                               "quote": words[1]}]
                critique = {**critique_t, "id": cid, "draft_id": did, "task_id": tid, "findings": findings,
                            "created_at": at}
                roll = rng.random()
                decision = ("accept" if roll < 0.35 else "edit" if roll < 0.65 else "rewrite" if roll < 0.75
                            else "reject" if roll < 0.9 else "skip" if roll < 0.95 else "edit")
                refined, diff = None, []
                if decision == "rewrite":
                    refined = " ".join(rng.choices(WORDS, k=50)) + "."
                    diff = [{"op": "replace", "before": text, "after": refined}]
                elif decision == "edit" or (decision == "reject" and rng.random() < 1 / 3):
                    k = rng.randrange(1, len(words) - 1)
                    head, tail = " ".join(words[:k]) + " ", " " + " ".join(words[k + 1:]) + "."
                    refined = head + "1649" + tail
                    diff = [{"op": "equal", "before": head, "after": head},
                            {"op": "replace", "before": words[k], "after": "1649"},
                            {"op": "equal", "before": tail, "after": tail}]
                refinement = {**refinement_t, "id": f"r{i:07d}", "task_id": tid, "draft_id": did, "critique_id": cid,
                              "decision": decision, "refined_text": refined, "diff": diff,
                              "tags": ["factual-error"] if refined else [], "reviewer": f"trainer{i % 25}",
                              "simulated": roll >= 0.95, "created_at": at}
                tasks.append({"id": tid, "domain": task["domain"], "kind": None,
                              "source": f"batch-{i // 100_000:02d}.jsonl", "created_at": made, "data": task})
                drafts.append({"id": did, "task_id": tid, "model": draft["model"], "prompt_version": "v1",
                               "created_at": made, "data": draft, **draft_summary(draft)})
                critiques.append({"id": cid, "draft_id": did, "task_id": tid, "model": "openai/critic",
                                  "created_at": made, "data": critique, **critique_summary(critique)})
                refinements.append({"id": refinement["id"], "task_id": tid, "draft_id": did, "decision": decision,
                                    "reviewer": refinement["reviewer"], "seconds_spent": 30.0, "created_at": made,
                                    "data": refinement, **refinement_summary(refinement, 2)})
            with store.engine.begin() as conn:
                for table, rows in ((t.tasks, tasks), (t.drafts, drafts), (t.critiques, critiques),
                                    (t.refinements, refinements)):
                    conn.execute(insert(table), rows)
            if (lo + 5000) % 50_000 == 0 or lo + 5000 >= stop:
                say(f"  seeded {min(stop, lo + 5000):,} refinements ({time.perf_counter() - began:.0f} s)")
        if store.dialect == "postgresql":
            from sqlalchemy import text as sql

            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sql("ANALYZE"))
    return round(time.perf_counter() - began, 1)


# -- measuring: each run a child process, its peak RSS from wait4 ---------------------------------------


# Each child writes its own peak RSS (VmHWM of /proc/self/status) as it exits. Not ``ru_maxrss``: on
# Linux a child's starts at its parent's RSS when it forks (this process holds a seeding's worth).
PEAK = ("import atexit, os\n"
        "def _peak():\n"
        "    with open('/proc/self/status') as s, open(os.environ['BENCH_PEAK'], 'w') as out:\n"
        "        out.write(next(l for l in s if l.startswith('VmHWM')).split()[1])\n"
        "atexit.register(_peak)\n")


def run_child(code: list[str]) -> tuple[float, float, str]:
    """Run ``python -c CODE ARGS...`` in a child; (seconds, its peak RSS in MB, stderr's last line)."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "err", "w+") as err:
        env = {**os.environ, "PYTHONPATH": str(SRC), "BENCH_PEAK": str(Path(tmp) / "peak")}
        began = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", PEAK + code[0], *code[1:]], env=env,
                              stdout=subprocess.DEVNULL, stderr=err, check=False)
        seconds = time.perf_counter() - began
        err.seek(0)
        text = err.read()
        if proc.returncode:
            raise RuntimeError(f"{' '.join(code[1:5])} failed: {text[-2000:]}")
        peak_kb = int((Path(tmp) / "peak").read_text())
    return round(seconds, 2), round(peak_kb / 1024, 1), (text.strip().splitlines() or [""])[-1]


def export_run(url: str, name: str, out: Path) -> dict[str, Any]:
    target = out / name.replace(".hf", "")
    code = ["import sys\nfrom oversight.cli import main\nmain(sys.argv[1:])", "--db", url, "export", *EXPORTS[name], "-o", str(target)]
    seconds, rss, last = run_child(code)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) if target.is_dir() else target.stat().st_size
    return {"seconds": seconds, "peak_rss_mb": rss, "output_mb": round(size / 1e6, 1), "said": last}


BASELINE_SQLITE = """
import csv, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w", newline="", encoding="utf-8") as out:
    writer = csv.writer(out)
    cursor = conn.execute(sys.argv[3])
    while rows := cursor.fetchmany(1000):
        writer.writerows(rows)
"""
BASELINE_POSTGRES = """
import psycopg, sys
with psycopg.connect(sys.argv[1]) as conn, conn.cursor() as cur, open(sys.argv[2], "wb") as out:
    with cur.copy(f"COPY ({sys.argv[3]}) TO STDOUT") as copy:
        for data in copy:
            out.write(data)
"""


def baseline_run(url: str, dialect: str, out: Path) -> dict[str, Any]:
    target = out / "baseline.out"
    if dialect == "sqlite":
        code = [BASELINE_SQLITE, url, str(target), JOIN]
    else:
        code = [BASELINE_POSTGRES, url, str(target), JOIN]
    seconds, rss, _ = run_child(code)
    return {"seconds": seconds, "peak_rss_mb": rss, "output_mb": round(target.stat().st_size / 1e6, 1)}


OLD_EXPORT = """
import sys
from oversight.store import Store
from oversight.refine.answers import diff_stats
store = Store.open(sys.argv[1])
rows = []
tasks = {t.id: t for t in store.tasks()}
for ref in store.refinements():
    task = tasks.get(ref.task_id)
    draft = store.get_draft(ref.draft_id)
    critique = store.get_critique(ref.critique_id) if ref.critique_id else None
    rows.append((ref.id, task.prompt if task else None, draft.text if draft else None,
                 critique.summary if critique else None, diff_stats(ref.diff)))
print(len(rows), file=sys.stderr)
"""


def pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_export_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument("--exports", default=",".join(EXPORTS))
    parser.add_argument("--old-at", type=int, default=100_000, help="Also time the old export at this size (0: never).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Keep the databases and outputs here.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-export-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for dialect in args.dbs.split(","):
        base = os.environ.get("OVERSIGHT_TEST_POSTGRES_URL")
        if dialect == "postgres" and not base:
            say("postgres: set OVERSIGHT_TEST_POSTGRES_URL; skipped")
            continue
        schema, url = pg_schema(base) if dialect == "postgres" else (None, str(work / "export.db"))
        rng, seeded = random.Random(args.seed), 0
        try:
            for size in sizes:
                say(f"{dialect}: seeding to {size:,} refinements")
                seed_s = seed(url, seeded, size, rng)
                seeded = size
                out = work / f"{dialect}-{size}"
                out.mkdir(exist_ok=True)
                row: dict[str, Any] = {"seed_seconds": seed_s}
                base_run = baseline_run(url, "sqlite" if dialect == "sqlite" else "postgres", out)
                row["baseline"] = base_run
                say(f"  baseline: {base_run}")
                for name in args.exports.split(","):
                    result = export_run(url, name, out)
                    result["ratio"] = round(result["seconds"] / base_run["seconds"], 2)
                    row[name] = result
                    say(f"  {name}: {result}")
                if args.old_at and size == args.old_at:
                    seconds, rss, _ = run_child([OLD_EXPORT, url])
                    row["old_export_rows"] = {"seconds": seconds, "peak_rss_mb": rss}
                    say(f"  old export_rows (no writing): {row['old_export_rows']}")
                results[f"{dialect}/{size}"] = row
                print(json.dumps({f"{dialect}/{size}": row}), flush=True)
                if not args.keep:
                    shutil.rmtree(out, ignore_errors=True)  # a million rows' outputs are gigabytes
        finally:
            if schema and not args.keep:
                import psycopg

                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    peaks = [r["peak_rss_mb"] for row in results.values() for k, r in row.items() if k in EXPORTS]
    summary = {"bench": "export", "sizes": sizes, "results": results,
               "max_peak_rss_mb": max(peaks) if peaks else None,
               "under_500_mb": bool(peaks) and max(peaks) < 500}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
