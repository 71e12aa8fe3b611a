"""A judgment profile per trainer: what their answers to gold items say of them, with intervals.

Gold answers (``store.gold_answers``: hidden items whose right answer is known) give the catch
rate on planted errors, false alarms (changing a draft the expert accepted as it was), agreement
with the experts (as calibration scores it: ``calibration.score``), and deference to the critic
(a decoy finding marked right; planted errors missed when the critic missed them too, against
when it pointed at them). The trainer's production refinements give their style bias (the
audit's style model on what they accept against what they change) and their speed.

Every proportion has a 95% Wilson interval and every figure its n; below ``MIN_ITEMS`` a figure
says "too few items" and decides nothing. A pause is only ever *suggested*, by the rules of
``review.flags`` (re-exported here as ``flags``: the one decision the lead pages, ``oversight trainers
report``, the trust downstream and the trainer bench all read): the catch rate, the catch rate on
errors no finding pointed at, deference and false alarms, each on the Wilson interval of a figure
with at least ``min_items`` answers behind it, never on a point estimate alone.
Gold answers of an assessment count like any other: they are the same kind of work.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from oversight.review.flags import (
    DEFERENCE_BAR,
    FALSE_ALARM_BAR,
    FLAG_LEVEL,
    RULES,
    Flag,
    flags,
    suggested_pause,
)
from oversight.schemas import (
    FEATURES,
    Difference,
    GoldAnswer,
    GoldItem,
    Mean,
    Median,
    OddsRatio,
    ProfileSlice,
    Proportion,
    Refinement,
    Speed,
    StyleBias,
    TrainerProfile,
)

if TYPE_CHECKING:
    from oversight.store import Store

__all__ = [
    "DEFAULT_BAR",
    "DEFERENCE_BAR",
    "FALSE_ALARM_BAR",
    "FAST_SHARE",
    "FLAG_LEVEL",
    "MIN_ITEMS",
    "NO_DOMAIN",
    "RULES",
    "BelowBar",
    "Flag",
    "below_bar",
    "flagged",
    "flags",
    "iso_week",
    "profile",
    "profiles",
    "proportion",
    "suggested_pause",
]

# Below this many answers a figure says "too few items" and suggests nothing. Chosen by measurement
# (bench/bench_trainers.py, gold_rate 5%, bar 0.5, 200 runs a profile, flags asked after every gold
# answer, flagged within 300 production items): at 5, rubber-stamper 92.0%, deferent 92.5%, careful
# 0.0%; at 6: 90.5%, 81.0%, 0.0%; at 8: 89.5%, 54.5%, 0.0%; at 10: 78.0%, 25.5%, 0.0% (only 81-84% of
# runs have 10 planted answers by then). 99% intervals met neither power target at any of them. The
# interval does the guarding: 0 of 5 caught is still below 0.5 at 95% (upper bound 0.43), 1 of 5 is not.
MIN_ITEMS = 5
# The catch-rate bar of the ``trainer_catch_bar`` setting, by default.
DEFAULT_BAR = 0.5
# "Fast": a median time on gold items at most this share of the other trainers' median on them.
FAST_SHARE = 0.5
# Rubber-stamping needs the planted errors accepted as they were more often than this, interval and all.
STAMPED_SHARE = 0.5
# The style fit needs this many accepted and this many changed drafts (and a term varies on this many).
STYLE_MIN_OUTCOME = 5
NO_DOMAIN = "(none)"
_MAX_LOG_ODDS = 30.0  # a Firth bound far out (effectively unbounded) stays a finite number in JSON


class _Item(NamedTuple):
    """One production refinement with what the profile needs of its task and draft."""

    refinement: Refinement
    domain: str | None
    text: str | None  # the draft's text (None when the draft is gone)


# -- the statistics ---------------------------------------------------------------------------


def proportion(k: int, n: int, *, min_items: int = MIN_ITEMS) -> Proportion:
    """k of n with its 95% Wilson interval (statsmodels), "too few" below ``min_items``."""
    if n == 0:
        return Proportion(k=0, n=0, too_few=True)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    return Proportion(k=k, n=n, point=k / n, low=float(low), high=float(high), too_few=n < min_items)


def _difference(first: Proportion, second: Proportion) -> Difference:
    """first - second with a 95% Newcombe (hybrid Wilson score) interval, "too few" when either is."""
    out = Difference(first=first, second=second, too_few=first.too_few or second.too_few)
    if first.n == 0 or second.n == 0:
        return out
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(first.k, first.n, second.k, second.n, method="newcomb", compare="diff")
    out.point, out.low, out.high = first.k / first.n - second.k / second.n, float(low), float(high)
    return out


def _mean(values: Sequence[float], min_items: int) -> Mean:
    return Mean(n=len(values), mean=sum(values) / len(values) if values else None, too_few=len(values) < min_items)


def _median(values: Sequence[float], min_items: int) -> Median:
    return Median(n=len(values), median=statistics.median(values) if values else None,
                  too_few=len(values) < min_items)


def iso_week(moment: datetime) -> str:
    """The ISO week a moment falls in, as ``2025-W23`` (UTC)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


# -- the figures ------------------------------------------------------------------------------


def _answered(answers: Iterable[GoldAnswer]) -> list[GoldAnswer]:
    """Planted answers that were not skipped (a skip neither catches nor misses)."""
    return [a for a in answers if a.kind == "planted" and a.caught is not None]


def _seconds(answer: GoldAnswer) -> float:
    return answer.seconds or answer.refinement.seconds_spent


def _timed(items: Iterable[_Item]) -> list[float]:
    """Seconds on production items that were done (not skipped) and timed (0 means not measured)."""
    return [i.refinement.seconds_spent for i in items if i.refinement.decision != "skip" and i.refinement.seconds_spent > 0]


def _catch_rate(answers: Sequence[GoldAnswer], m: int) -> Proportion:
    planted = _answered(answers)
    return proportion(sum(1 for a in planted if a.caught), len(planted), min_items=m)


def _false_alarms(answers: Sequence[GoldAnswer], m: int) -> Proportion:
    judged = [a for a in answers if a.false_alarm is not None and a.refinement.decision != "skip"]
    return proportion(sum(1 for a in judged if a.false_alarm), len(judged), min_items=m)


def _deference(answers: Sequence[GoldAnswer], m: int) -> Proportion:
    judged = [a for a in answers if a.deferred is not None]
    return proportion(sum(1 for a in judged if a.deferred), len(judged), min_items=m)


def _decision_agreement(answers: Sequence[GoldAnswer], m: int) -> Proportion:
    scored = [a for a in answers if a.kind == "expert" and a.decision_agrees is not None]
    return proportion(sum(1 for a in scored if a.decision_agrees), len(scored), min_items=m)


def _missed_by_critic(answers: Sequence[GoldAnswer], items: dict[str, GoldItem], m: int) -> Difference:
    """Miss rate on planted errors the critic missed, against those it pointed at."""
    split: dict[bool, list[bool]] = {True: [], False: []}
    for a in _answered(answers):
        pointed = a.critic_pointed if a.critic_pointed is not None else getattr(items.get(a.gold_id), "critic_pointed", None)
        if pointed is not None:
            split[pointed].append(not a.caught)
    missed, pointed_at = split[False], split[True]
    return _difference(proportion(sum(missed), len(missed), min_items=m),
                       proportion(sum(pointed_at), len(pointed_at), min_items=m))


def _style_bias(items: Sequence[_Item], m: int) -> StyleBias:
    """The audit's style model on the trainer's own decisions: accepted (1) or changed (0) ~ the draft's
    length (log2 words: an odds ratio per doubling) + formatting (any markdown), fitted as the audit fits."""
    import numpy as np

    from oversight.audit.features import style_features
    from oversight.audit.style import fit_logistic

    rows = [i for i in items if i.refinement.decision != "skip" and i.text is not None]
    accepted = [1.0 if i.refinement.decision == "accept" else 0.0 for i in rows]
    out = StyleBias(n=len(rows), accepted=int(sum(accepted)), changed=len(rows) - int(sum(accepted)))
    features = [style_features(i.text or "") for i in rows]
    length = np.array([math.log2(max(1.0, f["length"])) for f in features])
    formatted = np.array([1.0 if any(f[k] > 0 for k in FEATURES if k != "length") else 0.0 for f in features])
    columns, names = [np.ones(len(rows)), length], ["length"]
    if min(int(formatted.sum()), len(rows) - int(formatted.sum())) >= STYLE_MIN_OUTCOME:
        columns.append(formatted)
        names.append("formatting")
    needed = max(m, 2 * len(columns) + 10)  # as the audit's style model asks of its judgments
    if len(rows) < needed or min(out.accepted, out.changed) < STYLE_MIN_OUTCOME or float(np.ptp(length)) == 0.0:
        out.note = (f"{len(rows)} decided items ({out.accepted} accepted, {out.changed} changed): the fit needs "
                    f"{needed}, at least {STYLE_MIN_OUTCOME} of each, and drafts of different lengths")
        return out
    fit, note = fit_logistic(np.array(accepted), np.column_stack(columns))
    if fit is None:
        out.status, out.note = "unstable", note
        return out

    def ratio(i: int, term: str) -> OddsRatio:
        def odds(v: float) -> float:
            return math.exp(max(-_MAX_LOG_ODDS, min(_MAX_LOG_ODDS, float(v))))

        return OddsRatio(term=term, odds_ratio=odds(fit.params[i]), low=odds(fit.ci[i, 0]), high=odds(fit.ci[i, 1]),
                         p=float(fit.pvalues[i]))

    out.status, out.fit, out.note = "ok", fit.kind, note
    out.length = ratio(1, "per doubling of length")
    if "formatting" in names:
        out.formatting = ratio(2, "formatted (any markdown) against plain")
    return out


def _speed(answers: Sequence[GoldAnswer], items: Sequence[_Item], peers: Sequence[float], m: int) -> Speed:
    """Seconds per item beside the planted errors left in; "rubber-stamping" only when the intervals say so."""
    planted = _answered(answers)
    out = Speed(production=_median(_timed(items), m), gold=_median([s for a in answers if (s := _seconds(a)) > 0], m),
                peers_gold=_median(peers, m),
                accepted_planted=proportion(sum(1 for a in planted if a.refinement.decision == "accept"),
                                            len(planted), min_items=m))
    gold, others, stamped = out.gold, out.peers_gold, out.accepted_planted
    if gold.too_few or others.too_few or gold.median is None or others.median is None:
        out.note = "too few timed gold items (theirs or the other trainers') to compare speed"
    elif gold.median > FAST_SHARE * others.median:
        out.note = f"not fast: {gold.median:.0f}s a gold item against {others.median:.0f}s for the others"
    elif stamped.too_few or stamped.low is None or stamped.low <= STAMPED_SHARE:
        out.note = (f"fast ({gold.median:.0f}s a gold item against {others.median:.0f}s for the others), but the "
                    f"planted errors accepted as they were ({stamped.label()}) do not show rubber-stamping")
    else:
        out.verdict = (f"looks like rubber-stamping: {gold.median:.0f}s a gold item against {others.median:.0f}s "
                       f"for the others, and planted errors accepted as they were {stamped.label()}")
    return out


def _slice(key: str, answers: Sequence[GoldAnswer], items: Sequence[_Item], m: int) -> ProfileSlice:
    return ProfileSlice(
        key=key, gold_answers=len(answers), production_items=sum(1 for i in items if i.refinement.decision != "skip"),
        catch_rate=_catch_rate(answers, m), false_alarms=_false_alarms(answers, m), deference=_deference(answers, m),
        decision_agreement=_decision_agreement(answers, m), seconds_per_item=_median(_timed(items), m))


def _slices(answers: Sequence[GoldAnswer], items: Sequence[_Item], m: int, key_of_answer: Callable[[GoldAnswer], str],
            key_of_item: Callable[[_Item], str]) -> list[ProfileSlice]:
    by_answer: dict[str, list[GoldAnswer]] = defaultdict(list)
    by_item: dict[str, list[_Item]] = defaultdict(list)
    for a in answers:
        by_answer[key_of_answer(a)].append(a)
    for i in items:
        by_item[key_of_item(i)].append(i)
    return [_slice(k, by_answer.get(k, []), by_item.get(k, []), m) for k in sorted({*by_answer, *by_item})]


def _build(reviewer: str, answers: Sequence[GoldAnswer], items: Sequence[_Item], peers: Sequence[float],
           gold_items: dict[str, GoldItem], *, as_of: datetime, since: datetime | None, domain: str | None,
           bar: float | None, m: int) -> TrainerProfile:
    expert = [a for a in answers if a.kind == "expert"]
    decoyed = {g for g, item in gold_items.items() if item.decoy is not None}
    found = TrainerProfile(
        reviewer=reviewer, as_of=as_of, since=since, domain=domain, min_items=m,
        production_items=sum(1 for i in items if i.refinement.decision != "skip"), gold_answers=len(answers),
        planted_skipped=sum(1 for a in answers if a.kind == "planted" and a.caught is None),
        catch_rate=_catch_rate(answers, m), false_alarms=_false_alarms(answers, m),
        decision_agreement=_decision_agreement(answers, m),
        tag_overlap=_mean([a.tag_overlap for a in expert if a.tag_overlap is not None], m),
        text_similarity=_mean([a.text_similarity for a in expert if a.text_similarity is not None], m),
        deference=_deference(answers, m),
        decoy_unjudged=sum(1 for a in answers if a.deferred is None and a.gold_id in decoyed),
        missed_by_critic=_missed_by_critic(answers, gold_items, m),
        style_bias=_style_bias(items, m), speed=_speed(answers, items, peers, m),
        by_week=_slices(answers, items, m, lambda a: iso_week(a.created_at),
                        lambda i: iso_week(i.refinement.created_at)),
        by_domain=_slices(answers, items, m, lambda a: a.domain or NO_DOMAIN, lambda i: i.domain or NO_DOMAIN),
    )
    if bar is not None:
        found.bar, found.reasons = bar, suggested_pause(found, bar)
        found.suggestion = "; ".join(found.reasons) or None
    return found


# -- from the store ---------------------------------------------------------------------------


def _production(store: Store, reviewer: str | None, since: datetime | None, domain: str | None,
                simulated: bool) -> dict[str, list[_Item]]:
    """Production refinements by reviewer (a simulated reviewer's only with ``simulated``), in ``domain``."""
    refinements = [r for r in store.refinements(since=since, reviewer=reviewer) if simulated or not r.simulated]
    domains = {t.id: t.domain for t in store.tasks({r.task_id for r in refinements})}
    drafts = store.drafts({r.draft_id for r in refinements})
    out: dict[str, list[_Item]] = defaultdict(list)
    for r in refinements:
        if domain is None or domains.get(r.task_id) == domain:
            draft = drafts.get(r.draft_id)
            out[r.reviewer].append(_Item(r, domains.get(r.task_id), draft.text if draft else None))
    return out


def _gold(store: Store, since: datetime | None, domain: str | None) -> tuple[dict[str, list[GoldAnswer]], dict[str, GoldItem]]:
    """Every gold answer (in ``domain``, since a time) by reviewer, and the gold items they answered."""
    by_reviewer: dict[str, list[GoldAnswer]] = defaultdict(list)
    for a in store.gold_answers(since=since):
        if domain is None or a.domain == domain:
            by_reviewer[a.reviewer].append(a)
    ids = {a.gold_id for answers in by_reviewer.values() for a in answers}
    items = {i.id: i for i in store.gold_items(retired=True, ids=sorted(ids))} if ids else {}
    return by_reviewer, items


def _peers(answers: dict[str, list[GoldAnswer]], reviewer: str) -> list[float]:
    """The timed gold answers of every trainer but ``reviewer``: the yardstick for "fast"."""
    return [s for who, theirs in answers.items() if who != reviewer for a in theirs if (s := _seconds(a)) > 0]


def profile(store: Store, reviewer: str, *, since: datetime | None = None, domain: str | None = None,
            bar: float | None = None, simulated: bool = False, min_items: int = MIN_ITEMS) -> TrainerProfile:
    """One trainer's profile (their gold answers and production work since ``since``, in ``domain``).

    With a ``bar``, the profile carries the suggested pause against it. A trainer with no work
    gets a profile of empty figures, each "too few items".
    """
    answers, items = _gold(store, since, domain)
    work = _production(store, reviewer, since, domain, simulated)
    return _build(reviewer, answers.get(reviewer, []), work.get(reviewer, []), _peers(answers, reviewer), items,
                  as_of=store.clock(), since=since, domain=domain, bar=bar, m=min_items)


def profiles(store: Store, *, since: datetime | None = None, domain: str | None = None, bar: float | None = None,
             simulated: bool = False, min_items: int = MIN_ITEMS) -> list[TrainerProfile]:
    """The profile of every trainer with a gold answer or a production refinement, by name."""
    answers, items = _gold(store, since, domain)
    work = _production(store, None, since, domain, simulated)
    now = store.clock()
    return [_build(who, answers.get(who, []), work.get(who, []), _peers(answers, who), items, as_of=now, since=since,
                   domain=domain, bar=bar, m=min_items) for who in sorted({*answers, *work})]


def _judged(reviewer: str, answers: Sequence[GoldAnswer], gold_items: dict[str, GoldItem], m: int) -> TrainerProfile:
    """The figures the flags read, and only those (no production work, no style fit): cheap for many trainers."""
    return TrainerProfile(reviewer=reviewer, min_items=m, gold_answers=len(answers),
                          catch_rate=_catch_rate(answers, m), false_alarms=_false_alarms(answers, m),
                          deference=_deference(answers, m), missed_by_critic=_missed_by_critic(answers, gold_items, m))


def flagged(store: Store, bar: float, *, min_items: int = MIN_ITEMS) -> dict[str, list[Flag]]:
    """Every trainer the flags flag over all their gold answers, with the rules that do (``flags``)."""
    answers, items = _gold(store, None, None)
    found = {who: flags(_judged(who, theirs, items, min_items), bar) for who, theirs in answers.items()}
    return {who: found[who] for who in sorted(found) if found[who]}


class BelowBar(NamedTuple):
    """Trainers whose catch rate is below the bar (a pause suggested), and the failure notes from them."""

    trainers: list[str]
    notes: int
    total_notes: int


def below_bar(store: Store, bar: float, *, found: Sequence[TrainerProfile] | None = None) -> BelowBar:
    """Who is below ``bar`` (over all their work: some rule of ``flags`` flags them) and how many of the
    failure notes came from them. ``found``: profiles over all the work, already made."""
    names = sorted(flagged(store, bar) if found is None else (p.reviewer for p in found if flags(p, bar)))
    notes = store.notes()
    return BelowBar(names, sum(1 for n in notes if n.reviewer in names), len(notes))
