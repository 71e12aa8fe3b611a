"""The review page under load: 20 trainers over 1,000 items, and the queue page at 100,000 items.

For each backend (a SQLite file; PostgreSQL in a scratch database the bench creates and
drops) the review page runs as `oversight serve` (uvicorn, one worker, its own process,
real HTTP on 127.0.0.1), and clients are httpx threads in this process, each trainer with
its own account and session. No model is called: items are seeded with the drafts and
critiques a run would have made (tests/support/review_seed.py), as `oversight draft` leaves
them: each refine thread's pause is written by its answer, so the submit times include it; the
drafter points at a port where nothing listens, so any model call fails loudly.

1. Trainers. N items (default 1,000), a review lease of --lease seconds (default 2 s), three runs on
   fresh databases:
   - library: one reviewer calls review.claim, review.held_item (what the refine page reads)
     and review.submit in this process, no HTTP: the floor of one trainer's loop;
   - one trainer over HTTP: POST /queue/next (CSRF) -> GET /items/<id> -> POST the answer, until
     the queue says empty ('/queue?flash=empty');
   - T trainers at once (default 20) doing the same, plus one more account that, when half the
     items are answered, claims an item, loads its page and walks away: with the short lease
     that item must return to the queue and be answered by someone else. A trainer who finds
     the queue empty while items are still held (the waiting count on /queue > 0) comes back
     a moment later, as a person would.
   Answers: by task number, 1 in 10 skipped, 3 in 10 edited, the rest accepted (tags,
   rationale, a verdict on the critique's finding, a confidence). Checked from the store
   afterwards: every task refined or skipped, one refinement each (none with 0, none with 2+),
   its state matching its decision, reviewers per task unique, the reviewer the one client
   that got the 303 for it; the abandoned item answered by someone else. Reported: items/s,
   p50/p95 of claim, page load and submit, 409s (a lease lost: the trainer was slower than the
   lease), 404s (answered by another after the lease ran out), other errors (5xx), and error
   pages whose answer was kept all the same. A request on a keep-alive connection the server
   had closed is sent again once, as a browser does (counted). Ratios: T trainers' items/s over one trainer's (what concurrency buys on
   one server process), and one trainer's seconds per item over the library's (the HTTP and
   page overhead).
2. The queue page. GET /queue signed in (first page; filtered by domain, 10% of items, which
   joins tasks; by model, 50%, which joins drafts; and the last page, for information) with
   --queue-items awaiting review (default 100,000) and with 1,000 (the baseline: ratio 100k/1k),
   and GET /healthz (the framework's floor). Requests go one at a time, the variants in turn,
   so they share the machine's noise. Target: p95 < 50 ms at 100k for the first page and the
   filtered ones. The store calls behind the page (review_queue_page, review_facets,
   reviewer_progress) are also timed in this process, to show where the time goes.
   Seeding: the store has no bulk path for drafted work (add_tasks is bulk; save_draft and
   save_critique are one transaction each), so the 100k are seeded with seed_items in one
   process per core (two per core on PostgreSQL, whose seeders mostly wait on round trips), PostgreSQL's with synchronous_commit off for the seeding connections
   only; then ANALYZE on PostgreSQL (what autovacuum does after such an import; SQLite gets
   none, as the store never runs it). Seeding time is reported, not part of any ratio.

    python bench/bench_review.py [--items 1000] [--trainers 20] [--queue-items 100000] [--lease 2]
                                 [--requests 100] [--skip-postgres] [--skip-sqlite] [--postgres URL]
                                 [--parts trainers,queue] [--keep DIR] [--quick]

--quick: 60 items, 4 trainers, 2,000 queue items (baseline 200), 20 requests (a smoke run). PostgreSQL:
--postgres, else OVERSIGHT_TEST_POSTGRES_URL, else postgresql://127.0.0.1:5432/test (the scratch
databases are created beside it); a server that cannot be reached is reported as skipped.
Progress goes to stderr, results to stdout; the last line is one JSON object. Figures are
reported, not asserted (the JSON's "ok" is the correctness checks alone). The JSON's "code" names
the commit and a digest of src/oversight at the start and the end: a working tree that changed
during the run (each server imports the code when it starts) is flagged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support.review_seed

from bench_workers import postgres_reachable  # noqa: E402 - a sibling bench (bench/ is the script's folder)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

OVERSIGHT = Path(sys.executable).parent / "oversight"  # the console script: the server is `oversight serve`
MODEL = "openai/drafter"
OTHER_MODEL = "openai/drafter-b"  # half the queue items' drafts, for the model filter
DEAD_API = "http://127.0.0.1:9/v1"  # nothing listens: a model call would fail loudly
DOMAINS = [f"d{k}" for k in range(10)]
BATCHES = 5
TROUBLE = ("Traceback", "database is locked", "deadlock", "could not serialize", "UniqueViolation",
           "IntegrityError", "ERROR")
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WAITING = re.compile(r'<b id="waiting">(\d+\+?)</b>')  # past the page's count limit it says "10000+"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {message}", file=sys.stderr, flush=True)


# -- figures -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of seconds, in ms."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return round(ordered[rank - 1] * 1000, 2)


def latency(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95),
            "max_ms": round(max(values) * 1000, 2) if values else 0.0}


def code_version() -> dict[str, Any]:
    """What code was measured: the commit, and a digest of src/oversight as it is on disk (the tree may
    hold changes not committed; a digest that differs at the end means the code changed during the run)."""
    import hashlib

    digest = hashlib.sha256()
    newest = 0.0
    for path in sorted((ROOT / "src" / "oversight").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".html", ".js", ".css") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    try:
        head = subprocess.run(["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        head = None
    return {"git_head": head, "src_digest": digest.hexdigest()[:16],
            "src_newest_mtime": datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds")}


# -- databases and settings ------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    fresh: Callable[[str], Any]  # tag -> a context manager yielding a new, empty database location
    seed_suffix: str = ""  # added to the URL of seeding connections only


def sqlite_backend(workdir: Path) -> Backend:
    @contextmanager
    def fresh(tag: str) -> Iterator[str]:
        yield str(workdir / f"{tag}.db")  # its checkpoints go beside it

    return Backend("sqlite", fresh)


def postgres_backend(base: str) -> Backend:
    import psycopg

    counter = iter(range(10**6))

    @contextmanager
    def fresh(tag: str) -> Iterator[str]:
        name = f"bench_review_{os.getpid()}_{next(counter)}_{tag}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:  # the store and the checkpointer both use this database
            yield urlsplit(base)._replace(path=f"/{name}", query="").geturl()
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Backend("postgres", fresh, seed_suffix="?options=-csynchronous_commit%3Doff")


def settings_for(db: str, lease: float) -> Any:
    from oversight.config import load_settings

    return load_settings(db=db, model=MODEL, api_base=DEAD_API, api_key="sk-bench", review_lease_seconds=lease)


def server_env(db: str, lease: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    env.update(OVERSIGHT_DB=db, OVERSIGHT_MODEL=MODEL, OVERSIGHT_API_BASE=DEAD_API, OVERSIGHT_API_KEY="sk-bench",
               OVERSIGHT_REVIEW_LEASE_SECONDS=str(lease), LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


# -- seeding -----------------------------------------------------------------------------------


def item(i: int) -> tuple[Any, str, list[Any]]:
    from oversight.schemas import Task
    from tests.support.review_seed import finding

    task_id = f"r{i:06d}"
    task = Task(id=task_id, prompt=f"[{task_id}] What is the capital of country {i}? Answer with one word.",
                domain=DOMAINS[i % len(DOMAINS)])
    text = f"The capital of country {i} is City{i}, a large city by a river."
    return task, text, [finding("a large city by a river", "Adds detail the one-word instruction forbids.",
                                severity="medium", category="instruction-violation")]


def task_number(task_id: str) -> int:
    return int(task_id[1:])


def seed(project: Any, start: int, stop: int, total: int, *, other_model: bool = False) -> None:
    """Items start..stop-1, batch by position; with ``other_model`` half the drafts are another
    model's (for the model filter: such threads cannot be run to the pause without a model)."""
    from tests.support.review_seed import seed_items

    step = 1000
    for lo in range(start, stop, step):
        hi = min(stop, lo + step)
        batch = f"batch-{lo * BATCHES // max(total, 1)}"
        if not other_model:
            seed_items(project, [item(i) for i in range(lo, hi)], source=batch)
            continue
        seed_items(project, [item(i) for i in range(lo, hi) if i % 2 == 0], source=batch)
        seed_items(project, [item(i) for i in range(lo, hi) if i % 2 == 1], source=batch, model=OTHER_MODEL)


def _seed_slice(db: str, lease: float, start: int, stop: int, total: int) -> float:
    """One seeding process (spawned): its slice of the items; returns its seconds."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from oversight.project import Project

    began = time.perf_counter()
    with Project.open(settings_for(db, lease), announce=lambda _m: None) as project:
        for lo in range(start, stop, 10_000):
            seed(project, lo, min(stop, lo + 10_000), total, other_model=True)
            print(f"  seeded {min(stop, lo + 10_000) - start}/{stop - start} of items {start}..{stop - 1}",
                  file=sys.stderr, flush=True)
    return time.perf_counter() - began


def seed_many(backend: Backend, db: str, lease: float, n: int) -> dict[str, Any]:
    """N items awaiting review, seeded in one process per core; the database migrated first."""
    from oversight.store import Store

    Store.open(db).close()  # migrate once, before the seeders start
    seed_db = db + backend.seed_suffix
    # PostgreSQL's seeders mostly wait on round trips: two a core; SQLite's on the CPU (one writer at a time)
    per_core = 2 if backend.name == "postgres" else 1
    procs = max(1, min(per_core * (os.cpu_count() or 1), n // 2000 or 1))
    bounds = [n * k // procs for k in range(procs + 1)]
    began = time.perf_counter()
    if procs == 1:
        _seed_slice(seed_db, lease, 0, n, n)
    else:
        with ProcessPoolExecutor(procs, mp_context=get_context("spawn")) as pool:
            list(pool.map(_seed_slice, [seed_db] * procs, [lease] * procs, bounds[:-1], bounds[1:], [n] * procs))
    seconds = time.perf_counter() - began
    analyzed = False
    if backend.name == "postgres":
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("ANALYZE")
        analyzed = True
    return {"items": n, "processes": procs, "seconds": round(seconds, 1),
            "ms_per_item": round(seconds / max(n, 1) * 1000, 2), "analyzed": analyzed}


def seed_queued(db: str, lease: float, n: int) -> float:
    """N items awaiting review, as `oversight draft` leaves them (the draft and critique stored, the
    refine thread's pause not yet written: each answer writes it); returns seconds."""
    from oversight.project import Project

    began = time.perf_counter()
    with Project.open(settings_for(db, lease), announce=lambda _m: None) as project:
        seed(project, 0, n, n)
    return time.perf_counter() - began


def add_accounts(db: str, names: list[str]) -> dict[str, str]:
    from oversight.review.accounts import add_user
    from oversight.store import Store

    with Store.open(db, migrate=False) as store:
        return {name: add_user(store, name, "trainer")[1] for name in names}


# -- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db: str, lease: float, workdir: Path, tag: str) -> Iterator[tuple[str, Path]]:
    """`oversight serve` on a free port in its own process; yields its URL and its stderr log."""
    import httpx

    port = free_port()
    log = workdir / f"server-{tag}.err"
    with log.open("wb") as err:
        process = subprocess.Popen([str(OVERSIGHT), "serve", "--port", str(port), "--log-level", "warning"],
                                   cwd=workdir, env=server_env(db, lease), stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start in 90 s")
            time.sleep(0.1)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def trouble(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line.strip()[:200] for line in lines if any(word in line for word in TROUBLE)]


def sign_in(url: str, token: str) -> tuple[Any, str]:
    """A signed-in httpx client and its session's CSRF token."""
    import httpx

    client = httpx.Client(base_url=url, follow_redirects=False, timeout=120)
    nonce = NONCE.search(client.get("/login").text)
    assert nonce is not None, "no sign-in form"
    signed = client.post("/login", data={"token": token, "nonce": nonce.group(1), "next": "/"})
    assert signed.status_code == 303, f"sign-in failed: {signed.status_code}"
    queue = client.get("/queue")
    csrf = CSRF.search(queue.text)
    assert queue.status_code == 200 and csrf is not None, f"/queue after sign-in: {queue.status_code}"
    return client, csrf.group(1)


# -- answers -----------------------------------------------------------------------------------


def decision_for(task_id: str) -> str:
    k = task_number(task_id) % 10
    return "skip" if k == 0 else "edit" if k <= 3 else "accept"


def answer_form(task_id: str, csrf: str) -> dict[str, str]:
    """The refine form as a trainer fills it."""
    decision = decision_for(task_id)
    if decision == "skip":
        return {"csrf": csrf, "decision": "skip"}
    form = {"csrf": csrf, "decision": decision, "tags": "verbose, ignores-instruction",
            "rationale": "It was asked for one word.", "verdict_0": "right", "confidence": "4"}
    if decision == "edit":
        form["refined_text"] = f"City{task_number(task_id)}"
    return form


def answer_value(task_id: str) -> dict[str, Any]:
    """The same answer as the library takes it (what answer_from_form makes of the form)."""
    decision = decision_for(task_id)
    if decision == "skip":
        return {"decision": "skip"}
    value: dict[str, Any] = {"decision": decision, "tags": ["verbose", "ignores-instruction"],
                             "rationale": "It was asked for one word.",
                             "finding_verdicts": [{"finding": 0, "verdict": "right"}], "confidence": 0.75}
    if decision == "edit":
        value["refined_text"] = f"City{task_number(task_id)}"
    return value


# -- trainers ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, shared by the trainer threads."""

    claim: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    loop: list[float] = field(default_factory=list)  # claim to submit answered, per item
    answered: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # task -> trainers (303)
    failed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # task -> trainers (5xx)
    lease_lost: int = 0
    empty_waits: int = 0
    gone: int = 0  # 404: answered by someone else after this trainer's lease ran out
    resent: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.answered.values())

    def refused(self, status: int, what: str) -> None:
        """Count a refusal: 409 (the lease was lost), 404 (answered by someone else), else an error.
        The caller holds ``lock``."""
        if status == 409:
            self.lease_lost += 1
        elif status == 404:
            self.gone += 1
        else:
            self.errors.append(f"{what}: {status}")


def send(client: Any, tally: Tally, method: str, path: str, **kwargs: Any) -> Any:
    """One request; on a connection the server closed meanwhile (uvicorn drops keep-alive connections
    idle for 5 s), sent again once on a new one, as a browser does."""
    import httpx

    try:
        return client.request(method, path, **kwargs)
    except httpx.TransportError:
        with tally.lock:
            tally.resent += 1
        return client.request(method, path, **kwargs)


def trainer(url: str, name: str, token: str, tally: Tally, start: threading.Barrier, deadline: float) -> None:
    try:
        client, csrf = sign_in(url, token)
    except Exception as exc:
        with tally.lock:
            tally.errors.append(f"{name} could not sign in: {type(exc).__name__}: {exc}")
        start.wait()
        return
    start.wait()
    try:
        _trainer_loop(client, csrf, name, tally, deadline)
    except Exception as exc:  # a trainer that stops is reported, not a crash of the bench
        with tally.lock:
            tally.errors.append(f"{name} stopped: {type(exc).__name__}: {exc}")
    finally:
        client.close()


def _trainer_loop(client: Any, csrf: str, name: str, tally: Tally, deadline: float) -> None:
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        claimed = send(client, tally, "POST", "/queue/next", data={"csrf": csrf})
        t1 = time.perf_counter()
        where = claimed.headers.get("location", "")
        if claimed.status_code != 303 or not where.startswith(("/items/", "/queue?flash=empty")):
            with tally.lock:
                tally.errors.append(f"{name} POST /queue/next: {claimed.status_code} {where}")
            break
        with tally.lock:
            tally.claim.append(t1 - t0)
        if where.startswith("/queue?flash=empty"):
            waiting = WAITING.search(send(client, tally, "GET", "/queue").text)
            if waiting is None or waiting.group(1) == "0":
                break  # every item answered
            with tally.lock:
                tally.empty_waits += 1
            time.sleep(0.25)  # the rest are held by others: come back in a moment
            continue
        task_id = where.removeprefix("/items/")
        page = send(client, tally, "GET", where)
        t2 = time.perf_counter()
        if page.status_code != 200 or task_id not in page.text:
            with tally.lock:
                tally.refused(page.status_code, f"{name} GET {where}")
            continue
        with tally.lock:
            tally.page.append(t2 - t1)
        done = send(client, tally, "POST", where, data=answer_form(task_id, csrf))
        t3 = time.perf_counter()
        with tally.lock:
            tally.submit.append(t3 - t2)
            if done.status_code == 303 and done.headers.get("location", "").startswith(f"/done/{task_id}?"):
                tally.answered[task_id].append(name)
                tally.loop.append(t3 - t0)
            else:
                tally.refused(done.status_code, f"{name} POST {where}")
                if done.status_code not in (404, 409):
                    tally.failed[task_id].append(name)


def quitter(url: str, token: str, tally: Tally, when: int, deadline: float, out: dict[str, Any]) -> None:
    """Once ``when`` items are answered: claim one, open its page, and walk away."""
    client, csrf = sign_in(url, token)
    try:
        while tally.count() < when and time.monotonic() < deadline:
            time.sleep(0.05)
        claimed = send(client, tally, "POST", "/queue/next", data={"csrf": csrf})
        where = claimed.headers.get("location", "")
        if where.startswith("/items/"):
            page = send(client, tally, "GET", where)
            out.update(task_id=where.removeprefix("/items/"), page_status=page.status_code,
                       answered_before=tally.count(), at=time.monotonic())
        else:
            out.update(task_id=None, claim=f"{claimed.status_code} {where}")
    finally:
        client.close()


def check_store(db: str, ids: list[str], tally: Tally | None, abandoned: str | None,
                quitter_name: str | None) -> dict[str, Any]:
    """Per task from the store: refinements (exactly one), state, reviewers; and agreement with the clients."""
    from oversight.store import Store

    with Store.open(db, migrate=False) as store:
        refinements = store.refinements()
        states = {s.task_id: s.state for s in store.task_states()}
    by_task: dict[str, list[Any]] = defaultdict(list)
    for r in refinements:
        by_task[r.task_id].append(r)
    counts = Counter(len(by_task.get(task_id, [])) for task_id in ids)
    wrong_state = [t for t in ids if len(by_task.get(t, [])) == 1
                   and states.get(t) != ("skipped" if by_task[t][0].decision == "skip" else "refined")]
    repeated_reviewer = [t for t, rs in by_task.items() if len({r.reviewer for r in rs}) != len(rs)]
    result: dict[str, Any] = {
        "tasks": len(ids),
        "refinements": len(refinements),
        "refinements_per_task": {str(k): v for k, v in sorted(counts.items())},
        "lost": counts.get(0, 0),
        "twice_or_more": sum(v for k, v in counts.items() if k >= 2),
        "states": dict(Counter(states.get(t, "missing") for t in ids)),
        "state_not_matching_decision": len(wrong_state),
        "tasks_with_a_reviewer_twice": len(repeated_reviewer),
        "decisions": dict(Counter(r.decision for r in refinements)),
        "reviewers": len({r.reviewer for r in refinements}),
    }
    if tally is not None:
        client_twice = [t for t, who in tally.answered.items() if len(who) > 1]
        reviewer_mismatch = [t for t, who in tally.answered.items()
                             if len(by_task.get(t, [])) == 1 and by_task[t][0].reviewer != who[0]]
        # a submit answered with an error page ("nothing you sent was half recorded") whose answer was kept
        recorded = [t for t, who in tally.failed.items() if any(r.reviewer in who for r in by_task.get(t, []))]
        result.update(client_303_twice=len(client_twice), reviewer_not_the_client=len(reviewer_mismatch),
                      client_answered=sum(len(v) for v in tally.answered.values()),
                      submits_failed=sum(len(v) for v in tally.failed.values()),
                      failed_submit_recorded_anyway=len(recorded), failed_submit_samples=sorted(recorded)[:5])
    if abandoned is not None:
        after = by_task.get(abandoned, [])
        result["abandoned"] = {"task_id": abandoned, "refinements": len(after),
                               "answered_by": [r.reviewer for r in after],
                               "ok": len(after) == 1 and after[0].reviewer != quitter_name}
    result["ok"] = (result["lost"] == 0 and result["twice_or_more"] == 0 and result["state_not_matching_decision"] == 0
                    and result["tasks_with_a_reviewer_twice"] == 0
                    and result.get("client_303_twice", 0) == 0 and result.get("reviewer_not_the_client", 0) == 0
                    and result.get("abandoned", {}).get("ok", True))
    return result


def library_run(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    """One reviewer through review.claim / review.held_item / review.submit, no HTTP."""
    from oversight import review
    from oversight.project import Project

    n = args.items
    ids = [f"r{i:06d}" for i in range(n)]
    with backend.fresh("lib") as db:
        seeded = seed_queued(db, args.lease, n)
        say(f"{backend.name}: library run: {n} items seeded in {seeded:.1f} s")
        claims: list[float] = []
        pages: list[float] = []
        submits: list[float] = []

        async def loop(project: Any) -> None:
            while True:
                t0 = time.perf_counter()
                lease = await review.claim(project, "lib-trainer")
                t1 = time.perf_counter()
                claims.append(t1 - t0)
                if lease is None:
                    return
                await review.held_item(project, lease.task_id, "lib-trainer")
                t2 = time.perf_counter()
                await review.submit(project, lease.task_id, answer_value(lease.task_id), reviewer="lib-trainer")
                t3 = time.perf_counter()
                pages.append(t2 - t1)
                submits.append(t3 - t2)

        with Project.open(settings_for(db, args.lease), announce=lambda _m: None) as project:
            began = time.perf_counter()
            asyncio.run(loop(project))
            wall = time.perf_counter() - began
        checked = check_store(db, ids, None, None, None)
    return {"seed_s": round(seeded, 1), "wall_s": round(wall, 2), "items_per_s": round(n / wall, 2),
            "ms_per_item": round(wall / n * 1000, 2), "claim": latency(claims), "page": latency(pages),
            "submit": latency(submits), "check": checked, "ok": checked["ok"]}


def http_run(backend: Backend, args: argparse.Namespace, workdir: Path, trainers: int, abandon: bool) -> dict[str, Any]:
    """``trainers`` trainers over HTTP (and, with ``abandon``, one who walks away from a claimed item)."""
    n = args.items
    ids = [f"r{i:06d}" for i in range(n)]
    tag = f"http{trainers}"
    with backend.fresh(tag) as db:
        seeded = seed_queued(db, args.lease, n)
        names = [f"trainer{k:02d}" for k in range(trainers)]
        tokens = add_accounts(db, names + (["quitter"] if abandon else []))
        say(f"{backend.name}: {trainers} trainer(s): {n} items seeded in {seeded:.1f} s")
        with server(db, args.lease, workdir, f"{backend.name}-{tag}") as (url, log):
            tally = Tally()
            deadline = time.monotonic() + args.timeout
            start = threading.Barrier(trainers + 1)
            threads = [threading.Thread(target=trainer, args=(url, name, tokens[name], tally, start, deadline),
                                        daemon=True) for name in names]
            quit_out: dict[str, Any] = {}
            if abandon:
                threads.append(threading.Thread(target=quitter, args=(url, tokens["quitter"], tally, n // 2,
                                                                       deadline, quit_out), daemon=True))
            for thread in threads:
                thread.start()
            start.wait()
            began = time.perf_counter()
            load_at_start = os.getloadavg()[0]
            for thread in threads:
                thread.join(max(1.0, deadline - time.monotonic() + 30))
            wall = time.perf_counter() - began
            load_at_end = os.getloadavg()[0]
            server_trouble = trouble(log)
        checked = check_store(db, ids, tally, quit_out.get("task_id") if abandon else None,
                              "quitter" if abandon else None)
    answered = sum(len(v) for v in tally.answered.values())
    result = {
        "trainers": trainers, "seed_s": round(seeded, 1), "wall_s": round(wall, 2),
        "items_per_s": round(answered / wall, 2), "ms_per_item": round(wall / max(answered, 1) * 1000, 2),
        "claim": latency(tally.claim), "page": latency(tally.page), "submit": latency(tally.submit),
        "claim_to_answered": latency(tally.loop),
        "lease_lost_409": tally.lease_lost, "answered_by_another_404": tally.gone,
        "empty_then_waited": tally.empty_waits, "resent": tally.resent,
        "client_errors": len(tally.errors), "client_error_samples": tally.errors[:5],
        "server_trouble": len(server_trouble), "server_trouble_samples": server_trouble[:5],
        "load_1m_start_end": [round(load_at_start, 2), round(load_at_end, 2)],
        "check": checked,
    }
    if abandon:
        result["abandoned"] = {k: v for k, v in quit_out.items() if k != "at"}
    result["ok"] = checked["ok"] and not tally.errors
    return result


def trainers_part(backend: Backend, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    lib = library_run(backend, args)
    say(f"{backend.name}: library {lib['wall_s']} s ({lib['items_per_s']} items/s), ok={lib['ok']}")
    one = http_run(backend, args, workdir, 1, abandon=False)
    say(f"{backend.name}: 1 trainer {one['wall_s']} s ({one['items_per_s']} items/s), ok={one['ok']}")
    many = http_run(backend, args, workdir, args.trainers, abandon=True)
    say(f"{backend.name}: {args.trainers} trainers {many['wall_s']} s ({many['items_per_s']} items/s), "
        f"409s {many['lease_lost_409']}, ok={many['ok']}")
    return {
        "library": lib, "one_trainer": one, "trainers": many,
        "ratio_trainers_vs_one": round(many["items_per_s"] / one["items_per_s"], 2) if one["items_per_s"] else None,
        "ratio_http_vs_library": round(one["ms_per_item"] / lib["ms_per_item"], 2) if lib["ms_per_item"] else None,
        "ok": lib["ok"] and one["ok"] and many["ok"],
    }


# -- the queue page ----------------------------------------------------------------------------


def store_calls(db: str, reps: int) -> dict[str, Any]:
    """The store calls behind GET /queue, timed in this process (p50 ms)."""
    from oversight.store import Store

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    calls: dict[str, Callable[[Any], Any]] = {
        "review_queue_page": lambda s: s.review_queue_page(limit=50),
        "review_queue_page_domain": lambda s: s.review_queue_page(domain="d3", limit=50),
        "review_queue_page_model": lambda s: s.review_queue_page(model=OTHER_MODEL, limit=50),
        "review_facets": lambda s: s.review_facets(),
        "reviewer_progress": lambda s: s.reviewer_progress("reader", since=today),
    }
    out: dict[str, Any] = {}
    with Store.open(db, migrate=False) as store:
        for name, call in calls.items():
            call(store)  # warm
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                call(store)
                times.append(time.perf_counter() - t0)
            out[name] = latency(times)
    return out


def queue_latency(backend: Backend, args: argparse.Namespace, workdir: Path, n: int) -> dict[str, Any]:
    tag = f"queue{n}"
    with backend.fresh(tag) as db:
        seeded = seed_many(backend, db, args.lease, n)
        tokens = add_accounts(db, ["reader"])
        say(f"{backend.name}: {n} queue items seeded in {seeded['seconds']} s ({seeded['ms_per_item']} ms/item)")
        library = store_calls(db, max(5, args.requests // 5))
        last = max(1, -(-n // 50))
        variants = {"healthz": "/healthz", "queue": "/queue", "queue_domain": "/queue?domain=d3",
                    "queue_model": f"/queue?model={OTHER_MODEL}", "queue_last_page": f"/queue?page={last}"}
        expected = {"queue": n, "queue_domain": n // len(DOMAINS), "queue_model": n // 2, "queue_last_page": n}
        times: dict[str, list[float]] = {k: [] for k in variants}
        wrong: list[str] = []
        with server(db, args.lease, workdir, f"{backend.name}-{tag}") as (url, log):
            client, _csrf = sign_in(url, tokens["reader"])
            try:
                for path in variants.values():  # warm-up
                    for _ in range(3):
                        client.get(path)
                budget = time.monotonic() + args.queue_budget
                for _ in range(args.requests):
                    for name, path in variants.items():
                        t0 = time.perf_counter()
                        response = client.get(path)
                        times[name].append(time.perf_counter() - t0)
                        if response.status_code != 200:
                            wrong.append(f"{path}: {response.status_code}")
                        elif name in expected:
                            waiting = WAITING.search(response.text)
                            if waiting is None or waiting.group(1) != shown_count(expected[name]):
                                wrong.append(f"{path}: waiting {waiting.group(1) if waiting else None}")
                    if time.monotonic() > budget:
                        break
            finally:
                client.close()
            server_trouble = trouble(log)
    return {"items": n, "seeding": seeded, "http": {k: latency(v) for k, v in times.items()},
            "store_calls": library, "wrong_responses": len(wrong), "wrong_samples": wrong[:5],
            "server_trouble": len(server_trouble), "load_1m_end": round(os.getloadavg()[0], 2)}


def queue_part(backend: Backend, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    small = queue_latency(backend, args, workdir, args.queue_baseline)
    say(f"{backend.name}: queue at {args.queue_baseline}: p95 {small['http']['queue']['p95_ms']} ms")
    big = queue_latency(backend, args, workdir, args.queue_items)
    say(f"{backend.name}: queue at {args.queue_items}: p95 {big['http']['queue']['p95_ms']} ms, "
        f"domain {big['http']['queue_domain']['p95_ms']} ms, model {big['http']['queue_model']['p95_ms']} ms")
    ratios = {}
    for name in ("queue", "queue_domain", "queue_model", "queue_last_page"):
        base = small["http"][name]["p95_ms"]
        ratios[f"{name}_p95_big_vs_small"] = round(big["http"][name]["p95_ms"] / base, 2) if base else None
        floor = big["http"]["healthz"]["p95_ms"]
        ratios[f"{name}_p95_big_vs_healthz"] = round(big["http"][name]["p95_ms"] / floor, 1) if floor else None
    targeted = ("queue", "queue_domain", "queue_model")
    return {"small": small, "big": big, "ratios": ratios,
            "p95_ms_at_big": {k: big["http"][k]["p95_ms"] for k in targeted},
            "target_p95_under_50ms": all(big["http"][k]["p95_ms"] < 50 for k in targeted),
            "ok": small["wrong_responses"] == 0 and big["wrong_responses"] == 0}


def shown_count(n: int) -> str:
    """How the queue page shows n waiting items: exact up to its count limit, then "10000+"."""
    from oversight.web.review_pages import QUEUE_COUNT_LIMIT

    return f"{QUEUE_COUNT_LIMIT}+" if n > QUEUE_COUNT_LIMIT else str(n)


# -- main --------------------------------------------------------------------------------------


def table(results: dict[str, Any], args: argparse.Namespace) -> str:
    t = args.trainers
    rows = [("", *results)]

    def tr(r: dict[str, Any], *keys: str) -> Any:
        value: Any = r["trainers_part"]
        for k in keys:
            value = value[k]
        return value

    def qp(r: dict[str, Any], size: str, name: str) -> Any:
        h = r["queue_part"][size]["http"][name]
        return f"{h['p50_ms']} / {h['p95_ms']}"

    for label, get in [
        ("library: items/s", lambda r: tr(r, "library", "items_per_s")),
        ("1 trainer HTTP: items/s", lambda r: tr(r, "one_trainer", "items_per_s")),
        (f"{t} trainers HTTP: items/s", lambda r: tr(r, "trainers", "items_per_s")),
        (f"ratio {t} trainers / 1 trainer", lambda r: f"{tr(r, 'ratio_trainers_vs_one')}x"),
        ("ratio HTTP 1 trainer / library (s per item)", lambda r: f"{tr(r, 'ratio_http_vs_library')}x"),
        ("library claim / page / submit p50 ms", lambda r: " / ".join(
            str(tr(r, "library", k, "p50_ms")) for k in ("claim", "page", "submit"))),
        ("1 trainer claim / page / submit p50 ms", lambda r: " / ".join(
            str(tr(r, "one_trainer", k, "p50_ms")) for k in ("claim", "page", "submit"))),
        (f"{t} trainers claim p50 / p95 ms", lambda r: f"{tr(r, 'trainers', 'claim', 'p50_ms')} / "
                                                        f"{tr(r, 'trainers', 'claim', 'p95_ms')}"),
        (f"{t} trainers page p50 / p95 ms", lambda r: f"{tr(r, 'trainers', 'page', 'p50_ms')} / "
                                                       f"{tr(r, 'trainers', 'page', 'p95_ms')}"),
        (f"{t} trainers submit p50 / p95 ms", lambda r: f"{tr(r, 'trainers', 'submit', 'p50_ms')} / "
                                                         f"{tr(r, 'trainers', 'submit', 'p95_ms')}"),
        (f"{t} trainers: claim to answered p50 / p95 ms", lambda r: f"{tr(r, 'trainers', 'claim_to_answered', 'p50_ms')}"
                                                                   f" / {tr(r, 'trainers', 'claim_to_answered', 'p95_ms')}"),
        (f"{t} trainers: 409 lease lost / 404 gone", lambda r: f"{tr(r, 'trainers', 'lease_lost_409')} / "
                                                               f"{tr(r, 'trainers', 'answered_by_another_404')}"),
        (f"{t} trainers: other errors (5xx ...)", lambda r: tr(r, "trainers", "client_errors")),
        (f"{t} trainers: error page but answer kept", lambda r: tr(r, "trainers", "check",
                                                                   "failed_submit_recorded_anyway")),
        (f"{t} trainers: per task 0 / 2+", lambda r: f"{tr(r, 'trainers', 'check', 'lost')} / "
                                                     f"{tr(r, 'trainers', 'check', 'twice_or_more')}"),
        ("abandoned item answered by", lambda r: tr(r, "trainers", "check", "abandoned", "answered_by")),
        ("all trainer runs ok", lambda r: tr(r, "ok")),
        ("healthz p50 / p95 ms (big)", lambda r: qp(r, "big", "healthz")),
        ("queue p50 / p95 ms (small)", lambda r: qp(r, "small", "queue")),
        ("queue p50 / p95 ms (big)", lambda r: qp(r, "big", "queue")),
        ("queue ?domain p50 / p95 ms (big)", lambda r: qp(r, "big", "queue_domain")),
        ("queue ?model p50 / p95 ms (big)", lambda r: qp(r, "big", "queue_model")),
        ("queue last page p50 / p95 ms (big)", lambda r: qp(r, "big", "queue_last_page")),
        ("queue p95 big / small", lambda r: f"{r['queue_part']['ratios']['queue_p95_big_vs_small']}x"),
        ("store (big): queue_page / +domain / +model p50 ms", lambda r: " / ".join(
            str(r["queue_part"]["big"]["store_calls"][k]["p50_ms"])
            for k in ("review_queue_page", "review_queue_page_domain", "review_queue_page_model"))),
        ("store (big): review_facets p50 ms", lambda r: r["queue_part"]["big"]["store_calls"]["review_facets"]["p50_ms"]),
        ("queue p95 < 50 ms at big", lambda r: r["queue_part"]["target_p95_under_50ms"]),
        ("seeding big: s (ms/item)", lambda r: f"{r['queue_part']['big']['seeding']['seconds']} "
                                               f"({r['queue_part']['big']['seeding']['ms_per_item']})"),
    ]:
        cells = []
        for r in results.values():
            try:
                cells.append("skipped" if "skipped" in r else str(get(r)))
            except (KeyError, TypeError):
                cells.append("-")
        rows.append((label, *cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="items the trainers answer")
    parser.add_argument("--trainers", type=int, default=20)
    parser.add_argument("--queue-items", type=int, default=100_000, help="items awaiting review for the queue page")
    parser.add_argument("--queue-baseline", type=int, default=1000, help="the queue page's baseline size")
    parser.add_argument("--lease", type=float, default=2.0, help="review lease seconds (the abandoned item's wait)")
    parser.add_argument("--requests", type=int, default=100, help="requests per queue-page variant")
    parser.add_argument("--queue-budget", type=float, default=120.0, help="seconds at most for one size's requests")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a trainer run may take")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--postgres", default=os.environ.get("OVERSIGHT_TEST_POSTGRES_URL")
                        or "postgresql://127.0.0.1:5432/test")
    parser.add_argument("--parts", default="trainers,queue", help="which parts to run: trainers, queue or both")
    parser.add_argument("--keep", default=None, help="a folder for the servers' logs and SQLite files, kept")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.items, args.trainers, args.queue_items, args.requests = 60, 4, 2000, 20
        args.queue_baseline = min(args.queue_baseline, 200)
    if not OVERSIGHT.exists():
        raise SystemExit(f"no console script at {OVERSIGHT}: install the project into this environment")
    for key in [k for k in os.environ if k.startswith("OVERSIGHT_")]:
        del os.environ[key]  # the settings are the bench's own (load_settings reads OVERSIGHT_*)

    load_before = os.getloadavg()
    code_before = code_version()
    began = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        workdir = Path(args.keep or tmp)  # --keep: the servers' logs (and SQLite files) stay there
        workdir.mkdir(parents=True, exist_ok=True)
        backends: list[Backend | tuple[str, str]] = []
        if not args.skip_sqlite:
            backends.append(sqlite_backend(workdir))
        if not args.skip_postgres:
            reason = postgres_reachable(args.postgres)
            backends.append(("postgres", reason) if reason else postgres_backend(args.postgres))
        for backend in backends:
            if isinstance(backend, tuple):
                results[backend[0]] = {"skipped": backend[1], "ok": None}
                continue
            results[backend.name] = done = {}
            if "trainers" in args.parts:
                say(f"{backend.name}: trainers ({args.items} items, {args.trainers} trainers, lease {args.lease} s)")
                done["trainers_part"] = trainers_part(backend, args, workdir)
            if "queue" in args.parts:
                say(f"{backend.name}: queue page ({args.queue_baseline} and {args.queue_items} items)")
                done["queue_part"] = queue_part(backend, args, workdir)
            done["ok"] = all(part["ok"] for part in done.values())

    print(table(results, args))
    load_after = os.getloadavg()
    print(f"{args.items} items, {args.trainers} trainers (+1 who abandons an item), lease {args.lease} s; queue page "
          f"at {args.queue_baseline} and {args.queue_items} items, {args.requests} requests a variant; load average "
          f"before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} cores); "
          f"{time.perf_counter() - began:.0f} s in all")
    ran = [r for r in results.values() if "skipped" not in r]
    code_after = code_version()
    if code_after["src_digest"] != code_before["src_digest"]:
        print(f"warning: src/oversight changed during the run (last change {code_after['src_newest_mtime']}): "
              "parts started at different times measured different code", file=sys.stderr)
    print(json.dumps({
        "code": {**code_before, "changed_during_run": code_after["src_digest"] != code_before["src_digest"],
                 "src_digest_end": code_after["src_digest"]},
        "bench": "review", "items": args.items, "trainers": args.trainers, "lease_s": args.lease,
        "queue_items": args.queue_items, "queue_baseline": args.queue_baseline, "requests": args.requests,
        "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "cores": os.cpu_count(), "wall_s": round(time.perf_counter() - began, 1),
        "backends": results,
        "queue_target_met": {k: r["queue_part"]["target_p95_under_50ms"] for k, r in results.items()
                             if "queue_part" in r},
        "ok": bool(ran) and all(r["ok"] for r in ran),
    }, default=str))


if __name__ == "__main__":
    main()
