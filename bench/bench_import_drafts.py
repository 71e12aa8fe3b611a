"""`oversight tasks import` of N tasks that come with their drafts, beside the import of the same N tasks
without drafts (the import as it was: the baseline), in the same run: wall time and peak memory.

Three files are written from one seed, holding the same N tasks (a question, a context passage, a
domain, an id):

- ``tasks.jsonl``: the tasks alone (the baseline: `tasks import tasks.jsonl`);
- ``drafts.jsonl``: the same rows with a draft column and a model column
  (`tasks import drafts.jsonl --draft-field output --model-field model`);
- ``chat.jsonl``: the same tasks as chat lines (a system turn, the user's turn with the passage, the
  assistant's draft last) with a model field (`tasks import chat.jsonl --model-field model`).

Each import is a real `python -m oversight` process on a fresh database (a SQLite file; a fresh
PostgreSQL schema, dropped afterwards): wall time from start to exit, peak resident memory from the
kernel (wait4), and the tasks and drafts found in the store afterwards. Ratios are with drafts / without.

    python bench/bench_import_drafts.py [--tasks 100000] [--seed 7] [--backends sqlite,postgres]
                                        [--postgres URL] [--keep DIR] [--baseline-src DIR]

PostgreSQL: --postgres, else OVERSIGHT_TEST_POSTGRES_URL, else postgresql://127.0.0.1:5432/test; a
backend that cannot be reached is reported as skipped. Progress goes to stderr; the last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_TEXT = ("the treaty was signed after thirty years of war and it reshaped the map of europe for a century "
         "river capital city harbour council trade grain wool silver empire kingdom duke bishop army siege "
         "peace border tax court law")
WORDS = _TEXT.split()
CASES = {
    "tasks": [],  # the baseline: the same tasks, no drafts
    "drafts": ["--draft-field", "output", "--model-field", "model"],
    "chat": ["--model-field", "model"],
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def write_files(workdir: Path, n: int, seed: int) -> dict[str, Path]:
    """The same ``n`` tasks three ways (seeded): alone, with a draft column, as chat lines."""
    rng = random.Random(seed)
    paths = {case: workdir / f"{case}.jsonl" for case in CASES}
    with paths["tasks"].open("w") as tasks, paths["drafts"].open("w") as drafts, paths["chat"].open("w") as chat:
        for i in range(n):
            prompt = f"Question {i}: {sentence(rng, 18)[:-1]}?"
            context = " ".join(sentence(rng, 16) for _ in range(5))
            draft = " ".join(sentence(rng, 15) for _ in range(4))
            model = f"prod-model-v{i % 3}"
            row = {"id": f"q{i:07d}", "prompt": prompt, "context": context, "domain": f"d{i % 12}"}
            tasks.write(json.dumps(row) + "\n")
            drafts.write(json.dumps({**row, "output": draft, "model": model}) + "\n")
            chat.write(json.dumps({"id": row["id"], "domain": row["domain"], "model": model, "messages": [
                {"role": "system", "content": "Answer from the passage only."},
                {"role": "user", "content": f"{context}\n\n{prompt}"},
                {"role": "assistant", "content": draft}]}) + "\n")
    return paths


@contextmanager
def sqlite_db(workdir: Path, name: str) -> Iterator[str]:
    yield str(workdir / f"{name}.db")


@contextmanager
def postgres_db(base: str) -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_reachable(base: str) -> str | None:
    """None if PostgreSQL answers at ``base``, else why not."""
    try:
        import psycopg

        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to reach it: reported, not raised
        return str(exc).splitlines()[0]
    return None


def run_import(db: str, path: Path, options: list[str], workdir: Path, src: Path) -> dict[str, Any]:
    """One `oversight tasks import` process (the code in ``src``): wall seconds, peak RSS (MB), its summary,
    and the store's counts."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    env = {k: v for k, v in env.items() if not k.startswith("OVERSIGHT_") or k == "OVERSIGHT_TEST_POSTGRES_URL"}
    command = [sys.executable, "-m", "oversight", "--db", db, "tasks", "import", str(path), *options, "--json"]
    out_path, err_path = workdir / "import.out", workdir / "import.err"
    with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out_file, stderr=err_file)
        _, status, usage = os.wait4(process.pid, 0)  # reaped here, with the child's own peak memory
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    out = out_path.read_text()
    if process.returncode != 0 or not out:
        raise RuntimeError(f"import failed: {err_path.read_text(errors='replace')[-500:]}")
    from oversight.store import Store

    with Store.open(db, create=False) as store:
        counts = {"tasks": store.count("tasks"), "drafts": store.count("drafts"),
                  "pending": store.status()["states"]["pending"]}
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "summary": json.loads(out), "store": counts}


def measure(backend: str, paths: dict[str, Path], workdir: Path, postgres: str,
            baseline_src: Path | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    runs = [(case, case, options, ROOT / "src") for case, options in CASES.items()]
    if baseline_src is not None:  # the import without drafts by other code, e.g. main before this change
        runs.insert(0, ("tasks_baseline_src", "tasks", [], baseline_src))
    for name, case, options, src in runs:
        database = sqlite_db(workdir, f"{backend}-{name}") if backend == "sqlite" else postgres_db(postgres)
        with database as db:
            say(f"{backend}: importing {paths[case].name} ({name}) ...")
            results[name] = result = run_import(db, paths[case], options, workdir, src)
            say(f"{backend}: {name}: {result['seconds']} s, peak {result['peak_rss_mb']} MB, store {result['store']}")
    base = results["tasks"]
    for case in ("drafts", "chat"):
        results[case]["time_ratio"] = round(results[case]["seconds"] / base["seconds"], 2)
        if base["peak_rss_mb"] and results[case]["peak_rss_mb"]:
            results[case]["memory_ratio"] = round(results[case]["peak_rss_mb"] / base["peak_rss_mb"], 2)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get("OVERSIGHT_TEST_POSTGRES_URL")
                        or "postgresql://127.0.0.1:5432/test")
    parser.add_argument("--keep", type=Path, help="Write the files and databases here and keep them.")
    parser.add_argument("--baseline-src", type=Path, help="Also import the tasks without drafts with the code in "
                        "this src/ folder (e.g. a checkout of main before this change).")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        paths = write_files(workdir, args.tasks, args.seed)
        say(f"wrote {args.tasks:,} tasks three ways in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths.values()))
        out: dict[str, Any] = {"bench": "import_drafts", "tasks": args.tasks, "seed": args.seed,
                               "file_mb": {case: round(p.stat().st_size / 1e6, 1) for case, p in paths.items()},
                               "load_average": [round(x, 2) for x in os.getloadavg()], "backends": {}}
        for backend in args.backends.split(","):
            if backend == "postgres" and (why := postgres_reachable(args.postgres)) is not None:
                out["backends"][backend] = {"skipped": why}
                say(f"postgres: skipped ({why})")
                continue
            out["backends"][backend] = measure(backend, paths, workdir, args.postgres, args.baseline_src)
        for backend, results in out["backends"].items():
            for case in ("drafts", "chat"):
                if case in results:
                    print(f"{backend:8} {case:6}: {results[case]['seconds']:7.2f} s ({results[case]['time_ratio']}x), "
                          f"peak {results[case]['peak_rss_mb']} MB ({results[case].get('memory_ratio')}x) "
                          f"beside {results['tasks']['seconds']} s, {results['tasks']['peak_rss_mb']} MB without drafts")
        print(json.dumps(out))


if __name__ == "__main__":
    main()
