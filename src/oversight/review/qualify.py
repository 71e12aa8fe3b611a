"""Qualification before production, pausing, tiers, and the trust the stages downstream put in trainers' work.

- **Assessments** are declared in YAML (``declare``): which gold items (by id, or so many drawn per
  domain for each trainer) and a pass rule on the 95% intervals. A trainer meets the items of every
  assessment they have not finished before any production item (``pending``: the gold serving hook
  asks it at each claim); when they have answered them all the result is decided (``result``) and
  kept (``record``), and a pass qualifies them in the assessment's domain ('*': every domain).
- **Pausing**: a lead pauses a trainer (``pause``) and resumes them (``resume``); a paused trainer's
  claim is refused with TrainerPausedError (``admit``, the first line of ``review.service.claim``).
- **Tiers**: items the audit's routing rule sends to "expert" go only to trainers qualified in their
  domain: ``admit`` gives the claim the rule and the trainer's domains, and the store filters the
  queue by them in the claim's own statement.
- **Trust**: ``trusted_reviewers`` is the one decision of whose work the stages downstream (mining,
  interventions, judge calibration, audits, exports) read with ``--trust qualified``: not paused,
  not below the bar, and qualified in every assessed domain they worked in.

"Below the bar" is the profiles' one decision (``profiles.flags``: the catch rate, the unassisted
catch rate, deference and false alarms, each on its Wilson interval, never on a point estimate), so
trust downstream, the lead pages and ``oversight trainers report`` never disagree. Every decision here
is read from the store at the moment it is needed, so two servers on one database agree on it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError

from oversight.declared import invalid, line_of, read_declared
from oversight.errors import InputFileError, NotFoundError, NotQualifiedError, OversightError, TrainerPausedError
from oversight.review.profiles import DEFAULT_BAR, Flag, flagged
from oversight.schemas import (
    Assessment,
    AssessmentResult,
    GoldAnswer,
    GoldItem,
    GroupRoute,
    RoutingRule,
    TrainerStanding,
)
from oversight.store import Store

__all__ = [
    "BAR",
    "CatchRate",
    "Tiers",
    "Trust",
    "admit",
    "below_bar",
    "catch_rate",
    "check_tier",
    "declare",
    "items_of",
    "load_assessment",
    "pause",
    "pending",
    "record",
    "refuse_paused",
    "result",
    "resume",
    "settle",
    "standings",
    "trusted_reviewers",
]

# The catch rate trainers are held to, and the fewest planted items that decide anything: the same rule
# as the profiles' suggested pause (review/profiles.py), so trust and the lead pages never disagree.
BAR = DEFAULT_BAR
LEVEL = 0.95
Trust = Literal["qualified", "all"]


class CatchRate(NamedTuple):
    """Planted errors a trainer caught, of those they answered, with the 95% Wilson interval."""

    caught: int
    planted: int
    low: float
    high: float

    @property
    def rate(self) -> float | None:
        return self.caught / self.planted if self.planted else None


def catch_rate(answers: Iterable[GoldAnswer]) -> CatchRate:
    """The catch rate of these gold answers: planted items answered (not skipped), and how many caught.

    With none the interval is [0, 1]: nothing is known, so nobody is below any bar.
    """
    scored = [a.caught for a in answers if a.kind == "planted" and a.caught is not None]
    caught, planted = sum(scored), len(scored)
    if not planted:
        return CatchRate(0, 0, 0.0, 1.0)
    from statsmodels.stats.proportion import proportion_confint  # heavy: loaded on first use

    low, high = proportion_confint(caught, planted, alpha=1 - LEVEL, method="wilson")
    return CatchRate(caught, planted, max(0.0, float(low)), min(1.0, float(high)))


# -- declaring an assessment --------------------------------------------------------------------------


def load_assessment(path: str | Path) -> Assessment:
    """The assessment a YAML file declares (nothing is stored). Raises InputFileError naming the line and field."""
    return _load(path)[0]


def _load(path: str | Path) -> tuple[Assessment, Any]:
    """The assessment and its YAML document (for the lines of its fields)."""
    declared = read_declared(path, shape="an assessment is a mapping (name:, domain:, items: or per_domain:, "
                                         "pass_rule:)")
    try:
        assessment = Assessment.model_validate(declared.data)
    except ValidationError as exc:
        raise invalid(path, declared.node, exc) from exc

    def refuse(loc: tuple[str | int, ...], message: str) -> InputFileError:
        return InputFileError(str(path), line_of(declared.node, loc), ".".join(map(str, loc)), message)

    if bool(assessment.items) == bool(assessment.per_domain):
        raise refuse(("items",), "give either items (gold item ids) or per_domain (how many items of each "
                                 "domain), one of the two")
    if len(set(assessment.items)) < len(assessment.items):
        index = next(i for i, g in enumerate(assessment.items) if g in assessment.items[:i])
        raise refuse(("items", index), f"gold item {assessment.items[index]!r} is listed twice")
    for domain, count in assessment.per_domain.items():
        if count < 1:
            raise refuse(("per_domain", domain), "a whole number of items, 1 or more")
        if assessment.domain not in ("*", domain):
            raise refuse(("per_domain", domain), f"the assessment qualifies in domain {assessment.domain!r}: "
                                                 f"its items come from that domain, not {domain!r}")
    size = len(assessment.items) or sum(assessment.per_domain.values())
    if size < assessment.pass_rule.min_items:
        raise refuse(("pass_rule", "min_items"), f"the pass rule asks for {assessment.pass_rule.min_items} items "
                                                 f"but the assessment has {size}: nobody could pass it")
    return assessment, declared.node


def declare(store: Store, path: str | Path) -> Assessment:
    """Read an assessment file, check it against the gold items kept, and keep it (replacing one of its name).

    Every listed gold item must exist, be in use and be of the assessment's domain; each domain
    drawn from must have as many items in use as asked. Raises InputFileError naming the line and
    field; then nothing is stored.
    """
    assessment, node = _load(path)
    gold = {g.id: g for g in store.gold_items(retired=True)}
    for index, gold_id in enumerate(assessment.items):
        found = gold.get(gold_id)
        problem = (f"no gold item {gold_id!r}" if found is None else f"gold item {gold_id!r} is retired"
                   if found.retired else None)
        if found is not None and not found.retired and assessment.domain not in ("*", found.domain):
            problem = f"gold item {gold_id!r} is of domain {found.domain!r}, not {assessment.domain!r}"
        if problem:
            raise InputFileError(str(path), line_of(node, ("items", index)), f"items.{index}", problem)
    for domain, count in assessment.per_domain.items():
        have = sum(1 for g in gold.values() if not g.retired and domain in ("*", g.domain))
        if have < count:
            raise InputFileError(str(path), line_of(node, ("per_domain", domain)), f"per_domain.{domain}",
                                 f"{count} items asked, but {have} gold item(s) of domain {domain!r} are in use")
    return store.save_assessment(assessment)


# -- taking it ----------------------------------------------------------------------------------------


def _servable(item: GoldItem, reviewer: str) -> bool:
    """A gold item is never served to the lead who made it, nor to its expert."""
    return item.made_by != reviewer and item.expert != reviewer


def items_of(assessment: Assessment, reviewer: str, gold: Iterable[GoldItem],
             answered: Collection[str] = ()) -> list[str]:
    """The gold items (ids) this trainer answers in this assessment, in the order they meet them.

    Listed items in their order; else, per domain, a draw seeded by (assessment, trainer, domain)
    among the items in use, so it is the same at every claim, on every server. Never an item the
    trainer made or is the expert of; an item retired after they answered it still counts.
    """
    by_id = {g.id: g for g in gold}

    def usable(item: GoldItem) -> bool:
        return _servable(item, reviewer) and (not item.retired or item.id in answered)

    if assessment.items:
        return [i for i in assessment.items if i in by_id and usable(by_id[i])]
    chosen: list[str] = []
    for domain, count in assessment.per_domain.items():
        pool = sorted(g.id for g in by_id.values() if usable(g) and domain in ("*", g.domain) and g.id not in chosen)
        rng = random.Random(f"{assessment.name}\x00{reviewer}\x00{domain}")
        chosen += rng.sample(pool, min(count, len(pool)))
    return chosen


def pending(store: Store, reviewer: str) -> tuple[Assessment, str] | None:
    """The next assessment item this trainer must answer before production work, or None.

    Assessments in name order; one already decided for them (a result kept) is finished. A pure
    read: the item stays pending until their answer to it is kept.
    """
    assessments = store.assessments()
    if not assessments:
        return None
    decided = {r.assessment for r in store.assessment_results(reviewer=reviewer)}
    gold: list[GoldItem] | None = None
    for assessment in assessments:
        if assessment.name in decided:
            continue
        gold = store.gold_items(retired=True) if gold is None else gold
        answered = {a.gold_id for a in store.gold_answers(reviewer=reviewer, assessment=assessment.name)}
        for gold_id in items_of(assessment, reviewer, gold, answered):
            if gold_id not in answered:
                return assessment, gold_id
    return None


def _named(store: Store, assessment: Assessment | str) -> Assessment:
    if isinstance(assessment, Assessment):
        return assessment
    found = store.assessment(assessment)
    if found is None:
        raise NotFoundError(f"no assessment {assessment!r}: `oversight trainers assess FILE` declares one")
    return found


def result(store: Store, assessment: Assessment | str, reviewer: str) -> AssessmentResult:
    """How the trainer did on the assessment so far, decided by its pass rule (nothing is kept).

    Passed: at least ``min_items`` answered, the catch rate's 95% lower bound at least
    ``catch_rate_lower`` (with no planted item answered only a rule asking 0 is met), and false
    alarms (changes to drafts the expert accepted as they were) at most ``false_alarm_upper`` of those.
    Raises NotFoundError for an unknown assessment.
    """
    assessment = _named(store, assessment)
    answers = store.gold_answers(reviewer=reviewer, assessment=assessment.name)
    rate = catch_rate(answers)
    accepted = [a.false_alarm for a in answers if a.false_alarm is not None]
    rule = assessment.pass_rule
    lower = rate.low if rate.planted else None
    passed = (len(answers) >= rule.min_items
              and (rule.catch_rate_lower <= 0 or (lower is not None and lower >= rule.catch_rate_lower))
              and (not accepted or sum(accepted) / len(accepted) <= rule.false_alarm_upper))
    return AssessmentResult(assessment=assessment.name, reviewer=reviewer, domain=assessment.domain, passed=passed,
                            answered=len(answers), caught=rate.caught, planted=rate.planted,
                            false_alarms=sum(accepted), expert_accepted=len(accepted), catch_rate_lower=lower,
                            decided_at=store.clock())


def record(store: Store, assessment: Assessment | str, reviewer: str) -> AssessmentResult:
    """Decide the trainer's result and keep it (a retake replaces it); a pass qualifies them in the
    assessment's domain (one transaction on their standing, so a lead's pause at the same moment
    is kept). A fail takes no qualification away. Raises NotFoundError."""
    decided = store.save_assessment_result(result(store, assessment, reviewer))
    if decided.passed:
        def qualify(standing: TrainerStanding) -> TrainerStanding:
            return standing.model_copy(update={"qualified": {**standing.qualified, decided.domain: decided.decided_at}})

        store.change_trainer_standing(reviewer, qualify)
    return decided


def settle(store: Store, reviewer: str) -> list[AssessmentResult]:
    """Record every assessment the trainer has answered in full and that has no result yet."""
    assessments = store.assessments()
    if not assessments:
        return []
    decided = {r.assessment for r in store.assessment_results(reviewer=reviewer)}
    gold: list[GoldItem] | None = None
    kept = []
    for assessment in assessments:
        if assessment.name in decided:
            continue
        gold = store.gold_items(retired=True) if gold is None else gold
        answered = {a.gold_id for a in store.gold_answers(reviewer=reviewer, assessment=assessment.name)}
        items = items_of(assessment, reviewer, gold, answered)
        if items and answered.issuperset(items):
            kept.append(record(store, assessment, reviewer))
    return kept


# -- standing: pausing and tiers ----------------------------------------------------------------------


def pause(store: Store, reviewer: str, *, by: str, reason: str) -> TrainerStanding:
    """Pause a trainer: their claims are refused from now on, on every server, until ``resume``.

    Raises NotFoundError for a name the store has never seen (a typo would pause nobody) and
    OversightError for a blank reason or lead.
    """
    reason, by = reason.strip(), by.strip()
    if not reason or not by:
        raise OversightError("a pause needs the lead who decides it and a reason the trainer can be told")
    _known(store, reviewer)
    now = store.clock()
    return store.change_trainer_standing(reviewer, lambda s: s.model_copy(
        update={"paused": True, "paused_by": by, "paused_reason": reason, "paused_at": now}))


def resume(store: Store, reviewer: str) -> TrainerStanding:
    """Let a paused trainer claim items again. Raises NotFoundError for a name the store has never seen."""
    _known(store, reviewer)
    return store.change_trainer_standing(reviewer, lambda s: s.model_copy(
        update={"paused": False, "paused_by": None, "paused_reason": "", "paused_at": None}))


def _known(store: Store, reviewer: str) -> None:
    if reviewer not in store.known_reviewers():
        raise NotFoundError(f"no trainer {reviewer!r}: no account, refinement or gold answer has that name")


def standings(store: Store) -> list[tuple[TrainerStanding, list[AssessmentResult]]]:
    """Every trainer a lead or an assessment decided something of, by name, with their assessment results."""
    results: dict[str, list[AssessmentResult]] = {}
    for decided in store.assessment_results():
        results.setdefault(decided.reviewer, []).append(decided)
    kept = {s.reviewer: s for s in store.trainer_standings()}
    names = sorted(kept.keys() | results.keys())
    return [(kept.get(name) or TrainerStanding(reviewer=name), results.get(name, [])) for name in names]


class Tiers(NamedTuple):
    """What a claim is limited to: items ``routing`` sends to "expert" only in the ``qualified`` domains."""

    routing: RoutingRule | None
    qualified: frozenset[str]


def refuse_paused(store: Store, reviewer: str) -> TrainerStanding:
    """The trainer's standing; raises TrainerPausedError when a lead paused them (no work of any kind
    is served then: queue items, gold, calibration)."""
    standing = store.trainer_standing(reviewer)
    if standing.paused:
        since = f" since {standing.paused_at:%Y-%m-%d %H:%M} UTC" if standing.paused_at else ""
        raise TrainerPausedError(f"{reviewer} is paused by {standing.paused_by or 'a lead'}{since}: "
                                 f"{standing.paused_reason or 'no reason given'}. No item was given; ask a lead "
                                 "to resume you")
    return standing


def admit(store: Store, reviewer: str) -> Tiers:
    """Check a trainer may claim work now, and what they may take (the first step of every claim).

    Raises TrainerPausedError when a lead paused them. An assessment they have just answered in
    full is decided here (``settle``), so its qualification counts from this claim on.
    """
    standing = refuse_paused(store, reviewer)
    if settle(store, reviewer):
        standing = store.trainer_standing(reviewer)
    return Tiers(store.routing_rule(), frozenset(standing.qualified))


def check_tier(store: Store, reviewer: str, route: GroupRoute | None, domain: str | None) -> None:
    """Raise NotQualifiedError when ``route`` sends the item to experts and the trainer is not
    qualified in its ``domain`` (why a claim of that one item gave nothing)."""
    if route is None or route.route != "expert":
        return
    held = store.trainer_standing(reviewer).qualified
    if "*" not in held and (domain is None or domain not in held):
        where = f"domain {domain!r}" if domain else "tasks without a domain"
        raise NotQualifiedError(f"this item goes to experts only, and {reviewer} is not qualified in {where}: "
                                "pass its assessment first, or take the next item from the queue")


# -- trust downstream ---------------------------------------------------------------------------------


def below_bar(store: Store, *, bar: float = BAR) -> dict[str, list[Flag]]:
    """Trainers below ``bar``, each with the rules that flag them: the profiles' suggested pause
    (``profiles.flags``) over all their gold answers, decided by the same function."""
    return flagged(store, bar)


def _unqualified(store: Store, standings: dict[str, TrainerStanding]) -> set[str]:
    """Trainers who refined tasks of a domain an assessment qualifies in without being qualified in it."""
    assessed = {a.domain for a in store.assessments()}
    if not assessed:
        return set()
    out = set()
    for reviewer, domains in store.reviewer_domains().items():
        held = set(standings[reviewer].qualified) if reviewer in standings else set()
        if "*" in held:
            continue
        if any(d not in held for d in domains if "*" in assessed or d in assessed):
            out.add(reviewer)
    return out


def trusted_reviewers(store: Store, *, trust: Trust = "qualified", bar: float = BAR,
                      among: Iterable[str] | None = None) -> set[str] | None:
    """Whose work the stages downstream read: None to trust everyone's (``trust="all"``, or nobody
    is untrusted), else the trusted names among ``among`` (default: every reviewer the store knows).

    Trusted: not paused, not below the bar (no rule of ``profiles.flags`` flags them against ``bar``),
    and, where an assessment qualifies in a domain they refined tasks of, qualified in it.
    """
    if trust == "all":
        return None
    if trust != "qualified":
        raise ValueError(f"trust is 'qualified' or 'all', got {trust!r}")
    standings = {s.reviewer: s for s in store.trainer_standings()}
    untrusted = {name for name, s in standings.items() if s.paused} | set(below_bar(store, bar=bar))
    untrusted |= _unqualified(store, standings)
    if not untrusted:
        return None
    people = set(among) if among is not None else store.known_reviewers()
    return people - untrusted

