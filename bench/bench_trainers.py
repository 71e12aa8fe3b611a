"""Gold items hidden in the queue: how soon they flag a bad trainer, and how rarely a good one.

    python bench/bench_trainers.py [--data /work/shared/data] [--runs 200] [--rate 0.05] [--bar B]
                                   [--min-items M] [--level L] [--horizon 300] [--answers 500]
                                   [--expert-share 0.2] [--decoy-share 0.5] [--profiles careful,...]
                                   [--no-search] [--no-rule-search] [--no-service]

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
whether a gold item comes, and the gold module's draw (``gold_queue.draw``) which one; the trainer
answers it, the answer is checked as any (``check_answer``) and scored by ``gold_queue.score``. A run
keeps its scored gold answers in order, with the production items done before each; the rule is
asked of them afterwards (``decide``), after every gold answer, so one set of runs answers for every
setting of the rule (``--min-items``, ``--level``, the bar). Production items are NOT pushed through
the review service or the LangGraph graph: an answer to a production item changes no gold figure,
so it counts by number (and by time: the trainer's answer to a production draft, with no critique,
is drawn for its seconds only). That keeps a run to milliseconds, so ``--runs`` seeded runs per
profile are cheap. To check that this fast path serves and scores gold as the product does, seed 0
of each profile is run end to end through the real review service on a SQLite store
(``review.claim`` / ``review.item`` / ``review.submit``: gold copies served by the due rule,
production items resumed through the refine graph), and the gold items each trainer met, in order,
with their scores as the store kept them, are compared with the fast path's (``service_check``;
printed as "N of N gold answers the same item and score").

The rule is the product's own: ``profiles.flags`` (review/profiles.py), on a profile holding the
run's tallies so far, which flags on four rules, each on a Wilson interval (``--level``, default
the product's ``FLAG_LEVEL``) of a figure with at least ``--min-items`` answers behind it (default
the product's ``MIN_ITEMS``), never a point estimate alone: the catch rate's upper bound below the
bar (``--bar``, default ``DEFAULT_BAR``); the same on the planted errors no finding pointed at
(unassisted catch); decoys marked right, the lower bound above one half (deference); and drafts the
expert accepted changed, the lower bound above the assessment's 20% (false alarms). "Cleared" is
the other side: the catch rate's lower bound at or above the bar.

Reported per profile: the share of runs flagged within 100, 200 and 300 production items (power;
for the careful trainer, its false-flag rate), which rule flagged them, the median gold answers
before a profile is decided (flagged or cleared; over the runs decided within the horizon, their
number beside it), the share of runs with MIN_ITEMS planted answers by the horizon (a ceiling on
power), the trainer's pooled catch rate, deference and false alarms on gold (that it acts its
profile), and the share of its time spent on gold (gold seconds over all seconds). Targets:
rubber-stamper and deferent flagged with >= 90% power within 300 production items; careful flagged
<= 5% (looked at after every gold answer: each look is one more chance of a false flag). The rule's
minimum and level are measured on the same runs over ``SEARCH_MIN_ITEMS`` x ``SEARCH_LEVELS``
(``rule_search``; ``--no-rule-search`` skips it): the product's defaults are chosen from it. When
the rate and bar asked for miss either, the same runs are made at higher rates, at higher bars, and
with other gold pools (``POOL_VARIANTS``) (``--no-search`` skips it), and what meets both is
reported, measured.

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
from oversight.review.gold_queue import draw, is_due, score  # noqa: E402
from oversight.review.profiles import (  # noqa: E402
    DEFAULT_BAR,
    DEFERENCE_BAR,
    FALSE_ALARM_BAR,
    FLAG_LEVEL,
    MIN_ITEMS,
    flags,
)
from oversight.schemas import (  # noqa: E402
    Critique,
    Difference,
    Draft,
    GoldAnswer,
    GoldCopy,
    GoldItem,
    Proportion,
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
# The rule's minimum and interval level measured against each other (``--min-items-search``): the
# careful trainer is looked at after every gold answer, so each look is one more chance of a false flag.
SEARCH_MIN_ITEMS = (5, 6, 8, 10)
SEARCH_LEVELS = (0.95, 0.99)
MODEL = "openai/drafter"  # the service check's project: no model is ever called
DEAD_API = "http://127.0.0.1:9/v1"  # nothing listens: a model call would fail loudly


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the gold module: due rule and scoring ---------------------------------------------------------


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


@dataclass(frozen=True)
class Setting:
    """What the rule is asked with: the catch-rate bar, the fewest answers behind a figure, the interval level."""

    bar: float
    min_items: int = MIN_ITEMS
    level: float = FLAG_LEVEL

    @property
    def name(self) -> str:
        return f"min_items={self.min_items} level={self.level:g}"


Key = tuple[Any, ...]  # what the rule reads of a scored answer: caught, deferred, false_alarm, critic_pointed


@cache
def flagged_by(tallies: tuple[int, ...], setting: Setting) -> str | None:
    """The first rule of the product's ``profiles.flags`` that flags a profile holding these tallies (catch k, n;
    unassisted catch k, n; decoys marked right k, n; false alarms k, n), or None. ``flags`` reads nothing else of
    a profile; remembered by the tallies, as it is asked after every gold answer of every run."""
    ck, cn, uk, un, dk, dn, fk, fn = tallies
    found = TrainerProfile(
        reviewer="bench", min_items=setting.min_items, catch_rate=Proportion(k=ck, n=cn),
        missed_by_critic=Difference(first=Proportion(k=un - uk, n=un)),  # the profile keeps the misses
        deference=Proportion(k=dk, n=dn), false_alarms=Proportion(k=fk, n=fn))
    fired = flags(found, setting.bar, level=setting.level)
    return fired[0].rule if fired else None


@cache
def cleared(k: int, n: int, setting: Setting) -> bool:
    """The other side: enough answers, and the catch rate's whole interval at or above the bar."""
    from statsmodels.stats.proportion import proportion_confint

    return n >= setting.min_items and proportion_confint(k, n, alpha=1 - setting.level, method="wilson")[0] >= setting.bar


@dataclass
class Decision:
    """When the rule, looked at after every gold answer, decided one run."""

    flagged_at: int | None = None  # production items done when first flagged
    flagged_gold: int | None = None  # gold answers by then
    reason: str | None = None
    cleared_gold: int | None = None

    @property
    def decided_gold(self) -> int | None:
        """Gold answers before the profile was decided (flagged or cleared, whichever came first)."""
        found = [g for g in (self.flagged_gold, self.cleared_gold) if g is not None]
        return min(found) if found else None


def decide(keys: Sequence[Key], made: Sequence[int], setting: Setting) -> Decision:
    """The rule over one run's scored gold answers in order (``made``: production items done before each)."""
    out = Decision()
    tally = [0] * 8
    for gold, ((caught, deferred, false_alarm, pointed), done) in enumerate(zip(keys, made, strict=True), start=1):
        for at, hit in ((0, caught), (2, caught if pointed is False else None), (4, deferred), (6, false_alarm)):
            if hit is not None:
                tally[at] += int(hit)
                tally[at + 1] += 1
        if out.flagged_at is None and (reason := flagged_by(tuple(tally), setting)) is not None:
            out.flagged_at, out.flagged_gold, out.reason = done, gold, reason
            break  # a flag is the end of it: whatever cleared it later does not count
        if out.cleared_gold is None and cleared(tally[0], tally[1], setting):
            out.cleared_gold = gold
    return out


# -- one trainer's run -----------------------------------------------------------------------------


@dataclass
class Run:
    """What one seeded run of one trainer gave: its scored gold answers in order, whatever rule reads them."""

    profile: str
    seed: int
    gold: int = 0
    planted: int = 0  # planted answers that were not skips (the catch rate's n)
    gold_seconds: float = 0.0
    production_seconds: float = 0.0
    scores: list[tuple[str, Key]] = field(default_factory=list)
    made: list[int] = field(default_factory=list)  # production items done before each gold answer

    def decide(self, setting: Setting) -> Decision:
        return decide([key for _, key in self.scores], self.made, setting)


def answer_rng(seed: int, profile: str, item: str) -> random.Random:
    """One trainer's stream on one item: the same on every re-run."""
    return random.Random(content_hash(seed, profile, item))


Scorer = Callable[[GoldItem, dict[str, Any], str], GoldAnswer]


def _key(answer: GoldAnswer) -> Key:
    """What the rule reads of a scored answer (compared between the fast path and the service)."""
    return (answer.caught, answer.deferred, answer.false_alarm, answer.critic_pointed)


def run_trainer(profile: str, seed: int, pool: Sequence[GoldItem], production: Sequence[str], *, rate: float,
                horizon: int, long_words: int, score: Scorer) -> Run:
    """One trainer through ``horizon`` production items, gold due at ``rate`` (see the module docstring): the
    due rule (``gold_queue.is_due``) and the draw of the item (``gold_queue.draw``) are the product's own."""
    trainer: Trainer = make_trainer(profile, long_words=long_words)
    reviewer = f"{profile}-{seed}"
    run = Run(profile, seed)
    done: set[str] = set()
    answered = made = 0
    while made < horizon:
        item = draw(pool, reviewer, answered, met=done) if is_due(reviewer, answered, rate) else None
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
            run.made.append(made)
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


def summarise(runs: Sequence[Run], setting: Setting, checkpoints: Sequence[int]) -> dict[str, Any]:
    """Power within each checkpoint, reasons, gold answers to a decision, and gold's share of time."""
    n = len(runs)
    decisions = [r.decide(setting) for r in runs]
    decided = [d.decided_gold for d in decisions if d.decided_gold is not None]
    flagged = [d.flagged_gold for d in decisions if d.flagged_gold is not None]
    gold_s = sum(r.gold_seconds for r in runs)
    all_s = gold_s + sum(r.production_seconds for r in runs)
    return {
        "runs": n,
        "flagged_within": {str(c): round(sum(1 for d in decisions if d.flagged_at is not None and d.flagged_at <= c)
                                         / n, 4) for c in checkpoints},
        "reasons": dict(Counter(d.reason for d in decisions if d.reason is not None)),
        "median_gold_to_decide": statistics.median(decided) if decided else None,
        "decided_runs": len(decided),
        "median_gold_to_flag": statistics.median(flagged) if flagged else None,
        "cleared_runs": sum(1 for d in decisions if d.cleared_gold is not None),
        "median_gold_answered": statistics.median(r.gold for r in runs),
        # what the simulated trainer did on gold, pooled over the runs (k of n): it should read as its profile says
        "catch_rate": _pooled(runs, 0), "deference": _pooled(runs, 1), "false_alarms": _pooled(runs, 2),
        "reached_min_items": round(sum(1 for r in runs if r.planted >= setting.min_items) / n, 4),
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


Simulated = dict[str, list[Run]]  # the runs of each profile


def simulate(setup: Setup, profiles: Sequence[str], runs: int, *, rate: float, horizon: int) -> Simulated:
    """``runs`` seeded runs of each profile: what they answered, for any rule to be asked of afterwards."""
    return {profile: [run_trainer(profile, seed, setup.pool, setup.production, rate=rate, horizon=horizon,
                                  long_words=setup.long_words, score=setup.score) for seed in range(runs)]
            for profile in profiles}


def measure(simulated: Simulated, setting: Setting, checkpoints: Sequence[int]) -> dict[str, dict[str, Any]]:
    return {profile: summarise(runs, setting, checkpoints) for profile, runs in simulated.items()}


def _flagged(got: dict[str, dict[str, Any]], horizon: int) -> dict[str, float]:
    return {p: got[p]["flagged_within"][str(horizon)] for p in got}


def rule_search(simulated: Simulated, *, bar: float, horizon: int) -> dict[str, Any]:
    """The rule's minimum answers and interval level, each pair on the same runs (the answers do not depend on
    them): flagged within ``horizon`` per profile, and which pairs meet both targets."""
    found: dict[str, Any] = {"by_setting": {}, "meeting": []}
    for level in SEARCH_LEVELS:
        for m in SEARCH_MIN_ITEMS:
            setting = Setting(bar, m, level)
            got = measure(simulated, setting, (horizon,))
            found["by_setting"][setting.name] = {"flagged": _flagged(got, horizon),
                                                 "reasons": {p: got[p]["reasons"] for p in got},
                                                 "reached_min_items": {p: got[p]["reached_min_items"] for p in got}}
            say(f"  {setting.name}: " + ", ".join(f"{p} {v:.1%} {got[p]['reasons'] or ''}"
                                                  for p, v in _flagged(got, horizon).items()))
            if meets(got, horizon):
                found["meeting"].append(setting.name)
    return found


def search(setup: Setup, simulated: Simulated, runs: int, *, rate: float, setting: Setting, horizon: int,
           pools: dict[str, Setup]) -> dict[str, Any]:
    """What would meet both targets under ``setting``'s rule, measured with the same runs: the least rate, the
    least bar (at ``rate``), and other pools (``pools``: e.g. a decoy on every gold item) at ``rate``."""
    profiles = list(PROFILES)  # all of them: what a higher rate or bar costs the good ones too
    found: dict[str, Any] = {"by_rate": {}, "by_bar": {}, "by_pool": {}, "least_rate": None, "least_bar": None,
                             "pools_meeting": []}

    def one(where: dict[str, Any], key: str, sims: Simulated, chosen: Setting) -> bool:
        got = measure(sims, chosen, (horizon,))
        where[key] = _flagged(got, horizon)
        say(f"  {key}: " + ", ".join(f"{p} {v:.1%}" for p, v in where[key].items()))
        return meets(got, horizon)

    for r in [x for x in SEARCH_RATES if x > rate]:
        if one(found["by_rate"], str(r), simulate(setup, profiles, runs, rate=r, horizon=horizon), setting):
            found["least_rate"] = r
            break
    for b in [x for x in SEARCH_BARS if x > setting.bar]:
        if one(found["by_bar"], str(b), simulated, Setting(b, setting.min_items, setting.level)):
            found["least_bar"] = b
            break
    for name, chosen in pools.items():
        if one(found["by_pool"], name, simulate(chosen, profiles, runs, rate=rate, horizon=horizon), setting):
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
    parser.add_argument("--min-items", type=int, default=MIN_ITEMS, help="the rule's fewest answers behind a figure")
    parser.add_argument("--level", type=float, default=FLAG_LEVEL, help="the rule's Wilson interval level")
    parser.add_argument("--horizon", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--expert-share", type=float, default=0.2)
    parser.add_argument("--decoy-share", type=float, default=0.5)
    parser.add_argument("--pool-seed", type=int, default=20)
    parser.add_argument("--profiles", default=",".join(PROFILES), help="the profiles to run, comma-separated")
    parser.add_argument("--no-search", action="store_true", help="skip the rate, bar and pool search")
    parser.add_argument("--no-rule-search", action="store_true", help="skip the minimum and level search")
    parser.add_argument("--no-service", action="store_true", help="skip the end-to-end check through the service")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    setting = Setting(DEFAULT_BAR if args.bar is None else args.bar, args.min_items, args.level)
    chosen = [p for p in args.profiles.split(",") if p]
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
    simulated = simulate(setup, chosen, args.runs, rate=args.rate, horizon=args.horizon)
    say(f"{len(chosen)} profiles x {args.runs} runs simulated ({time.perf_counter() - began:.0f} s); rule: "
        f"{setting.name}, bar {setting.bar}")
    results = measure(simulated, setting, checkpoints)
    for profile, r in results.items():
        say(f"{profile:>15}: flagged " + ", ".join(f"{v:.1%} by {c}" for c, v in r["flagged_within"].items())
            + f"; reasons {r['reasons']}; median gold to decide {r['median_gold_to_decide']} "
            f"({r['decided_runs']}/{r['runs']} decided); gold time {r['gold_time_share']:.1%}")
    ok = meets(results, args.horizon)
    out: dict[str, Any] = {
        "bench": "trainers", "data": "FineGrainedRLHF qa-feedback dev (allenai/FineGrainedRLHF @ a1469d4)",
        "rate": args.rate, "bar": setting.bar, "min_items": setting.min_items, "level": setting.level,
        "product_min_items": MIN_ITEMS, "product_level": FLAG_LEVEL, "deference_bar": DEFERENCE_BAR,
        "false_alarm_bar": FALSE_ALARM_BAR, "runs": args.runs, "horizon": args.horizon, "pool": stats,
        "long_words": long_words, "profiles": results, "targets_met": ok,
        "targets": {"power": TARGET_POWER, "careful_false_flag": TARGET_FALSE_FLAG, "within": args.horizon},
    }
    if not args.no_rule_search:
        say(f"the rule's minimum and level, on the same runs (flagged within {args.horizon}):")
        out["rule_search"] = rule_search(simulated, bar=setting.bar, horizon=args.horizon)
    if not ok and not args.no_search:
        say("targets not met: the same runs at higher rates, then at higher bars, then other pools")
        pools = {name: Setup(make_pool(rows, seed=args.pool_seed, **shares), production, long_words, setup.score)
                 for name, shares in POOL_VARIANTS.items()}
        out["search"] = search(setup, simulated, args.runs, rate=args.rate, setting=setting, horizon=args.horizon,
                               pools=pools)
    if not args.no_service:
        say(f"end to end through the review service: seed 0 of each profile, {args.horizon} production items each")
        check = out["service_check"] = service_check(setup, rows, rate=args.rate, setting=setting,
                                                     horizon=args.horizon)
        say(f"service check: {check['agreeing_answers']} of {check['gold_answers']} gold answers the same item and "
            f"score as the fast path; agree: {check['agree']} ({check['seconds']} s)")
    out["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(out))
    return out


def service_check(setup: Setup, rows: Sequence[Row], *, rate: float, setting: Setting, horizon: int,
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
        fast = run_trainer(profile, seed, setup.pool, setup.production, rate=rate, horizon=horizon,
                           long_words=setup.long_words, score=setup.score)
        theirs = served[profile]
        flagged = decide([key for _, key in theirs["scores"]], theirs["made"], setting).flagged_gold
        same = sum(1 for a, b in zip(fast.scores, theirs["scores"], strict=False) if a == b)
        out["profiles"][profile] = {
            "gold_answers_service": len(theirs["scores"]), "gold_answers_fast": len(fast.scores),
            "same_item_and_score": same, "production_service": theirs["production"],
            "flagged_gold_service": flagged, "flagged_gold_fast": (fast_flag := fast.decide(setting).flagged_gold),
            "agree": fast.scores == theirs["scores"] and flagged == fast_flag,
        }
    out["gold_answers"] = sum(p["gold_answers_service"] for p in out["profiles"].values())
    out["agreeing_answers"] = sum(p["same_item_and_score"] for p in out["profiles"].values())
    out["agree"] = all(p["agree"] for p in out["profiles"].values())
    out["seconds"] = round(time.perf_counter() - began, 1)
    return out


def _seed_store(project: Any, setup: Setup, rows: Sequence[Row], production: int) -> None:
    """The gold items with their source tasks and drafts, and ``production`` queued items (as `oversight draft` leaves them)."""

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
    seed_items(project, queued, source="production")  # as `oversight draft` leaves them


async def _serve_all(project: Any, setup: Setup, profiles: Sequence[str], *, seed: int,
                     horizon: int) -> dict[str, dict[str, Any]]:
    """Each profile's trainer through the service until it has answered ``horizon`` production items."""
    import asyncio

    from oversight import review

    store = project.store
    out: dict[str, dict[str, Any]] = {}
    for profile in profiles:
        trainer, reviewer = make_trainer(profile, long_words=setup.long_words), f"{profile}-{seed}"
        made, before = 0, []  # before: production items done before each gold answer
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
            if item is not None:
                before.append(made)
            made += item is None
        answers = [a for a in await asyncio.to_thread(store.gold_answers) if a.reviewer == reviewer]
        out[profile] = {"scores": [(a.gold_id, _key(a)) for a in sorted(answers, key=lambda a: a.created_at)],
                        "made": before, "production": made}
        say(f"  service: {profile} answered {made} production and {len(answers)} gold items")
    return out

if __name__ == "__main__":
    main()
