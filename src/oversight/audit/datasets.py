"""Readers for the public judgment sets the audit is measured on (LLMBar, FineGrainedRLHF, PandaLM).

Each returns canonical pairwise judgments, so the audit sees them exactly as it sees a
user's file. Paths point at the files as published (see /work/shared/data/README.md).
"""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path
from typing import Literal

from oversight.schemas import Choice, PairwiseJudgment

__all__ = ["load_finegrained_preferences", "load_llmbar", "load_pandalm"]

_LABEL: dict[int, Choice] = {1: "a", 2: "b", 0: "tie"}
_GOLD: dict[int, Literal["a", "b"]] = {1: "a", 2: "b"}
_ORDERS: tuple[tuple[Literal["a", "b"], str], ...] = (("a", "swap = False"), ("b", "swap = True"))


def load_llmbar(
    folder: str | Path, *, judge: str = "GPT-4", subset: str = "", file: str | None = None
) -> list[PairwiseJudgment]:
    """An LLMBar subset with its judge's verdicts in both orders against the gold ``label``.

    ``results`` holds one verdict with the outputs as given (A shown first) and one with
    them swapped (B shown first); each ``winner`` is already in the original order.
    ``file`` reads a result file directly inside ``folder`` instead of the published layout.
    """
    folder = Path(folder)
    path = folder / file if file else folder / "evaluators" / judge / "Swap" / "result.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, row in enumerate(rows):
        results = ast.literal_eval(row["results"]) if isinstance(row["results"], str) else row["results"]
        for shown_first, key in _ORDERS:
            winner = str(results[0][key]["winner"])
            out.append(
                PairwiseJudgment(
                    id=f"{subset or folder.name}-{i}",
                    prompt=row["input"],
                    response_a=row["output_1"],
                    response_b=row["output_2"],
                    annotator=judge,
                    choice=_LABEL.get(int(winner), "tie"),
                    gold=_GOLD[int(row["label"])],
                    shown_first=shown_first,
                    kind=subset or folder.name,
                )
            )
    return out


def load_finegrained_preferences(path: str | Path, *, annotator: str = "human") -> list[PairwiseJudgment]:
    """FineGrainedRLHF QA feedback: six pairwise preferences among four answers per question."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for q, row in enumerate(rows):
        for k, (i, j) in enumerate(itertools.combinations(range(1, 5), 2)):
            out.append(
                PairwiseJudgment(
                    id=f"q{q}-{i}v{j}",
                    prompt=row["question"],
                    response_a=row[f"prediction {i}"],
                    response_b=row[f"prediction {j}"],
                    annotator=annotator,
                    choice=_LABEL[int(row["preference"][k])],
                )
            )
    return out


def load_pandalm(path: str | Path) -> list[PairwiseJudgment]:
    """PandaLM's human test set: each pair judged by three annotators (0 tie, 1, 2)."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for row in rows:
        prompt = row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")
        a, b = row["cmp_key"].split("_", 1) if "_" in row["cmp_key"] else (None, None)
        for n in (1, 2, 3):
            out.append(
                PairwiseJudgment(
                    id=str(row["idx"]),
                    prompt=prompt,
                    response_a=_text(row["response1"]),
                    response_b=_text(row["response2"]),
                    annotator=f"annotator{n}",
                    choice=_LABEL[int(row[f"annotator{n}"])],
                    model_a=a,
                    model_b=b,
                    kind=row.get("motivation_app"),
                )
            )
    return out


def _text(value: object) -> str:
    """A response as text: a few PandaLM responses are JSON booleans (``true``)."""
    return value if isinstance(value, str) else json.dumps(value)
