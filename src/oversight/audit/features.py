"""Style features of a response: length and markdown decoration, counted plainly.

Then, over a set of judged pairs: the a-b differences (``style_design``) and the terms the
style model fits (``style_terms``), where features that move together across the pairs are
one combined factor instead of collinear columns the fit cannot tell apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from oversight.schemas import FEATURES

if TYPE_CHECKING:
    import numpy as np

    from oversight.schemas import PairwiseJudgment

__all__ = [
    "COLLINEAR_R",
    "COLLINEAR_VIF",
    "FeatureGroup",
    "StyleDesign",
    "StyleTerm",
    "collinear_groups",
    "normalised_difference",
    "style_design",
    "style_features",
    "style_terms",
]

# Two features whose differences correlate at |r| >= 0.9 cannot be told apart by the data: the
# variance of each coefficient is inflated 1 / (1 - r^2) >= 5.3 times (the interval 2.3 times
# wider) and the two estimates trade off against each other. A term with a variance inflation
# factor of 10 or more (the conventional bar) is collinear with a combination of the others.
COLLINEAR_R = 0.9
COLLINEAR_VIF = 10.0
_MARKDOWN = frozenset({"headers", "lists", "bold", "emoji", "code"})

_WORD = re.compile(r"\w")  # a word has a letter or digit: list bullets and emojis do not count
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S", re.MULTILINE)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
# Pictographs, symbols, dingbats and flags; not plain punctuation or CJK.
_EMOJI = re.compile(
    "[\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff\U0001f900-\U0001f9ff"
    "\U0001fa70-\U0001faff\U0001f1e6-\U0001f1ff\u2600-\u26ff\u2700-\u27bf\u2b50\u2b55\u2705\u274c]"
)


def style_features(text: str) -> dict[str, float]:
    """Count words (tokens with a letter or digit), headers, list items, bold spans, emojis, fenced code blocks."""
    return {
        "length": float(sum(1 for word in text.split() if _WORD.search(word))),
        "headers": float(len(_HEADER.findall(text))),
        "lists": float(len(_LIST.findall(text))),
        "bold": float(len(_BOLD.findall(text))),
        "emoji": float(len(_EMOJI.findall(text))),
        "code": float(len(_FENCE.findall(text)) // 2),
    }


def normalised_difference(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """(a - b) / (a + b) per feature, 0 when both are 0, as in Chatbot Arena's style control.

    Bounded in [-1, 1] so one very long answer cannot dominate the fit.
    """
    out: dict[str, float] = {}
    for name in FEATURES:
        total = a[name] + b[name]
        out[name] = 0.0 if total == 0 else (a[name] - b[name]) / total
    return out


class FeatureGroup(NamedTuple):
    """Features fitted as one term: a single feature, or a combined factor of several."""

    members: tuple[str, ...]  # feature names, in FEATURES order
    signs: tuple[int, ...]  # -1 for a member that moves against the first one

    @property
    def name(self) -> str:
        """The feature itself, or e.g. ``"markdown: headers+lists+bold+emoji"`` for a combined factor."""
        if len(self.members) == 1:
            return self.members[0]
        prefix = "markdown: " if _MARKDOWN.issuperset(self.members) else "style: "
        parts = [m if i == 0 else ("+" if s > 0 else "-") + m for i, (m, s) in enumerate(self.labelled())]
        return prefix + "".join(parts)

    def labelled(self) -> list[tuple[str, int]]:
        return list(zip(self.members, self.signs, strict=True))

    @property
    def member_labels(self) -> list[str]:
        """Members as listed on a factor: ``"-bold"`` for a reversed one."""
        return [m if s > 0 else f"-{m}" for m, s in self.labelled()]


def collinear_groups(
    columns: np.ndarray, names: Sequence[str], *, max_r: float = COLLINEAR_R, max_vif: float = COLLINEAR_VIF
) -> list[FeatureGroup]:
    """Group features whose columns (one per name, each scaled to RMS 1) are (nearly) collinear.

    Greedy agglomeration on the current terms (a group's term is the sign-aligned mean of its
    columns): merge the most correlated pair while |r| >= ``max_r``; then, while some term's
    variance inflation factor is >= ``max_vif``, merge it with its most correlated partner.
    Correlations are centred because the model has an intercept.
    """
    import numpy as np

    order = {name: i for i, name in enumerate(FEATURES)}
    groups: list[dict[str, int]] = [{name: 1} for name in names]
    index = {name: k for k, name in enumerate(names)}

    def term(group: dict[str, int]) -> np.ndarray:
        return np.sum([sign * columns[:, index[m]] for m, sign in group.items()], axis=0)

    while len(groups) > 1:
        terms = np.column_stack([term(g) for g in groups])
        spread = terms.std(axis=0)
        if np.any(spread == 0):  # a constant term is aliased with the intercept; the caller screens these
            break
        corr = np.corrcoef(terms, rowvar=False)
        off = np.abs(corr - np.eye(len(groups)))
        a, b = np.unravel_index(int(np.argmax(off)), off.shape)
        if off[a, b] < max_r:
            try:
                vif = np.diag(np.linalg.inv(corr))
            except np.linalg.LinAlgError:
                vif = np.full(len(groups), np.inf)
            if np.max(vif) < max_vif:
                break
            a = int(np.argmax(vif))
            b = int(np.argmax(off[a]))
        sign = 1 if corr[a, b] >= 0 else -1
        merged = dict(groups[a])
        for m, s in groups[b].items():
            merged[m] = s * sign
        groups = [g for k, g in enumerate(groups) if k not in (a, b)] + [merged]
    out = []
    for g in groups:
        members = sorted(g, key=order.__getitem__)
        flip = g[members[0]]  # the first member in FEATURES order leads, with sign +1
        out.append(FeatureGroup(tuple(members), tuple(g[m] * flip for m in members)))
    return sorted(out, key=lambda grp: order[grp.members[0]])


@dataclass(frozen=True)
class StyleDesign:
    """Raw and normalised feature differences for a list of pairwise judgments."""

    raw_a: np.ndarray  # (n, features) raw counts of A
    raw_b: np.ndarray
    diff: np.ndarray  # (n, features) normalised differences a-b


def style_design(judgments: Sequence[PairwiseJudgment]) -> StyleDesign:
    """Feature counts and normalised differences, computing each distinct text once."""
    import numpy as np

    cache: dict[str, dict[str, float]] = {}

    def feats(text: str) -> dict[str, float]:
        if text not in cache:
            cache[text] = style_features(text)
        return cache[text]

    rows_a, rows_b, rows_d = [], [], []
    for j in judgments:
        fa, fb = feats(j.response_a), feats(j.response_b)
        nd = normalised_difference(fa, fb)
        rows_a.append([fa[f] for f in FEATURES])
        rows_b.append([fb[f] for f in FEATURES])
        rows_d.append([nd[f] for f in FEATURES])
    shape = (0, len(FEATURES))
    return StyleDesign(
        raw_a=np.array(rows_a, dtype=float).reshape(-1, len(FEATURES)) if rows_a else np.zeros(shape),
        raw_b=np.array(rows_b, dtype=float).reshape(-1, len(FEATURES)) if rows_b else np.zeros(shape),
        diff=np.array(rows_d, dtype=float).reshape(-1, len(FEATURES)) if rows_d else np.zeros(shape),
    )


class StyleTerm(NamedTuple):
    """One fitted style term: a feature or a combined factor, and its column scaled to RMS 1."""

    group: FeatureGroup
    column: np.ndarray  # scaled to RMS 1


def style_terms(
    diff: np.ndarray, raw_diff: np.ndarray, *, min_varying: int
) -> tuple[list[StyleTerm], dict[str, np.ndarray], dict[str, str]]:
    """Fitted style terms (single features and combined factors), each feature's scaled column, and the ones left out.

    A feature that differs on fewer than ``min_varying`` pairs is left out; so is one that is nearly
    always larger on the same side (its variance inflation against the intercept is ``COLLINEAR_VIF``
    or more), because it cannot be told apart from a preference for that slot. Returns (terms,
    scaled columns by feature, reason by feature left out for slot confounding).
    """
    import numpy as np

    scaled: dict[str, np.ndarray] = {}
    confounded: dict[str, str] = {}
    for k, name in enumerate(FEATURES):
        if np.count_nonzero(raw_diff[:, k]) < min_varying:
            continue
        z = diff[:, k] / math.sqrt(float(np.mean(diff[:, k] ** 2)))
        if z.var() * COLLINEAR_VIF < 1:  # nearly always larger on one side: aliased with the intercept
            nonzero = z[z != 0]
            side = "A" if np.mean(nonzero > 0) >= 0.5 else "B"
            share = max(np.mean(nonzero > 0), np.mean(nonzero < 0))
            confounded[name] = (
                f"larger on the {side} side in {share:.0%} of the pairs where it differs: "
                f"cannot be told apart from a preference for slot {side}"
            )
        else:
            scaled[name] = z
    names = list(scaled)
    if not names:
        return [], scaled, confounded
    terms = []
    for group in collinear_groups(np.column_stack([scaled[n] for n in names]), names):
        summed = np.sum([sign * scaled[m] for m, sign in group.labelled()], axis=0)
        terms.append(StyleTerm(group, summed / math.sqrt(float(np.mean(summed**2)))))
    return terms, scaled, confounded
