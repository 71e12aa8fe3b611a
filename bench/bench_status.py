"""`oversight status` and the lead hub (/lead) with 100,000 items waiting for review, against the way
they read before (every draft and critique record) as the baseline, in the same run.

The items (tasks awaiting review, each with a paid draft and a critique: findings shown and held
back, usage) are written straight into a fresh SQLite store in bulk, plus some refinements with
verdicts; what is measured is reading, not writing. Timed, each --reps times, median:

- store.status(), and the critics' grounding sums `oversight status` prints (grounding_status);
- the whole `oversight status --json` command, in this process (click's runner);
- GET /lead on a real server (uvicorn, a thread of this process, signed in as a lead).

The baseline is each of these with status and grounding computed as before (records read and
parsed in Python: the functions below), patched in for the run. The ratios are baseline / now.
Target: status and /lead under 100 ms at 100,000 items.

    python bench/bench_status.py [--items 100000] [--refined 2000] [--reps 5] [--keep DIR]

Progress goes to stderr, results to stdout; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the way status read before (the baseline) ------------------------------------------------------


def status_before(store: Any) -> dict[str, Any]:
    """`Store.status` as it was: every state, draft and critique record read and summed in Python."""
    from sqlalchemy import select

    from oversight.store import TASK_STATES
    from oversight.store import tables as t

    with store.reading() as conn:
        states = Counter(conn.scalars(select(t.task_states.c.state)))
        draft_data = list(conn.scalars(select(t.drafts.c.data)))
        critique_data = list(conn.scalars(select(t.critiques.c.data)))
    tokens, cost = 0, 0.0
    for data in [*draft_data, *critique_data]:
        usage = data.get("usage") or {}
        tokens += int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        cost += float(usage.get("cost_usd", 0.0))
    return {"tasks": sum(states.values()), "states": {s: states.get(s, 0) for s in TASK_STATES},
            "drafts": len(draft_data), "critiques": len(critique_data), "refinements": store.count("refinements"),
            "tokens": tokens, "cost_usd": round(cost, 6)}


def grounding_before(store: Any) -> list[dict[str, Any]]:
    """`grounding_status` as it was: every critique and refinement record parsed."""
    from oversight.refine.critic_quality import grounding_report

    return [row.as_dict() for row in grounding_report(store)]


@contextmanager
def the_old_way() -> Iterator[None]:
    """Status and grounding computed as before, wherever they are called from, for the block."""
    import oversight.refine.critic_quality
    from oversight.store import Store

    saved = Store.status, oversight.refine.critic_quality.grounding_status
    Store.status, oversight.refine.critic_quality.grounding_status = status_before, grounding_before  # type: ignore[assignment]
    try:
        yield
    finally:
        Store.status, oversight.refine.critic_quality.grounding_status = saved  # type: ignore[assignment]


# -- seeding ------------------------------------------------------------------------------------------


def seed(db: Path, items: int, refined: int) -> float:
    """``items`` tasks awaiting review (draft + critique each), the first ``refined`` of them refined."""
    from sqlalchemy import insert

    from oversight.schemas import (
        Critique,
        Draft,
        DroppedFinding,
        Finding,
        FindingVerdict,
        Refinement,
        Task,
        Usage,
        utcnow,
    )
    from oversight.store import Store
    from oversight.store import tables as t
    from oversight.store._refine import _critique_row, _draft_row, _refinement_rows, _task_row

    started = time.perf_counter()
    words = ("The treaty was signed in 1648 after thirty years of war, and it reshaped the map of Europe "
             "for a century; historians still argue about how much it changed. ") * 3
    with Store.open(db) as store, store.engine.begin() as conn:
        now = utcnow()
        for start in range(0, items, 5000):
            tasks, states, drafts, critiques, refinements = [], [], [], [], []
            for i in range(start, min(items, start + 5000)):
                task = Task(id=f"q{i:06d}", prompt=f"Question {i}: what happened in 1648?", domain=f"d{i % 10}")
                draft = Draft(id=f"d{i:06d}", task_id=task.id, model=f"openai/drafter-{i % 2}", prompt_name="draft",
                              prompt_version="v1", text=words, usage=Usage(prompt_tokens=120, completion_tokens=80,
                                                                           cost_usd=0.0002))
                shown = [Finding(quote="1648", issue="Check the year.", severity="low", category="factual-error"),
                         Finding(quote="a century", issue="Unsupported.", severity="medium",
                                 category="unsupported-claim")]
                held = [DroppedFinding(finding=Finding(quote="1649", issue="Not in it.", severity="low",
                                                       category="other"), reason="not-in-draft")] if i % 3 else []
                critique = Critique(id=f"c{i:06d}", draft_id=draft.id, task_id=task.id, model="openai/critic",
                                    prompt_name="critique", prompt_version="v2", findings=shown, dropped=held,
                                    grounding="quote-in-draft/1", summary="Two issues.",
                                    usage=Usage(prompt_tokens=300, completion_tokens=60, cost_usd=0.0004))
                state = "refined" if i < refined else "awaiting_review"
                tasks.append(_task_row(task, "bench"))
                states.append({"task_id": task.id, "state": state, "draft_id": draft.id, "critique_id": critique.id,
                               "attempts": 1, "updated_at": now})
                drafts.append(_draft_row(draft))
                critiques.append(_critique_row(critique))
                if i < refined:
                    refinements.append(Refinement(
                        id=f"r{i:06d}", task_id=task.id, draft_id=draft.id, critique_id=critique.id, decision="edit",
                        refined_text=words.replace("1648", "1649"), reviewer=f"trainer{i % 20}",
                        finding_verdicts=[FindingVerdict(finding=0, verdict="right"),
                                          FindingVerdict(finding=1, verdict="wrong" if i % 4 else "right")]))
            conn.execute(insert(t.tasks), tasks)
            conn.execute(insert(t.task_states), states)
            conn.execute(insert(t.drafts), drafts)
            conn.execute(insert(t.critiques), critiques)
            if refinements:
                conn.execute(insert(t.refinements), _refinement_rows(conn, refinements))
            say(f"seeded {min(items, start + 5000)} of {items}")
    return round(time.perf_counter() - started, 1)


# -- timing -------------------------------------------------------------------------------------------


def median_ms(call: Callable[[], Any], reps: int) -> float:
    call()  # warm
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 2)


def cli_status(db: Path) -> Callable[[], Any]:
    from click.testing import CliRunner

    from oversight.cli import cli

    def run() -> Any:
        result = CliRunner().invoke(cli, ["--db", str(db), "status", "--json"])
        if result.exit_code != 0:
            raise RuntimeError(result.output)
        return json.loads(result.stdout)

    return run


@contextmanager
def lead_page(db: Path, workdir: Path) -> Iterator[Callable[[], Any]]:
    """GET /lead on a real server in a thread of this process (so the baseline's patch reaches it)."""
    import httpx

    from oversight.config import load_settings
    from oversight.project import Project
    from oversight.review.accounts import add_user
    from tests.web.conftest import serve, sign_in

    settings = load_settings(db=str(db), model="openai/none", api_base="http://127.0.0.1:9/v1", api_key="sk-none")
    project = Project.open(settings, announce=lambda _m: None)
    token = add_user(project.store, "lead", "lead")[1]
    for k in range(5):
        add_user(project.store, f"trainer{k}", "trainer")
    url, server, thread = serve(project)
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    sign_in(client, token)

    def get() -> Any:
        response = client.get("/lead")
        if response.status_code != 200:
            raise RuntimeError(f"/lead: {response.status_code}")
        return response

    try:
        yield get
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        project.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--refined", type=int, default=2_000, help="of the items, how many are refined (verdicts)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--keep", help="a folder to keep the database in (default: a temporary one)")
    args = parser.parse_args()
    from oversight.refine.critic_quality import grounding_status
    from oversight.store import Store

    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.keep or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        db = workdir / "status.db"
        seconds = seed(db, args.items, args.refined)
        say(f"{args.items} items seeded in {seconds} s")
        with Store.open(db) as store:
            now = {"status": median_ms(store.status, args.reps),
                   "grounding": median_ms(lambda: grounding_status(store), args.reps)}
            with the_old_way():
                import oversight.refine.critic_quality as g
                before = {"status": median_ms(store.status, max(1, args.reps // 2)),
                          "grounding": median_ms(lambda: g.grounding_status(store), max(1, args.reps // 2))}
            agree = {"status": status_before(store) == store.status(),
                     "grounding": grounding_before(store) == grounding_status(store)}
        command = cli_status(db)
        now["cli_status"] = median_ms(command, args.reps)
        with the_old_way():
            before["cli_status"] = median_ms(command, max(1, args.reps // 2))
        with lead_page(db, workdir) as get:
            now["lead"] = median_ms(get, args.reps)
            with the_old_way():
                before["lead"] = median_ms(get, max(1, args.reps // 2))
    ratios = {k: round(before[k] / now[k], 1) if now[k] else None for k in now}
    for k in now:
        say(f"{k:<10} now {now[k]:>9.2f} ms   before {before[k]:>9.2f} ms   x{ratios[k]}")
    result = {"bench": "status", "items": args.items, "refined": args.refined, "seed_s": seconds,
              "ms_now": now, "ms_before": before, "ratios_before_over_now": ratios, "same_answers": agree,
              "target_under_100ms": {"status": now["status"] + now["grounding"] < 100, "lead": now["lead"] < 100},
              "ok": all(agree.values())}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
