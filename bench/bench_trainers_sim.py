"""Simulated trainers for bench_trainers.py: five kinds of judgment, each a small class.

A trainer looks at what the review page shows (``Seen``: the prompt, the draft, the critique's
findings) and returns an answer dict as the review service takes it (``decision``,
``refined_text``, ``finding_verdicts``, ``seconds_spent``, ``tags``, ``rationale``). What a
person would *notice* is modelled with the truth the bench knows (``Truth``: the planted error,
the decoy's index), as experiments/reviewers.py does: the simulation draws whether the trainer
notices; what they do about it is an ordinary edit of the text. A caught planted error is
removed from the refined text (the number or fact put back, the sentence taken out, the answer
cut to the word limit), so the gold scoring decides whether it was caught, never a flag.

Every draw comes from the ``random.Random`` the caller passes (one stream per trainer, seed and
item), so a run replays exactly.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from oversight.intervene.checks import word_count
from oversight.refine.plant import points_at
from oversight.schemas import Finding, PlantedError

__all__ = ["PROFILES", "Careful", "Deferent", "LengthBiased", "NoisyExpert", "RubberStamper", "Seen", "Trainer",
           "Truth", "fix", "make_trainer"]

_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)\s*")
_TAG = {"wrong_number": "wrong-number", "unsupported_sentence": "unsupported-claim",
        "ignored_instruction": "ignores-instruction", "swapped_fact": "wrong-fact"}


@dataclass(frozen=True)
class Seen:
    """What the page shows a trainer of one item."""

    prompt: str
    text: str
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Truth:
    """What the simulation knows of an item: its planted error and its decoy finding (None on a clean draft)."""

    error: PlantedError | None = None
    decoy: int | None = None


def fix(error: PlantedError, text: str) -> str:
    """``text`` with the planted error removed: what a trainer who caught it leaves."""
    if error.kind == "ignored_instruction":  # cut to the limit, words counted as the check counts them
        kept: list[str] = []
        count = 0
        for token in text.split():
            count += word_count(token)
            if count > max(1, error.limit or 1):
                break
            kept.append(token)
        return " ".join(kept)
    end = error.start + len(error.planted)
    return (text[:error.start] + error.original + text[end:]).strip()


def _without(text: str, quote: str) -> str:
    """``text`` with one quoted span deleted (a finding followed); as it was when the quote is not in it."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return text
    return re.sub(r"\s{2,}", " ", text[:at] + text[at + len(quote):]).strip()


def _tinker(text: str, rng: random.Random, keep: tuple[int, int] | None) -> str:
    """A change a draft did not need (a false alarm): one sentence dropped (never the one in ``keep``),
    or, for a one-sentence draft, a hedge added."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]
    choices = [s for s in spans[1:] if keep is None or s[1] <= keep[0] or s[0] >= keep[1]]
    if not choices:
        return text.rstrip().rstrip(".") + ", according to the sources."
    start, end = rng.choice(choices)
    return (text[:start] + text[end:]).strip()


@dataclass
class Trainer:
    """A simulated trainer; subclasses say what they notice (``notices``) and how they judge findings.

    ``p_catch``: chance of noticing a planted error the critique does not point at; ``p_assisted``:
    when a finding points at it. ``decoy_right`` / ``decoy_unjudged``: chances of marking the decoy
    right / giving it no verdict (else wrong). ``p_false_alarm``: chance of changing something that
    needed no change. Time: ``base`` seconds plus ``per_word`` a draft word, times 0.75..1.25, half
    as long again for an edit.
    """

    name: ClassVar[str] = "trainer"
    p_catch: float = 0.80
    p_assisted: float = 0.92
    decoy_right: float = 0.05
    decoy_unjudged: float = 0.10
    p_false_alarm: float = 0.05
    base: float = 30.0
    per_word: float = 0.6
    long_words: int = 75
    extra: dict[str, Any] = field(default_factory=dict)

    def seconds(self, words: int, rng: random.Random, *, edited: bool) -> float:
        """Time on an item of ``words`` words (production items too: they matter by count and time)."""
        spent = (self.base + self.per_word * words) * rng.uniform(0.75, 1.25)
        return round(spent * (1.5 if edited else 1.0), 1)

    def notices(self, seen: Seen, truth: Truth, rng: random.Random) -> bool:
        """Whether the trainer notices the planted error (there is one)."""
        assert truth.error is not None
        pointed = any(points_at(truth.error, seen.text, f) for f in seen.findings)
        return rng.random() < (self.p_assisted if pointed else self.p_catch)

    def judges_decoy(self, rng: random.Random) -> str | None:
        """'right', 'wrong' or None (no verdict) on the decoy finding."""
        draw = rng.random()
        if draw < self.decoy_right:
            return "right"
        return None if draw < self.decoy_right + self.decoy_unjudged else "wrong"

    def looks(self, seen: Seen, rng: random.Random) -> bool:
        """Whether the trainer reads the item at all (a rubber-stamper often does not)."""
        return True

    def answer(self, seen: Seen, truth: Truth, rng: random.Random) -> dict[str, Any]:
        """The answer dict the review service takes for this item."""
        words = word_count(seen.text)
        if not self.looks(seen, rng):
            return {"decision": "accept", "seconds_spent": round(self.seconds(words, rng, edited=False) / 3, 1)}
        error = truth.error
        caught = error is not None and self.notices(seen, truth, rng)
        verdicts: list[dict[str, Any]] = []
        for i, finding in enumerate(seen.findings):
            if i == truth.decoy:
                said = self.judges_decoy(rng)
            elif error is not None and points_at(error, seen.text, finding):
                said = "right" if caught else None
            else:
                said = "right" if rng.random() < 0.5 else None  # the labelled problems: real, not always judged
            if said is not None:
                verdicts.append({"finding": i, "verdict": said})
        text = fix(error, seen.text) if caught and error is not None else seen.text
        if rng.random() < self.p_false_alarm:
            keep = None if error is None or error.kind == "ignored_instruction" else (
                error.start, error.start + len(error.planted))
            text = _tinker(text, rng, None if caught else keep)
        return self._as_answer(seen, text, verdicts, error if caught else None, rng, words)

    def _as_answer(self, seen: Seen, text: str, verdicts: list[dict[str, Any]], fixed: PlantedError | None,
                   rng: random.Random, words: int) -> dict[str, Any]:
        if not text.strip():  # every word was followed out of it: nothing left to keep
            return {"decision": "reject", "finding_verdicts": verdicts, "rationale": "Nothing in it holds up.",
                    "seconds_spent": self.seconds(words, rng, edited=True)}
        if text.strip() == seen.text.strip():
            return {"decision": "accept", "finding_verdicts": verdicts,
                    "seconds_spent": self.seconds(words, rng, edited=False)}
        return {"decision": "edit", "refined_text": text, "finding_verdicts": verdicts,
                "tags": [_TAG[fixed.kind]] if fixed is not None else ["other"],
                "rationale": "Fixed what was wrong." if fixed is not None else "Tightened the answer.",
                "seconds_spent": self.seconds(words, rng, edited=True)}


@dataclass
class Careful(Trainer):
    """Catches about 85% of planted errors (80% alone, 92% when the critique points at them), rarely
    changes a draft that needed nothing, and marks a decoy wrong most of the time."""

    name: ClassVar[str] = "careful"


@dataclass
class RubberStamper(Trainer):
    """Accepts 90% of items whatever they hold, in a third of the time; reads the rest like a careful trainer."""

    name: ClassVar[str] = "rubber_stamper"
    p_stamp: float = 0.90

    def looks(self, seen: Seen, rng: random.Random) -> bool:
        return rng.random() >= self.p_stamp


@dataclass
class LengthBiased(Trainer):
    """Waves long drafts (``long_words`` words or more) through 90% of the time; careful on short ones."""

    name: ClassVar[str] = "length_biased"
    p_wave: float = 0.90

    def looks(self, seen: Seen, rng: random.Random) -> bool:
        return word_count(seen.text) < self.long_words or rng.random() >= self.p_wave


@dataclass
class Deferent(Trainer):
    """Follows the critique: fixes what a finding points at, misses what no finding points at, marks
    every finding right (the decoy too) and deletes what the findings quote (the decoy's words too)."""

    name: ClassVar[str] = "deferent"
    p_assisted: float = 0.95

    def answer(self, seen: Seen, truth: Truth, rng: random.Random) -> dict[str, Any]:
        words = word_count(seen.text)
        error = truth.error
        pointing = [error is not None and points_at(error, seen.text, f) for f in seen.findings]
        caught = any(pointing) and rng.random() < self.p_assisted
        text = fix(error, seen.text) if caught and error is not None else seen.text
        for finding, at_error in zip(seen.findings, pointing, strict=True):
            if not at_error:
                text = _without(text, finding.quote)
        verdicts = [{"finding": i, "verdict": "right"} for i in range(len(seen.findings))]
        return self._as_answer(seen, text, verdicts, error if caught else None, rng, words)


@dataclass
class NoisyExpert(Trainer):
    """Catches about 75% (70% alone, 85% pointed at), changes drafts that needed nothing a quarter of the
    time, marks a decoy right 15% of the time; slower."""

    name: ClassVar[str] = "noisy_expert"
    p_catch: float = 0.70
    p_assisted: float = 0.85
    decoy_right: float = 0.15
    decoy_unjudged: float = 0.15
    p_false_alarm: float = 0.25
    base: float = 40.0


PROFILES: dict[str, type[Trainer]] = {t.name: t for t in (Careful, RubberStamper, LengthBiased, Deferent, NoisyExpert)}


def make_trainer(name: str, *, long_words: int) -> Trainer:
    """A trainer of profile ``name``; ``long_words`` is where the length-biased one starts waving drafts through."""
    return PROFILES[name](long_words=long_words)
