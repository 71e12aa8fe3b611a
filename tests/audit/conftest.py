"""Fixtures for the audit tests: slices of real judgment sets (see tests/fixtures/audit/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.audit.datasets import load_finegrained_preferences, load_llmbar, load_pandalm
from oversight.audit.simulate import Pair
from oversight.schemas import PairwiseJudgment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def neighbor() -> list[PairwiseJudgment]:
    """60 LLMBar Adversarial/Neighbor pairs, GPT-4 verdicts in both orders, gold labels."""
    return load_llmbar(FIXTURES / "llmbar", file="neighbor_gpt4_swap.json", subset="Neighbor")


@pytest.fixture(scope="session")
def pandalm() -> list[PairwiseJudgment]:
    """150 PandaLM test pairs, three human annotators each."""
    return load_pandalm(FIXTURES / "pandalm" / "testset-v1.slice.json")


@pytest.fixture(scope="session")
def finegrained() -> list[PairwiseJudgment]:
    """80 FineGrainedRLHF questions: six pairwise human preferences among four answers each."""
    return load_finegrained_preferences(FIXTURES / "finegrainedrlhf" / "dev_feedback.slice.json")


@pytest.fixture(scope="session")
def real_pairs(finegrained: list[PairwiseJudgment], pandalm: list[PairwiseJudgment]) -> list[Pair]:
    """Real response pairs (no judgments) for simulated judges."""
    seen: dict[str, Pair] = {}
    for j in [*finegrained, *pandalm]:
        seen.setdefault(j.id, Pair(j.id, j.prompt, j.response_a, j.response_b))
    return list(seen.values())
