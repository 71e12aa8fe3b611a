"""Simulated judges with planted style biases, to check that the audit finds what is there.

Real response pairs go in; each run decorates responses at random (a markdown header,
a bulleted list, bold spans, emojis: each independently, so the features are not
collinear) and a simulated judge picks A with probability
``expit(sum_k strength_k * z_k + gold_strength * gold)``, where ``z_k`` is the feature's
normalised a-b difference scaled exactly as the audit scales it. A planted strength is
therefore a log-odds per 1 SD, the unit the audit reports, and the audit's interval
should cover it in about 95% of runs.

With ``dressing="joint"`` one response of every pair (A or B at random) is instead dressed
in markdown with a header, list items, bold and emoji together, as a model tuned for a
leaderboard would: the features are collinear and the audit has to estimate them as one
factor. ``PlantedJudge.dressed`` is then the judge's log-odds for the dressed response
(per 1 SD of the +-1 "A is dressed" indicator, so exactly that log-odds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from oversight.audit.style import fit_style, style_design
from oversight.schemas import FEATURES, PairwiseJudgment

__all__ = ["DRESS", "Pair", "PlantedJudge", "RunOutcome", "decorate", "dress_one", "simulate", "simulate_run"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_EMOJIS = ("✅", "🚀", "💡", "👍", "🎉", "🔥")
DECORATIONS = ("headers", "lists", "bold", "emoji", "code")
DRESS = frozenset({"headers", "lists", "bold", "emoji"})  # what joint dressing adds, all at once


@dataclass(frozen=True)
class Pair:
    """A real pair of responses to one prompt, with gold when known."""

    id: str
    prompt: str
    a: str
    b: str
    gold: str | None = None


@dataclass(frozen=True)
class PlantedJudge:
    """A judge with known log-odds per 1 SD for some features (and for gold)."""

    name: str
    strengths: Mapping[str, float] = field(default_factory=dict)
    gold_strength: float = 0.0
    dressed: float = 0.0  # log-odds for the jointly dressed response (dressing="joint" only)


@dataclass
class RunOutcome:
    """One simulated audit: per fitted term (each feature, and each combined factor) its estimate and flag."""

    judge: str
    n: int
    coef: dict[str, float | None]
    ci: dict[str, tuple[float, float] | None]
    flagged: dict[str, bool]
    rows: list[PairwiseJudgment] = field(default_factory=list)
    factors: dict[str, list[str]] = field(default_factory=dict)  # combined factor -> its members

    def term(self, feature: str) -> str:
        """The term that carries a feature's estimate: its combined factor, or the feature itself."""
        return next((name for name, members in self.factors.items() if feature in _bare(members)), feature)

    def planted_terms(self, judge: PlantedJudge) -> set[str]:
        terms = {self.term(f) for f, strength in judge.strengths.items() if strength}
        return terms | ({self.term("headers")} if judge.dressed else set())


def _bare(members: Sequence[str]) -> list[str]:
    return [m.lstrip("-") for m in members]


def decorate(text: str, which: frozenset[str], seed: int) -> str:
    """Add the chosen decorations to a response, deterministically for a seed."""
    rng = np.random.default_rng(seed)
    sentences = [s for s in _SENTENCE.split(text.strip()) if s] or [text]
    if "bold" in which:
        picks = set(rng.choice(len(sentences), size=min(2, len(sentences)), replace=False).tolist())
        sentences = [_bold_start(s) if i in picks else s for i, s in enumerate(sentences)]
    fenced = sentences.pop() if "code" in which and len(sentences) > 1 else None  # moved, not added: same length
    body = "\n".join(f"- {s}" for s in sentences) if "lists" in which else " ".join(sentences)
    if fenced is not None:
        body = f"{body}\n\n```\n{fenced}\n```"
    if "emoji" in which:
        body = f"{_EMOJIS[int(rng.integers(len(_EMOJIS)))]} {body} {_EMOJIS[int(rng.integers(len(_EMOJIS)))]}"
    if "headers" in which:
        body = f"## Answer\n\n{body}"
    return body


def dress_one(pair: Pair, rng: np.random.Generator, *, dressed_a: bool | None = None) -> tuple[str, str, bool]:
    """(a, b, dressed_a): one response of the pair, A or B at random unless told, dressed in every
    decoration of ``DRESS`` at once (how markdown-heavy answers look: the features move together)."""
    if dressed_a is None:
        dressed_a = bool(rng.random() < 0.5)
    dressed = decorate(pair.a if dressed_a else pair.b, DRESS, seed=int(rng.integers(1 << 30)))
    return ((dressed, pair.b) if dressed_a else (pair.a, dressed)) + (dressed_a,)


def _bold_start(sentence: str) -> str:
    words = sentence.split()
    k = min(3, len(words))
    return " ".join([f"**{' '.join(words[:k])}**", *words[k:]])


def _decorated(pair: Pair, rng: np.random.Generator, rate: float) -> tuple[str, str]:
    out = []
    for text in (pair.a, pair.b):
        which = frozenset(d for d in DECORATIONS if rng.random() < rate)
        out.append(decorate(text, which, seed=int(rng.integers(1 << 30))) if which else text)
    return out[0], out[1]


def simulate_run(
    pairs: Sequence[Pair],
    judge: PlantedJudge,
    rng: np.random.Generator,
    *,
    n: int,
    decoration_rate: float = 0.3,
    with_gold: bool = False,
    dressing: Literal["independent", "joint"] = "independent",
) -> RunOutcome:
    """Sample n pairs, decorate (independently, or one side jointly dressed), let the judge choose, fit the audit."""
    idx = rng.choice(len(pairs), size=n, replace=len(pairs) < n)
    rows, sides = [], []
    for k, i in enumerate(idx.tolist()):
        pair = pairs[i]
        if rng.random() < 0.5:  # random A/B order, as a careful data collector would
            pair = Pair(pair.id, pair.prompt, pair.b, pair.a, {"a": "b", "b": "a"}.get(pair.gold or ""))
        if dressing == "joint":
            a, b, dressed_a = dress_one(pair, rng)
            side = 1.0 if dressed_a else -1.0
        else:
            side, (a, b) = 0.0, _decorated(pair, rng, decoration_rate)
        sides.append(side)
        rows.append(
            PairwiseJudgment(
                id=f"{pair.id}#{k}",
                prompt=pair.prompt,
                response_a=a,
                response_b=b,
                annotator=judge.name,
                choice="a",
                gold=pair.gold,
            )
        )
    diff = style_design(rows).diff
    logit = np.zeros(len(rows))
    for name, strength in judge.strengths.items():
        k = FEATURES.index(name)
        rms = math.sqrt(float(np.mean(diff[:, k] ** 2))) or 1.0
        logit += strength * diff[:, k] / rms
    if judge.dressed:
        logit += judge.dressed * np.array(sides)  # +1 when A is the dressed one: RMS 1, so per 1 SD
    if judge.gold_strength:
        logit += judge.gold_strength * np.array(
            [1.0 if r.gold == "a" else -1.0 if r.gold == "b" else 0.0 for r in rows]
        )
    chose_a = rng.random(len(rows)) < 1.0 / (1.0 + np.exp(-logit))
    for row, a in zip(rows, chose_a.tolist(), strict=True):
        row.choice = "a" if a else "b"
    model = fit_style(rows, with_gold=with_gold)
    terms = {**model.features, **model.factors}
    return RunOutcome(
        judge=judge.name,
        n=model.n,
        coef={f: e.coef for f, e in terms.items()},
        ci={f: e.ci for f, e in terms.items()},
        flagged={f: e.flagged for f, e in terms.items()},
        rows=rows,
        factors={name: e.members for name, e in model.factors.items()},
    )


def simulate(
    pairs: Sequence[Pair],
    judges: Sequence[PlantedJudge],
    *,
    runs: int,
    n: int,
    seed: int = 0,
    with_gold: bool = False,
    dressing: Literal["independent", "joint"] = "independent",
) -> dict[str, dict[str, dict[str, float]]]:
    """Per judge and feature: flag rate, right-sign flag rate and interval coverage of the planted value.

    Under the key ``"any"``, ``flag_rate`` is the share of runs that flagged at least one
    term (feature or combined factor) the judge has no bias for (the family-wise false-positive
    rate). With joint dressing, ``"dressed"`` gives the same rates for the term that carries the
    dressing (the combined markdown factor when the audit forms one).
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, dict[str, float]]] = {}
    keys = [*FEATURES, "dressed"] if dressing == "joint" else list(FEATURES)
    for judge in judges:
        counts = {f: {"flagged": 0, "right_sign": 0, "covered": 0, "fitted": 0} for f in keys}
        false_any = 0
        for _ in range(runs):
            outcome = simulate_run(pairs, judge, rng, n=n, with_gold=with_gold, dressing=dressing)
            planted = outcome.planted_terms(judge)
            false_any += int(any(flag for term, flag in outcome.flagged.items() if term not in planted))
            for f in keys:
                term = outcome.term("headers") if f == "dressed" else f
                truth = judge.dressed if f == "dressed" else judge.strengths.get(f, 0.0)
                ci, coef = outcome.ci[term], outcome.coef[term]
                if ci is None or coef is None:
                    continue
                counts[f]["fitted"] += 1
                counts[f]["flagged"] += int(outcome.flagged[term])
                counts[f]["right_sign"] += int(outcome.flagged[term] and np.sign(coef) == np.sign(truth))
                counts[f]["covered"] += int(ci[0] <= truth <= ci[1])
        out[judge.name] = {
            f: {
                "flag_rate": c["flagged"] / runs,
                "right_sign_rate": c["right_sign"] / runs,
                "coverage": c["covered"] / c["fitted"] if c["fitted"] else float("nan"),
                "fitted": float(c["fitted"]),
            }
            for f, c in counts.items()
        }
        out[judge.name]["any"] = {"flag_rate": false_any / runs}
    return out
