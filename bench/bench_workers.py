"""Several `oversight draft` workers on one database: throughput, and correctness across a SIGKILL.

For each backend (a SQLite file; PostgreSQL in a fresh schema that the bench creates and
drops) the bench runs real `oversight draft` processes against the stub OpenAI-compatible
server (tests/support/stub_server.py, in its own process), which answers every call after
a fixed latency and logs it. Each run gets a fresh database with N tasks imported by
`oversight tasks import`.

1. one worker drafts N tasks: wall time (from start to exit);
2. W workers at once draft N tasks: wall time; ratio = W-worker tasks/s over 1-worker
   tasks/s (target >= 3 with 4 workers: the model, not the CPU, is the bottleneck).
   Two ratios: over the wall time (process start-up, ~5 s of CPU a worker for imports,
   included) and over the model phase (first model call to last: the steady throughput);
3. W workers at once draft N tasks; one of them is killed with SIGKILL when about half the
   tasks await review; the others finish; then one more worker sweeps up the killed one's
   claims (same machine: released at once, its pid is gone, so the bench reaps it first).
   Checked from the store: one draft and one critique per task, every task awaiting
   review. Checked from the server's log (each worker has its own API path, so calls are
   traced to workers): model calls <= 2N + the killed worker's calls in flight at the kill
   (sent before it, their result not stored by then), and "paid twice" = calls for a task
   whose draft (critique) was already stored when the call came in (must be 0).

Defaults, chosen so the model is the bottleneck and the bench ends in ~8 minutes on 2 idle
cores: 1,000 tasks, 4 workers, concurrency 8 a worker, 0.5 s a model call. One worker then
needs >= 2,000 calls x 0.5 s / 8 = 125 s, four >= 31 s (plus start-up). A worker spends
~25 ms of CPU a task, so four at 32 calls in flight keep about one core busy: on a machine
that other work loads, the CPU becomes the bottleneck and the ratios drop (the JSON keeps
the load average).

    python bench/bench_workers.py [--tasks 1000] [--workers 4] [--concurrency 8] [--latency 0.5]
                                  [--backends sqlite,postgres] [--postgres URL]

PostgreSQL: --postgres, else OVERSIGHT_TEST_POSTGRES_URL, else postgresql://127.0.0.1:5432/test;
a backend that cannot be reached is reported as skipped. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
OVERSIGHT = Path(sys.executable).parent / "oversight"  # the console script itself: SIGKILL hits the worker
MODEL = "openai/stub"
TASK_ID = re.compile(r"\[(b\d{5})\]")
TROUBLE = ("Traceback", "database is locked", "deadlock", "could not serialize", "UniqueViolation", "IntegrityError")


# -- parts: the model server, databases, workers ---------------------------------------------


@contextmanager
def stub_server(latency: float, log: Path) -> Iterator[str]:
    """The stub model server in its own process; yields its root URL (workers add /w<k>/v1)."""
    # its stderr is kept apart: a killed worker's open requests end in BrokenPipe tracebacks there
    with log.with_suffix(".stderr").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "tests.support.stub_server", "--latency", str(latency),
                                    "--log", str(log)], cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert process.stdout is not None
    api_base = process.stdout.readline().strip()
    try:
        yield api_base.removesuffix("/v1")
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Backend:
    name: str
    fresh: Callable[[Path], Any]  # a context manager yielding a new, empty database URL


@contextmanager
def sqlite_db(workdir: Path) -> Iterator[str]:
    yield str(workdir / f"bench-{uuid.uuid4().hex[:8]}.db")  # checkpoints go beside it


def postgres_backend(base: str) -> Backend:
    @contextmanager
    def fresh(_workdir: Path) -> Iterator[str]:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:  # the store and the checkpointer both use this URL, so both live in the schema
            yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return Backend("postgres", fresh)


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    env.update(OVERSIGHT_API_KEY="sk-bench", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def import_tasks(url: str, n: int, workdir: Path) -> None:
    path = workdir / "tasks.jsonl"
    with path.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"b{i:05d}",
                                     "prompt": f"[b{i:05d}] In one sentence: why is the sky blue on planet {i}?"}) + "\n")
    done = subprocess.run([str(OVERSIGHT), "--db", url, "tasks", "import", str(path)], cwd=workdir,
                          env=worker_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"tasks import failed: {done.stderr.strip()}")


def start_worker(url: str, server: str, k: int, concurrency: int, workdir: Path, tag: str) -> subprocess.Popen[bytes]:
    """`oversight draft` as worker k: its model calls go to <server>/w<k>/v1, so the log tells workers apart."""
    with (workdir / f"{tag}-w{k}.out").open("wb") as out, (workdir / f"{tag}-w{k}.err").open("wb") as err:
        return subprocess.Popen([str(OVERSIGHT), "--db", url, "draft", "--model", MODEL, "--api-base",
                                 f"{server}/w{k}/v1", "--concurrency", str(concurrency), "--json"],
                                cwd=workdir, env=worker_env(), stdout=out, stderr=err)


def wait_all(processes: list[subprocess.Popen[bytes]], deadline: float) -> tuple[list[int], list[float]]:
    """Wait for every process (killing what is left at ``deadline``); their exit codes and end times."""
    ended: dict[int, float] = {}
    while len(ended) < len(processes):
        for i, process in enumerate(processes):
            if i not in ended and process.poll() is not None:
                ended[i] = time.time()
        if time.monotonic() > deadline:
            for i, process in enumerate(processes):
                if i not in ended:
                    process.kill()
                    process.wait()
                    ended[i] = time.time()
        time.sleep(0.05)
    return [int(p.returncode) for p in processes], [ended[i] for i in range(len(processes))]


def trouble_lines(workdir: Path, tag: str) -> list[str]:
    lines = []
    for path in sorted(workdir.glob(f"{tag}-w*.err")):
        for line in path.read_text(errors="replace").splitlines():
            if any(word in line for word in TROUBLE) or line.startswith("Error"):
                lines.append(f"{path.stem}: {line.strip()[:200]}")
    return lines


# -- what the store and the server's log say ------------------------------------------------


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def check(url: str, n: int, log: Path, *, victim: int | None = None, killed_at: float | None = None) -> dict[str, Any]:
    """Per-task drafts and critiques from the store; model calls, by task and worker, from the log."""
    from sqlalchemy import select

    from oversight.store import Store
    from oversight.store import tables as t

    with Store.open(url, migrate=False) as store:
        states = Counter(s.state for s in store.task_states())
        with store.reading() as conn:
            stored: dict[tuple[str, str], list[float]] = defaultdict(list)
            for kind, table in (("draft", t.drafts), ("critique", t.critiques)):
                for task_id, created in conn.execute(select(table.c.task_id, table.c.created_at)):
                    stored[(task_id, kind)].append(_epoch(created))
    drafts = Counter(len(stored.get((f"b{i:05d}", "draft"), [])) for i in range(n))
    critiques = Counter(len(stored.get((f"b{i:05d}", "critique"), [])) for i in range(n))

    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    by_worker: dict[str, list[float]] = defaultdict(list)
    for call in calls:
        by_worker[call["path"].split("/")[1]].append(call["at"])
    unattributed = paid_twice = in_flight = 0
    per_task: Counter[tuple[str, str]] = Counter()
    for call in calls:
        found = TASK_ID.search(call["last_message"])
        if not found:
            unattributed += 1
            continue
        key = (found.group(1), call["kind"])
        per_task[key] += 1
        when = min(stored.get(key, [float("inf")]))
        if call["at"] > when:
            paid_twice += 1  # asked after its answer was in the store
        if (victim is not None and killed_at is not None and call["path"].startswith(f"/w{victim}/")
                and call["at"] <= killed_at and when > killed_at):
            in_flight += 1  # the killed worker had sent it; its answer never reached the store
    return {
        "states": {k: v for k, v in states.items() if v},
        "tasks_with_one_draft": drafts.get(1, 0),
        "tasks_with_one_critique": critiques.get(1, 0),
        "drafts_per_task": {str(k): v for k, v in sorted(drafts.items())},
        "critiques_per_task": {str(k): v for k, v in sorted(critiques.items())},
        "model_calls": len(calls),
        "draft_calls": sum(1 for c in calls if c["kind"] == "draft"),
        "critique_calls": sum(1 for c in calls if c["kind"] == "critique"),
        "tasks_asked_twice": sum(1 for count in per_task.values() if count > 1),
        "unattributed_calls": unattributed,
        "paid_twice": paid_twice,
        "in_flight_at_kill": in_flight,
        "model_span_s": round(max(c["at"] for c in calls) - min(c["at"] for c in calls), 2) if calls else 0.0,
        "_calls_by_worker": {w: (min(ats), max(ats), len(ats)) for w, ats in by_worker.items()},
    }


def phases(result: dict[str, Any], started_at: float, ended_at: list[float]) -> dict[str, Any]:
    """Per worker: seconds from the start to its first model call (start-up), and from its last one to its exit."""
    seen = result.pop("_calls_by_worker")
    out: dict[str, Any] = {"start_up_s": [], "exit_after_last_call_s": [], "calls_per_worker": []}
    for k, ended in enumerate(ended_at):
        first, last, count = seen.get(f"w{k}", (started_at, ended, 0))
        out["start_up_s"].append(round(first - started_at, 1))
        out["exit_after_last_call_s"].append(round(ended - last, 1))
        out["calls_per_worker"].append(count)
    return out


def exactly_once(result: dict[str, Any], n: int) -> bool:
    return (result["states"] == {"awaiting_review": n} and result["tasks_with_one_draft"] == n
            and result["tasks_with_one_critique"] == n and result["paid_twice"] == 0
            and result["unattributed_calls"] == 0
            and result["model_calls"] <= 2 * n + result["in_flight_at_kill"])


# -- the three runs ---------------------------------------------------------------------------


def timed_run(backend: Backend, args: argparse.Namespace, workdir: Path, workers: int, tag: str) -> dict[str, Any]:
    """``workers`` workers at once over N fresh tasks; wall time until the last one exits."""
    log = workdir / f"{tag}.log.jsonl"
    with backend.fresh(workdir) as url, stub_server(args.latency, log) as server:
        import_tasks(url, args.tasks, workdir)
        started, started_at = time.perf_counter(), time.time()
        processes = [start_worker(url, server, k, args.concurrency, workdir, tag) for k in range(workers)]
        codes, ended_at = wait_all(processes, time.monotonic() + args.timeout)
        wall = time.perf_counter() - started
        result = check(url, args.tasks, log)
    result.update(phases(result, started_at, ended_at))
    result.update(workers=workers, wall_s=round(wall, 2), tasks_per_s=round(args.tasks / wall, 2),
                  exit_codes=codes, trouble=trouble_lines(workdir, tag))
    result["ok"] = exactly_once(result, args.tasks) and result["model_calls"] == 2 * args.tasks and codes == [0] * workers
    return result


def kill_run(backend: Backend, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """W workers; SIGKILL one at half way; the rest finish; one more sweeps up."""
    from oversight.store import Store

    tag, n, victim = "kill", args.tasks, 0
    log = workdir / f"{tag}.log.jsonl"
    with backend.fresh(workdir) as url, stub_server(args.latency, log) as server:
        import_tasks(url, n, workdir)
        started = time.perf_counter()
        deadline = time.monotonic() + args.timeout
        processes = [start_worker(url, server, k, args.concurrency, workdir, tag) for k in range(args.workers)]
        awaiting_at_kill = -1
        with Store.open(url, migrate=False) as store:  # read-only: counts tasks awaiting review
            while time.monotonic() < deadline and processes[victim].poll() is None:
                awaiting = len(store.task_states("awaiting_review"))
                if awaiting >= n // 2:
                    killed_at = time.time()
                    os.kill(processes[victim].pid, signal.SIGKILL)
                    awaiting_at_kill = awaiting
                    break
                time.sleep(0.2)
        processes[victim].wait()  # reaped: a zombie still answers kill(pid, 0), and would look alive
        if awaiting_at_kill < 0:
            raise SystemExit(f"{backend.name}: the kill did not land (worker {victim} ended first)")
        with Store.open(url, migrate=False) as store:
            held_by_victim = sum(1 for _, claim in store.held_claims() if f"/{processes[victim].pid}/" in claim)
        survivors, _ = wait_all(processes[1:], deadline)
        survivors_s = time.perf_counter() - started
        with Store.open(url, migrate=False) as store:
            left_before_sweep = {k: v for k, v in store.status()["states"].items() if v and k != "awaiting_review"}
        sweep = start_worker(url, server, args.workers, args.concurrency, workdir, tag)
        sweep_code = wait_all([sweep], deadline)[0][0]
        wall = time.perf_counter() - started
        result = check(url, n, log, victim=victim, killed_at=killed_at)
        result.pop("_calls_by_worker")
    result.update(workers=args.workers, killed_when_awaiting=awaiting_at_kill, victim_claims_held=held_by_victim,
                  victim_exit=processes[victim].returncode, survivor_exit_codes=survivors,
                  survivors_s=round(survivors_s, 2), left_before_sweep=left_before_sweep, sweep_exit=sweep_code,
                  wall_s=round(wall, 2), trouble=trouble_lines(workdir, tag))
    result["extra_calls"] = result["model_calls"] - 2 * n
    result["ok"] = (exactly_once(result, n) and result["victim_exit"] == -signal.SIGKILL
                    and survivors == [0] * (args.workers - 1) and sweep_code == 0
                    and result["in_flight_at_kill"] <= args.concurrency)
    return result


def bench_backend(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-workers-{backend.name}-") as tmp:
        workdir = Path(tmp)
        one = timed_run(backend, args, workdir, 1, "one")
        print(f"{backend.name}: 1 worker {one['wall_s']} s", file=sys.stderr, flush=True)
        many = timed_run(backend, args, workdir, args.workers, "many")
        print(f"{backend.name}: {args.workers} workers {many['wall_s']} s", file=sys.stderr, flush=True)
        killed = kill_run(backend, args, workdir)
        print(f"{backend.name}: kill run {killed['wall_s']} s, ok={killed['ok']}", file=sys.stderr, flush=True)
    ratio = many["tasks_per_s"] / one["tasks_per_s"] if one["tasks_per_s"] else 0.0
    model_ratio = one["model_span_s"] / many["model_span_s"] if many["model_span_s"] else 0.0
    return {"one_worker": one, "workers": many, "kill": killed, "ratio": round(ratio, 2),
            "ratio_model_phase": round(model_ratio, 2), "ok": one["ok"] and many["ok"] and killed["ok"]}


# -- main -------------------------------------------------------------------------------------


def postgres_reachable(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # any reason is a reason to skip
        return str(exc).strip().splitlines()[0]


def table(results: dict[str, Any], args: argparse.Namespace) -> str:
    w = args.workers
    rows = [("", *results)]
    for label, get in [
        ("1 worker: wall s", lambda r: r["one_worker"]["wall_s"]),
        (f"{w} workers: wall s", lambda r: r["workers"]["wall_s"]),
        ("1 worker: model phase s", lambda r: r["one_worker"]["model_span_s"]),
        (f"{w} workers: model phase s", lambda r: r["workers"]["model_span_s"]),
        ("1 worker: start-up s", lambda r: r["one_worker"]["start_up_s"][0]),
        (f"{w} workers: start-up s (each)", lambda r: " ".join(map(str, r["workers"]["start_up_s"]))),
        (f"ratio tasks/s {w} vs 1 (wall)", lambda r: f"{r['ratio']}x"),
        (f"ratio tasks/s {w} vs 1 (model phase)", lambda r: f"{r['ratio_model_phase']}x"),
        ("clean runs: calls = 2N, once each", lambda r: r["one_worker"]["ok"] and r["workers"]["ok"]),
        ("kill: awaiting review at the kill", lambda r: r["kill"]["killed_when_awaiting"]),
        ("kill: victim's claims held", lambda r: r["kill"]["victim_claims_held"]),
        ("kill: left for the sweep", lambda r: r["kill"]["left_before_sweep"] or "-"),
        ("kill: model calls (2N + extra)", lambda r: f"{r['kill']['model_calls']} (+{r['kill']['extra_calls']})"),
        ("kill: in flight at the kill", lambda r: r["kill"]["in_flight_at_kill"]),
        ("kill: paid twice", lambda r: r["kill"]["paid_twice"]),
        ("kill: tasks with 1 draft / 1 critique",
         lambda r: f"{r['kill']['tasks_with_one_draft']} / {r['kill']['tasks_with_one_critique']}"),
        ("kill: states", lambda r: r["kill"]["states"]),
        ("worker errors logged", lambda r: sum(len(r[k]["trouble"]) for k in ("one_worker", "workers", "kill"))),
        ("ok", lambda r: r["ok"]),
    ]:
        rows.append((label, *(str(get(r)) if "skipped" not in r else "skipped" for r in results.values())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8, help="model calls at once, per worker")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get("OVERSIGHT_TEST_POSTGRES_URL")
                        or "postgresql://127.0.0.1:5432/test")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a run may take before it is stopped")
    args = parser.parse_args()
    if not OVERSIGHT.exists():
        raise SystemExit(f"no console script at {OVERSIGHT}: install the project into this environment")

    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if name == "sqlite":
            results[name] = bench_backend(Backend("sqlite", sqlite_db), args)
        elif name == "postgres":
            if (reason := postgres_reachable(args.postgres)) is not None:
                results[name] = {"skipped": reason, "ok": None}
                continue
            results[name] = bench_backend(postgres_backend(args.postgres), args)
        else:
            raise SystemExit(f"unknown backend {name!r}: sqlite or postgres")

    print(table(results, args))
    print(f"{args.tasks} tasks, {args.workers} workers x concurrency {args.concurrency}, {args.latency} s a call; "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    ran = [r for r in results.values() if "skipped" not in r]
    print(json.dumps({
        "bench": "workers", "tasks": args.tasks, "workers": args.workers, "concurrency": args.concurrency,
        "latency_s": args.latency, "ideal_one_worker_s": round(2 * args.tasks * args.latency / args.concurrency, 1),
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "backends": results, "ok": bool(ran) and all(r["ok"] for r in ran),
    }, default=str))


if __name__ == "__main__":
    main()
