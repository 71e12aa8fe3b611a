"""Readers for the public sets: each row becomes the canonical judgment the audit expects."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from oversight.audit import PairwiseJudgment
from oversight.audit.datasets import load_pandalm


def test_llmbar_both_orders_in_original_labels(fixtures_dir: Path, neighbor: list[PairwiseJudgment]) -> None:
    raw = json.loads((fixtures_dir / "llmbar" / "neighbor_gpt4_swap.json").read_text(encoding="utf-8"))
    assert len(neighbor) == 2 * len(raw) == 120
    for k in (0, 7, 33):
        results = raw[k]["results"]  # a list here; a Python-literal string in other LLMBar sets
        verdicts = (ast.literal_eval(results) if isinstance(results, str) else results)[0]
        a_first, b_first = neighbor[2 * k], neighbor[2 * k + 1]
        assert (a_first.shown_first, b_first.shown_first) == ("a", "b")
        assert a_first.choice == {"1": "a", "2": "b"}[str(verdicts["swap = False"]["winner"])]
        assert b_first.choice == {"1": "a", "2": "b"}[str(verdicts["swap = True"]["winner"])]
        assert a_first.gold == {1: "a", 2: "b"}[raw[k]["label"]]
        assert a_first.response_a == raw[k]["output_1"]


def test_pandalm_three_annotators_and_models(pandalm: list[PairwiseJudgment]) -> None:
    assert len(pandalm) == 450 and {j.annotator for j in pandalm} == {"annotator1", "annotator2", "annotator3"}
    first = pandalm[0]
    assert (first.model_a, first.model_b, first.kind) == ("bloom-7b", "llama-7b", "Grammarly")


def test_pandalm_json_boolean_responses_become_text(tmp_path: Path) -> None:
    row = {"idx": 7, "instruction": "Is water wet?", "input": "", "cmp_key": "bloom-7b_llama-7b",
           "response1": True, "response2": "It depends.", "annotator1": 1, "annotator2": 2, "annotator3": 0}
    (tmp_path / "pandalm.json").write_text(json.dumps([row]), encoding="utf-8")
    got = load_pandalm(tmp_path / "pandalm.json")
    assert [(j.annotator, j.response_a, j.response_b, j.choice) for j in got] == [
        ("annotator1", "true", "It depends.", "a"),
        ("annotator2", "true", "It depends.", "b"),
        ("annotator3", "true", "It depends.", "tie"),
    ]


def test_finegrained_six_comparisons_per_question(finegrained: list[PairwiseJudgment]) -> None:
    assert len(finegrained) == 80 * 6
    assert [j.id for j in finegrained[:6]] == ["q0-1v2", "q0-1v3", "q0-1v4", "q0-2v3", "q0-2v4", "q0-3v4"]
    assert [j.choice for j in finegrained[:6]] == ["tie", "a", "b", "a", "tie", "b"]  # preference [0,1,2,1,0,2]


def test_llmbar_results_as_a_python_literal_string(tmp_path: Path) -> None:
    verdicts = [{"swap = False": {"winner": "1"}, "swap = True": {"winner": "2"}}]
    row = {"input": "q", "output_1": "x", "output_2": "y", "label": 2, "results": repr(verdicts)}
    (tmp_path / "r.json").write_text(json.dumps([row]), encoding="utf-8")
    from oversight.audit.datasets import load_llmbar

    got = load_llmbar(tmp_path, file="r.json", subset="Natural")
    assert [(j.shown_first, j.choice, j.gold) for j in got] == [("a", "a", "b"), ("b", "b", "b")]
