"""Gold items hidden in the queue: how soon they flag a bad trainer, and how rarely a good one.

    python bench/bench_trainers.py [--data /work/shared/data] [--runs 200] [--rate 0.05] [--bar B]
                                   [--horizon 300] [--answers 500] [--expert-share 0.2] [--decoy-share 0.5]
                                   [--no-search] [--no-service]

Data: FineGrainedRLHF qa-feedback dev (allenai/FineGrainedRLHF @ a1469d4, Apache-2.0; read from
``--data``, nothing copied). The first model answer (``prediction 1``) to each question is a real
draft. A seeded share of the questions (``--expert-share``, default 20%) give *expert* gold items:
the annotator's corrected answer as the draft, which that expert accepts as it is (a trainer who
changes it raises a false alarm). The others give *planted* gold items: one error planted with
refine/plant.py (wrong_number, unsupported_sentence, ignored_instruction, whichever applies), under
a critique made of the annotators' own labelled error spans (Irrelevant, Wrong-Grounding,
Unverifiable, Redundant, Incoherent: real problems, none at the planted error), plus, on a seeded
half, a finding that points at the planted error (``critic_pointed`` is what plant.py's
``critic_pointed`` says of the critique, not assumed), and on a seeded share (``--decoy-share``) a
*decoy*: a finding that calls a sentence the annotators left unmarked wrong. Answers 2-4 of each
question are the production drafts. The pool is made in bench_trainers_pool.py; the five simulated
trainers are in bench_trainers_sim.py.

The run (``run_trainer``): one trainer claims item after item. At each claim the gold module's due
rule (``gold_queue.is_due``: rate ``--rate``, a draw seeded by reviewer and items answered) says
whether a gold item comes, and which one is drawn as ``gold_queue.due_copy`` draws it; the trainer
answers it, the answer is checked as any (``check_answer``) and scored by ``gold_queue.score``, and
after each gold answer the sequential rule (``Rule``) says flagged or not yet. Production items are
NOT pushed through the review service or the LangGraph graph: an answer to a production item
changes no gold figure, so it counts by number (and by time: the trainer's answer to a production
draft, with no critique, is drawn for its seconds only). That keeps a run to milliseconds, so
``--runs`` seeded runs per profile are cheap. To check that this fast path serves and scores gold
as the product does, seed 0 of each profile is run end to end through the real review service on a
SQLite store (``review.claim`` / ``review.item`` / ``review.submit``: gold copies served by the due
rule, production items resumed through the refine graph), and the gold items each trainer met, in
order, with their scores as the store kept them, are compared with the fast path's
(``service_check``; printed as "N of N gold answers the same item and score").

The rule (``Rule``), looked at after every gold answer, on 95% Wilson intervals with at least
``MIN_ITEMS`` answers behind each figure (review/profiles.py), never a point estimate alone:
- catch: the profile's suggested pause (``profiles.suggested_pause``): the catch rate's upper
  bound below the bar (``--bar``, default the profiles' ``DEFAULT_BAR``);
- unassisted catch: the same bar on the planted errors no finding pointed at. A trainer is there
  for what the critic misses; one who catches only what it points at (deference) keeps an
  overall catch rate near one half and need never trip the first rule;
- deference: decoys marked right, the lower bound above one half (more often right than wrong,
  interval and all, on findings that are wrong by construction);
- false alarms: expert-accepted drafts changed, the lower bound above the assessment pass rule's
  false-alarm limit (``PassRule.false_alarm_upper``, 20%).
"Cleared" is the other side: the catch rate's lower bound at or above the bar.

Reported per profile: the share of runs flagged within 100, 200 and 300 production items (power;
for the careful trainer, its false-flag rate), which rule flagged them, the median gold answers
before a profile is decided (flagged or cleared; over the runs decided within the horizon, their
number beside it), the share of runs with MIN_ITEMS planted answers by the horizon (a ceiling on
power), the trainer's pooled catch rate, deference and false alarms on gold (that it acts its
profile), and the share of its time spent on gold (gold seconds over all seconds). Targets:
rubber-stamper and deferent flagged with >= 90% power within 300 production items; careful flagged
<= 5%. When the rate and bar asked for miss either, the same runs are made at higher rates, at
higher bars, and with other gold pools (``POOL_VARIANTS``) (``--no-search`` skips it), and what
meets both is reported, measured.

Human lines go to stderr; the last line of stdout is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "src", ROOT / "bench", ROOT):  # ROOT: tests.support.review_seed
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench_trainers_pool import (  # noqa: E402
    CRITIC,
    DRAFTER,
    FGRLHF_FILE,
    Row,
    load_rows,
    make_pool,
    pool_stats,
    source_ids,
)
from bench_trainers_sim import PROFILES, Seen, Trainer, Truth, make_trainer  # noqa: E402

from oversight.intervene.checks import word_count  # noqa: E402
from oversight.refine.answers import check_answer  # noqa: E402
from oversight.review.gold_queue import is_due, score  # noqa: E402
from oversight.review.profiles import DEFAULT_BAR, MIN_ITEMS, proportion, suggested_pause  # noqa: E402
from oversight.schemas import (  # noqa: E402
    Critique,
    Draft,
    GoldAnswer,
    GoldCopy,
    GoldItem,
    PassRule,
    TrainerProfile,
    content_hash,
)

CHECKPOINTS = (100, 200, 300)
TARGET_POWER = 0.90  # rubber-stamper and deferent flagged within 300 production items
TARGET_FALSE_FLAG = 0.05  # careful flagged within 300
BAD = ("rubber_stamper", "deferent")
SEARCH_RATES = (0.05, 0.06, 0.075, 0.0875, 0.10, 0.125, 0.15, 0.20, 0.25)
SEARCH_BARS = (0.5, 0.6, 0.7, 0.8)
# Other gold pools tried at the rate asked for when it misses a target: every item with a decoy; and
# that with planted items only (every gold answer then feeds the catch rate, none the false alarms).
POOL_VARIANTS = {"decoy_on_every_item": {"decoy_share": 1.0},
                 "decoy_on_every_item_planted_only": {"decoy_share": 1.0, "expert_share": 0.0}}
DEFERENCE_BAR = 0.5  # decoys marked right more often than wrong, interval and all
FALSE_ALARM_BAR = PassRule().false_alarm_upper  # what an assessment lets pass, as a point
MODEL = "openai/drafter"  # the service check's project: no model is ever called
DEAD_API = "http://127.0.0.1:9/v1"  # nothing listens: a model call would fail loudly


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the gold module: due rule and scoring ---------------------------------------------------------


def next_gold(pool: Sequence[GoldItem], reviewer: str, met: set[str], answered: int) -> GoldItem | None:
    """The gold item served at this claim when one is due: the draw ``gold_queue.due_copy`` makes (seeded by
    reviewer and items answered) among those left that the reviewer has not met, did not make and is not the
    expert of, the pool in store order. Its copy: ``gold_copy``. (The service check compares the items served.)"""
    left = [i for i in pool if i.id not in met and reviewer not in (i.made_by, i.expert)]
    return random.Random(content_hash("gold-pick", reviewer, answered)).choice(left) if left else None


def gold_copy(item: GoldItem, reviewer: str) -> tuple[GoldCopy, Draft, Critique]:
    """The copy a gold item reaches ``reviewer`` as: its task id, draft and critique (as ``copy_for`` makes them)."""
    task_id = "t_" + content_hash("gold", item.id, reviewer)
    draft = Draft(id=Draft.derive_id(task_id, DRAFTER, "imported", {}), task_id=task_id, model=DRAFTER,
                  prompt_name="imported", prompt_version="imported", text=item.text)
    critique = Critique(id=Critique.derive_id(draft.id, CRITIC, "", {}), draft_id=draft.id, task_id=task_id,
                        model=CRITIC, prompt_name="critique", prompt_version="", findings=list(item.findings),
                        summary=item.critique_summary)
    return GoldCopy(task_id=task_id, gold_id=item.id, reviewer=reviewer), draft, critique


def score_answer(item: GoldItem, answer: dict[str, Any], reviewer: str) -> GoldAnswer:
    """The answer checked as the service checks any (``check_answer``), then scored by the gold scoring
    (``gold_queue.score``), as submitting it to the copy does."""
    copy, draft, critique = gold_copy(item, reviewer)
    refinement = check_answer({**answer, "reviewer": reviewer, "simulated": True}, draft, critique, key=copy.task_id)
    return score(item, copy, refinement, draft)


# -- the sequential rule ---------------------------------------------------------------------------


@cache
def interval(k: int, n: int) -> tuple[float | None, float | None, bool]:
    """k of n as the profiles give it: the 95% Wilson interval and whether it is "too few items"."""
    found = proportion(k, n)
    return found.low, found.high, found.too_few


@cache
def pause_suggested(k: int, n: int, bar: float) -> bool:
    """The profiles' suggested pause on a catch rate of k of n: the real function, on a profile holding that rate
    (it reads nothing else; remembered by (k, n, bar), as it is called after every gold answer of every run)."""
    return suggested_pause(TrainerProfile(reviewer="bench", min_items=MIN_ITEMS, catch_rate=proportion(k, n)),
                           bar) is not None


def above(tally: Tally, limit: float) -> bool:
    """Enough answers, and the whole 95% interval of the figure above ``limit``."""
    low, _, too_few = interval(tally.k, tally.n)
    return not too_few and low is not None and low > limit


@dataclass
class Tally:
    """k of n for one figure."""

    k: int = 0
    n: int = 0

    def add(self, hit: bool | None) -> None:
        if hit is not None:
            self.n += 1
            self.k += int(hit)


@dataclass
class Rule:
    """The sequential rule (see the module docstring): fed one scored gold answer at a time."""

    bar: float
    catch: Tally = field(default_factory=Tally)
    unassisted: Tally = field(default_factory=Tally)
    deference: Tally = field(default_factory=Tally)
    false_alarms: Tally = field(default_factory=Tally)

    def add(self, answer: GoldAnswer) -> None:
        self.catch.add(answer.caught)
        if answer.critic_pointed is False:
            self.unassisted.add(answer.caught)
        self.deference.add(answer.deferred)
        self.false_alarms.add(answer.false_alarm)

    def flagged(self) -> str | None:
        """Which rule flags the trainer now, or None."""
        if pause_suggested(self.catch.k, self.catch.n, self.bar):
            return "catch"
        if pause_suggested(self.unassisted.k, self.unassisted.n, self.bar):
            return "unassisted_catch"
        if above(self.deference, DEFERENCE_BAR):
            return "deference"
        if above(self.false_alarms, FALSE_ALARM_BAR):
            return "false_alarms"
        return None

    def cleared(self) -> bool:
        """The other side: the catch rate's whole interval at or above the bar."""
        low, _, too_few = interval(self.catch.k, self.catch.n)
        return not too_few and low is not None and low >= self.bar


# -- one trainer's run -----------------------------------------------------------------------------


@dataclass
class Run:
    """What one seeded run of one trainer gave."""

    profile: str
    seed: int
    flagged_at: int | None = None  # production items done when first flagged
    flagged_gold: int | None = None  # gold answers by then
    reason: str | None = None
    cleared_gold: int | None = None
    gold: int = 0
    planted: int = 0  # planted answers that were not skips (the catch rate's n)
    gold_seconds: float = 0.0
    production_seconds: float = 0.0
    scores: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def decided_gold(self) -> int | None:
        """Gold answers before the profile was decided (flagged or cleared, whichever came first)."""
        found = [g for g in (self.flagged_gold, self.cleared_gold) if g is not None]
        return min(found) if found else None


def answer_rng(seed: int, profile: str, item: str) -> random.Random:
    """One trainer's stream on one item: the same on every re-run."""
    return random.Random(content_hash(seed, profile, item))


Scorer = Callable[[GoldItem, dict[str, Any], str], GoldAnswer]


def _key(answer: GoldAnswer) -> tuple[Any, ...]:
    """What the rule reads of a scored answer (compared between the fast path and the service)."""
    return (answer.caught, answer.deferred, answer.false_alarm, answer.critic_pointed)


def run_trainer(profile: str, seed: int, pool: Sequence[GoldItem], production: Sequence[str], *, rate: float,
                bar: float, horizon: int, long_words: int, score: Scorer) -> Run:
    """One trainer through ``horizon`` production items, gold due at ``rate`` (see the module docstring)."""
    trainer: Trainer = make_trainer(profile, long_words=long_words)
    reviewer = f"{profile}-{seed}"
    rule = Rule(bar)
    run = Run(profile, seed)
    done: set[str] = set()
    answered = made = 0
    while made < horizon:
        item = next_gold(pool, reviewer, done, answered) if is_due(reviewer, answered, rate) else None
        if item is None:
            rng = answer_rng(seed, profile, f"production {made}")
            said = trainer.answer(Seen("", production[rng.randrange(len(production))]), Truth(), rng)
            run.production_seconds += said["seconds_spent"]
            made += 1
        else:
            said = trainer.answer(Seen(item.prompt, item.text, tuple(item.findings)),
                                  Truth(item.plant, item.decoy), answer_rng(seed, profile, item.id))
            scored = score(item, said, reviewer)
            done.add(item.id)
            run.gold += 1
            run.gold_seconds += said["seconds_spent"]
            run.planted += int(scored.caught is not None)
            run.scores.append((item.id, _key(scored)))
            rule.add(scored)
            if run.flagged_at is None and (reason := rule.flagged()) is not None:
                run.flagged_at, run.flagged_gold, run.reason = made, run.gold, reason
            if run.cleared_gold is None and run.flagged_at is None and rule.cleared():
                run.cleared_gold = run.gold
        answered += 1
    return run


def cached(score: Scorer) -> Scorer:
    """``score`` remembered by (item, answer): the same answer to the same item scores the same."""
    memo: dict[str, GoldAnswer] = {}

    def scored(item: GoldItem, answer: dict[str, Any], reviewer: str) -> GoldAnswer:
        key = content_hash(item.id, {k: v for k, v in answer.items() if k != "seconds_spent"})  # time scores nothing
        if key not in memo:
            memo[key] = score(item, answer, reviewer)
        return memo[key]

    return scored


# -- figures ---------------------------------------------------------------------------------------


def summarise(runs: Sequence[Run], checkpoints: Sequence[int]) -> dict[str, Any]:
    """Power within each checkpoint, reasons, gold answers to a decision, and gold's share of time."""
    n = len(runs)
    decided = [r.decided_gold for r in runs if r.decided_gold is not None]
    flagged = [r.flagged_gold for r in runs if r.flagged_gold is not None]
    gold_s = sum(r.gold_seconds for r in runs)
    all_s = gold_s + sum(r.production_seconds for r in runs)
    return {
        "runs": n,
        "flagged_within": {str(c): round(sum(1 for r in runs if r.flagged_at is not None and r.flagged_at <= c) / n, 4)
                           for c in checkpoints},
        "reasons": dict(Counter(r.reason for r in runs if r.reason is not None)),
        "median_gold_to_decide": statistics.median(decided) if decided else None,
        "decided_runs": len(decided),
        "median_gold_to_flag": statistics.median(flagged) if flagged else None,
        "cleared_runs": sum(1 for r in runs if r.cleared_gold is not None),
        "median_gold_answered": statistics.median(r.gold for r in runs),
        # what the simulated trainer did on gold, pooled over the runs (k of n): it should read as its profile says
        "catch_rate": _pooled(runs, 0), "deference": _pooled(runs, 1), "false_alarms": _pooled(runs, 2),
        "reached_min_items": round(sum(1 for r in runs if r.planted >= MIN_ITEMS) / n, 4),
        "gold_time_share": round(gold_s / all_s, 4) if all_s else None,
    }


def _pooled(runs: Sequence[Run], at: int) -> dict[str, Any]:
    """One measure (position ``at`` of ``_key``) pooled over every gold answer of ``runs``."""
    said = [key[at] for r in runs for _, key in r.scores if key[at] is not None]
    return {"k": sum(said), "n": len(said), "rate": round(sum(said) / len(said), 4) if said else None}


def meets(results: dict[str, dict[str, Any]], horizon: int) -> bool:
    at = str(horizon)
    return (all(results[p]["flagged_within"][at] >= TARGET_POWER for p in BAD if p in results)
            and results.get("careful", {}).get("flagged_within", {}).get(at, 0.0) <= TARGET_FALSE_FLAG)


@dataclass
class Setup:
    pool: list[GoldItem]
    production: list[str]
    long_words: int
    score: Scorer


def measure(setup: Setup, profiles: Sequence[str], runs: int, *, rate: float, bar: float, horizon: int,
            checkpoints: Sequence[int]) -> dict[str, dict[str, Any]]:
    out = {}
    for profile in profiles:
        found = [run_trainer(profile, seed, setup.pool, setup.production, rate=rate, bar=bar, horizon=horizon,
                             long_words=setup.long_words, score=setup.score) for seed in range(runs)]
        out[profile] = summarise(found, checkpoints)
    return out


def _flagged(got: dict[str, dict[str, Any]], horizon: int) -> dict[str, float]:
    return {p: got[p]["flagged_within"][str(horizon)] for p in got}


def search(setup: Setup, runs: int, *, rate: float, bar: float, horizon: int,
           pools: dict[str, Setup]) -> dict[str, Any]:
    """What would meet both targets, measured with the same runs: the least rate (at ``bar``), the least
    bar (at ``rate``), and other pools (``pools``: e.g. a decoy on every gold item) at ``rate`` and ``bar``."""
    profiles = list(PROFILES)  # all of them: what a higher rate or bar costs the good ones too
    found: dict[str, Any] = {"by_rate": {}, "by_bar": {}, "by_pool": {}, "least_rate": None, "least_bar": None,
                             "pools_meeting": []}

    def one(where: dict[str, Any], key: str, chosen: Setup, r: float, b: float) -> bool:
        got = measure(chosen, profiles, runs, rate=r, bar=b, horizon=horizon, checkpoints=(horizon,))
        where[key] = _flagged(got, horizon)
        say(f"  {key}: " + ", ".join(f"{p} {v:.1%}" for p, v in where[key].items()))
        return meets(got, horizon)

    for r in [x for x in SEARCH_RATES if x > rate]:
        if one(found["by_rate"], str(r), setup, r, bar):
            found["least_rate"] = r
            break
    for b in [x for x in SEARCH_BARS if x > bar]:
        if one(found["by_bar"], str(b), setup, rate, b):
            found["least_bar"] = b
            break
    for name, chosen in pools.items():
        if one(found["by_pool"], name, chosen, rate, bar):
            found["pools_meeting"].append(name)
    return found


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--file", type=Path, default=None, help="the dev_feedback.json to read (default: under --data)")
    parser.add_argument("--answers", type=int, default=500, help="questions read from the set")
    parser.add_argument("--runs", type=int, default=200, help="seeded runs per profile")
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--bar", type=float, default=None, help="catch-rate bar (default: the profiles' bar)")
    parser.add_argument("--horizon", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--expert-share", type=float, default=0.2)
    parser.add_argument("--decoy-share", type=float, default=0.5)
    parser.add_argument("--pool-seed", type=int, default=20)
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--no-service", action="store_true", help="skip the end-to-end check through the service")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    bar = DEFAULT_BAR if args.bar is None else args.bar
    rows = load_rows(args.file or args.data / FGRLHF_FILE, args.answers)
    pool = make_pool(rows, seed=args.pool_seed, expert_share=args.expert_share, decoy_share=args.decoy_share)
    production = [t for r in rows for t in r.others] or [r.text for r in rows]
    long_words = int(statistics.median(word_count(g.text) for g in pool))
    setup = Setup(pool, production, long_words, cached(score_answer))
    stats = pool_stats(pool)
    say(f"FineGrainedRLHF dev: {len(rows)} questions -> {stats['items']} gold items ({stats['planted']} planted, "
        f"{stats['expert_accepted']} expert-accepted; {stats['critic_pointed']} pointed at by the critique, "
        f"{stats['with_decoy']} with a decoy), {len(production)} production drafts; long = {long_words}+ words")
    checkpoints = sorted({c for c in CHECKPOINTS if c <= args.horizon} | {args.horizon})
    results = measure(setup, list(PROFILES), args.runs, rate=args.rate, bar=bar, horizon=args.horizon,
                      checkpoints=checkpoints)
    for profile, r in results.items():
        say(f"{profile:>15}: flagged " + ", ".join(f"{v:.1%} by {c}" for c, v in r["flagged_within"].items())
            + f"; reasons {r['reasons']}; median gold to decide {r['median_gold_to_decide']} "
            f"({r['decided_runs']}/{r['runs']} decided); gold time {r['gold_time_share']:.1%}")
    ok = meets(results, args.horizon)
    out: dict[str, Any] = {
        "bench": "trainers", "data": "FineGrainedRLHF qa-feedback dev (allenai/FineGrainedRLHF @ a1469d4)",
        "rate": args.rate, "bar": bar, "min_items": MIN_ITEMS, "deference_bar": DEFERENCE_BAR,
        "false_alarm_bar": FALSE_ALARM_BAR, "runs": args.runs, "horizon": args.horizon, "pool": stats,
        "long_words": long_words, "profiles": results, "targets_met": ok,
        "targets": {"power": TARGET_POWER, "careful_false_flag": TARGET_FALSE_FLAG, "within": args.horizon},
    }
    if not ok and not args.no_search:
        say("targets not met: the same runs at higher rates, then at higher bars")
        pools = {name: Setup(make_pool(rows, seed=args.pool_seed, **shares), production, long_words, setup.score)
                 for name, shares in POOL_VARIANTS.items()}
        out["search"] = search(setup, args.runs, rate=args.rate, bar=bar, horizon=args.horizon, pools=pools)
    if not args.no_service:
        say(f"end to end through the review service: seed 0 of each profile, {args.horizon} production items each")
        check = out["service_check"] = service_check(setup, rows, rate=args.rate, bar=bar, horizon=args.horizon)
        say(f"service check: {check['agreeing_answers']} of {check['gold_answers']} gold answers the same item and "
            f"score as the fast path; agree: {check['agree']} ({check['seconds']} s)")
    out["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(out))
    return out


def service_check(setup: Setup, rows: Sequence[Row], *, rate: float, bar: float, horizon: int,
                  seed: int = 0) -> dict[str, Any]:
    """One seed of each profile end to end through the review service on a SQLite store, against the fast path.

    The gold items are kept in the store with their source tasks and drafts; ``horizon`` production items
    a profile are queued as a run leaves them (drafts and empty critiques stored, threads run to their
    pause: no model is called). Each trainer then claims, opens and submits item after item through
    ``review.claim`` / ``review.item`` / ``review.submit``, the gold due rule serving gold copies as it
    serves anyone, answering from what the service shows. Compared: the gold items each trainer met, in
    order, and their scores as the store kept them, against the fast path's run of the same seed; and
    when the rule flags them.
    """
    import asyncio
    import tempfile

    from oversight.config import load_settings
    from oversight.project import Project

    began = time.perf_counter()
    profiles = list(PROFILES)
    with tempfile.TemporaryDirectory(prefix="bench-trainers-") as tmp:
        settings = load_settings(db=str(Path(tmp) / "bench.db"), model=MODEL, api_base=DEAD_API, api_key="sk-bench",
                                 gold_rate=rate)
        with Project.open(settings, announce=lambda _m: None) as project:
            _seed_store(project, setup, rows, len(profiles) * horizon)
            seeded = time.perf_counter() - began
            served = asyncio.run(_serve_all(project, setup, profiles, seed=seed, horizon=horizon))
    out: dict[str, Any] = {"seed": seed, "horizon": horizon, "seed_store_s": round(seeded, 1), "profiles": {}}
    for profile in profiles:
        fast = run_trainer(profile, seed, setup.pool, setup.production, rate=rate, bar=bar, horizon=horizon,
                           long_words=setup.long_words, score=setup.score)
        theirs = served[profile]
        rule, flagged = Rule(bar), None
        for k, (_, key) in enumerate(theirs["scores"]):
            rule.add(GoldAnswer.model_construct(caught=key[0], deferred=key[1], false_alarm=key[2],
                                                critic_pointed=key[3]))
            if flagged is None and rule.flagged() is not None:
                flagged = k + 1
        same = sum(1 for a, b in zip(fast.scores, theirs["scores"], strict=False) if a == b)
        out["profiles"][profile] = {
            "gold_answers_service": len(theirs["scores"]), "gold_answers_fast": len(fast.scores),
            "same_item_and_score": same, "production_service": theirs["production"],
            "flagged_gold_service": flagged, "flagged_gold_fast": fast.flagged_gold,
            "agree": fast.scores == theirs["scores"] and flagged == fast.flagged_gold,
        }
    out["gold_answers"] = sum(p["gold_answers_service"] for p in out["profiles"].values())
    out["agreeing_answers"] = sum(p["same_item_and_score"] for p in out["profiles"].values())
    out["agree"] = all(p["agree"] for p in out["profiles"].values())
    out["seconds"] = round(time.perf_counter() - began, 1)
    return out


def _seed_store(project: Any, setup: Setup, rows: Sequence[Row], production: int) -> None:
    """The gold items with their source tasks and drafts, and ``production`` queued items (threads paused)."""
    import asyncio

    from oversight.schemas import Task
    from tests.support.review_seed import seed_items

    store = project.store
    by_task = {source_ids(r)[0]: r for r in rows}
    sources = []
    for item in setup.pool:
        row = by_task[item.source_task_id]
        task = Task(id=item.source_task_id, prompt=row.question, context=row.context or None)
        sources.append((task, Draft(id=item.source_draft_id, task_id=task.id, model=DRAFTER, prompt_name="imported",
                                    prompt_version="imported", text=row.text)))
    store.add_imported_tasks(sources, source="finegrainedrlhf-dev")
    store.save_gold_items(list(setup.pool))
    queued = [(Task(id=f"p{i:05d}", prompt=f"Production item {i}."), setup.production[i % len(setup.production)], [])
              for i in range(production)]
    ids = seed_items(project, queued, source="production")
    asyncio.run(_pause(project, ids))


async def _pause(project: Any, ids: Sequence[str]) -> None:
    """Run each queued task's refine thread to its pause (the draft and critique are stored: no model call)."""
    import asyncio

    from oversight.pipelines.context import PipelineContext
    from oversight.pipelines.refine import refine_graph, run_to_pause

    limit = asyncio.Semaphore(8)
    context = PipelineContext(project=project)
    async with refine_graph(project) as graph:
        async def one(task_id: str) -> None:
            async with limit:
                await run_to_pause(graph, task_id, project.thread_id(task_id), context)

        await asyncio.gather(*(one(task_id) for task_id in ids))


async def _serve_all(project: Any, setup: Setup, profiles: Sequence[str], *, seed: int,
                     horizon: int) -> dict[str, dict[str, Any]]:
    """Each profile's trainer through the service until it has answered ``horizon`` production items."""
    import asyncio

    from oversight import review

    store = project.store
    out: dict[str, dict[str, Any]] = {}
    for profile in profiles:
        trainer, reviewer = make_trainer(profile, long_words=setup.long_words), f"{profile}-{seed}"
        made = 0
        while made < horizon:
            lease = await review.claim(project, reviewer)
            if lease is None:
                break
            shown = await review.item(project, lease.task_id, reviewer)
            copy = await asyncio.to_thread(store.gold_copy, lease.task_id)
            item = await asyncio.to_thread(store.gold_item, copy.gold_id) if copy is not None else None
            truth = Truth(item.plant, item.decoy) if item is not None else Truth()
            rng = answer_rng(seed, profile, item.id if item is not None else f"production {made}")
            findings = tuple(shown.critique.findings) if shown.critique is not None else ()
            said = trainer.answer(Seen(shown.task.prompt, shown.draft.text, findings), truth, rng)
            await review.submit(project, lease.task_id, said, reviewer=reviewer, simulated=True)
            made += item is None
        answers = [a for a in await asyncio.to_thread(store.gold_answers) if a.reviewer == reviewer]
        out[profile] = {"scores": [(a.gold_id, _key(a)) for a in sorted(answers, key=lambda a: a.created_at)],
                        "production": made}
        say(f"  service: {profile} answered {made} production and {len(answers)} gold items")
    return out

if __name__ == "__main__":
    main()
