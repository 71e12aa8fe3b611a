"""Training data out: TRL's conversational formats, loaded back with `datasets.load_dataset`; which
decisions make which rows; what is left out unless asked for; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from oversight.refine.export import ExportFilters
from oversight.refine.training import outcome, prompt_messages, write_training
from oversight.store import ExportSelection, Store
from tests.refine._export_data import START, assistant, mine, seed, user

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder or file: never the Hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

TRAINING = ExportFilters(include_simulated=False)
FRANCE = [user("Context:\nParis is the capital.\n\nCapital of France?")]
SPAIN, GREET, SUM, SUM3 = [user("Capital of Spain?")], [user("Greet me.")], [user("What is 2+2?")], [user("What is 3+3?")]
OK = [user("Say ok.")]

# What each format must hold for the seeded refinements, oldest first (the simulated edit, the
# skip and the calibration answer make none; an edit that changed nothing counts as an accept).
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "sft": [
        {"messages": [*FRANCE, assistant("Paris.")]},
        {"messages": [*SPAIN, assistant("Madrid.")]},
        {"messages": [*GREET, assistant("Good day to you.")]},
        {"messages": [*SUM3, assistant("6")]},
        {"messages": [*OK, assistant("ok")]},
    ],
    "preference": [
        {"prompt": SPAIN, "chosen": [assistant("Madrid.")], "rejected": [assistant("Barcelona.")]},
        {"prompt": GREET, "chosen": [assistant("Good day to you.")], "rejected": [assistant("yo")]},
        {"prompt": SUM3, "chosen": [assistant("6")], "rejected": [assistant("7")]},
    ],
    "kto": [
        {"prompt": FRANCE, "completion": [assistant("Paris.")], "label": True},
        {"prompt": SPAIN, "completion": [assistant("Madrid.")], "label": True},
        {"prompt": SPAIN, "completion": [assistant("Barcelona.")], "label": False},
        {"prompt": GREET, "completion": [assistant("Good day to you.")], "label": True},
        {"prompt": GREET, "completion": [assistant("yo")], "label": False},
        {"prompt": SUM, "completion": [assistant("5")], "label": False},
        {"prompt": SUM3, "completion": [assistant("6")], "label": True},
        {"prompt": SUM3, "completion": [assistant("7")], "label": False},
        {"prompt": OK, "completion": [assistant("ok")], "label": True},
    ],
}
# The columns TRL documents for each, in its order.
TRL_COLUMNS = {"sft": ["messages"], "preference": ["prompt", "chosen", "rejected"],
               "kto": ["prompt", "completion", "label"]}


def load(path: Path, how: str, cache: Path) -> Any:
    import datasets

    if how == "folder":
        return datasets.load_dataset(str(path), split="train", cache_dir=str(cache))
    return datasets.load_dataset("json" if how == "jsonl" else "parquet", data_files=str(path), split="train",
                                 cache_dir=str(cache))


def rows_of(store: Store, kind: str, filters: ExportFilters, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / f"{kind}-{len(list(tmp_path.iterdir()))}.jsonl"
    write_training(store, kind, filters, path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("how", ["jsonl", "parquet", "folder"])
@pytest.mark.parametrize("kind", ["sft", "preference", "kto"])
def test_each_format_loads_with_datasets_with_exactly_trls_columns(
        store: Store, tmp_path: Path, kind: str, how: str) -> None:
    seed(store)
    out = tmp_path / ("out" if how == "folder" else f"out.{how}")
    tally = write_training(store, kind, TRAINING, out, how)  # type: ignore[arg-type]
    dataset = load(out, how, tmp_path / "hf-cache")
    assert dataset.column_names == TRL_COLUMNS[kind]
    assert [dict(row) for row in dataset] == EXPECTED[kind]
    for name, feature in dataset.features.items():
        if name == "label":
            assert feature.dtype == "bool"
        else:  # a list of {"role", "content"} messages
            assert {k: v.dtype for k, v in feature.feature.items()} == {"role": "string", "content": "string"}
    assert tally.rows == len(EXPECTED[kind]) and tally.left_out == {"simulated": 1}


def test_the_folder_has_a_dataset_card(store: Store, tmp_path: Path) -> None:
    import yaml

    seed(store)
    write_training(store, "kto", ExportFilters(ExportSelection(reviewers=("ann", "bo")), include_simulated=False),
                   tmp_path / "kto", "folder", now=START + timedelta(days=1))
    card = (tmp_path / "kto" / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*"}]
    assert [f["name"] for f in header["dataset_info"]["features"]] == ["prompt", "completion", "label"]
    assert "license" not in header  # the rows come from a cc-by-4.0 batch and one with no license
    for line in ("- rows: 9", "- labels: desired 5, undesired 4",
                 "- decisions kept: accept 1, edit 2, reject 2, rewrite 1, skip 1",
                 "- kept but made no row in this format: skip 1",
                 "- reviewer: ann, bo", "- simulated answers: left out", "- calibration answers: left out",
                 "Refinements made from 2025-03-01 09:00:00 UTC to 2025-03-01 09:06:00 UTC.",
                 "| a.jsonl | cc-by-4.0 | 5 |", "| b.jsonl | unknown | 4 |", "| m1 | 9 |",
                 "| reject, no refined text | - | - | draft (false) |"):
        assert line in card, line
    assert "left out by the filters after reading" not in card  # the simulated reviewer is not ann or bo


def test_a_dataset_folder_is_never_written_over(store: Store, tmp_path: Path) -> None:
    seed(store)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        write_training(store, "sft", TRAINING, tmp_path / "used", "folder")
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["notes.txt"]
    (tmp_path / "empty").mkdir()  # an empty folder is fine
    write_training(store, "sft", TRAINING, tmp_path / "empty", "folder")
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["README.md", "data"]


def test_simulated_and_calibration_answers_only_when_asked(store: Store, tmp_path: Path) -> None:
    seed(store)
    asked = ExportFilters(include_simulated=True, include_calibration=True)
    rows = rows_of(store, "preference", asked, tmp_path)
    assert rows == [*EXPECTED["preference"],
                    {"prompt": [user("Simulated?")], "chosen": [assistant("Sim.")], "rejected": [assistant("S.")]},
                    {"prompt": [user("Calibrate?")], "chosen": [assistant("Cal.")], "rejected": [assistant("C.")]}]
    only_cal = ExportFilters(include_simulated=False, include_calibration=True)
    assert rows_of(store, "sft", only_cal, tmp_path)[-1] == {"messages": [user("Calibrate?"), assistant("Cal.")]}
    assert rows_of(store, "sft", TRAINING, tmp_path) == EXPECTED["sft"]


@pytest.mark.parametrize(("filters", "expected"), [
    (ExportFilters(ExportSelection(decisions=("edit",)), include_simulated=False),
     [{"messages": [*SPAIN, assistant("Madrid.")]}, {"messages": [*OK, assistant("ok")]}]),
    (ExportFilters(tags=("factual-error",), include_simulated=False), [{"messages": [*SPAIN, assistant("Madrid.")]}]),
    (ExportFilters(ExportSelection(reviewers=("bo",)), include_simulated=False),
     [{"messages": [*SPAIN, assistant("Madrid.")]}, {"messages": [*SUM3, assistant("6")]}]),
    (ExportFilters(ExportSelection(batches=("b.jsonl",)), include_simulated=False),
     [{"messages": [*GREET, assistant("Good day to you.")]}, {"messages": [*SUM3, assistant("6")]}]),
    (ExportFilters(ExportSelection(since=START + timedelta(minutes=1), until=START + timedelta(minutes=3)),
                   include_simulated=False),
     [{"messages": [*SPAIN, assistant("Madrid.")]}, {"messages": [*GREET, assistant("Good day to you.")]}]),
    (ExportFilters(ExportSelection(pattern_ids=("p1",)), include_simulated=False),
     [{"messages": [*SPAIN, assistant("Madrid.")]}]),  # and the plain reject, which makes no sft row
    (ExportFilters(ExportSelection(pattern_ids=("p2",)), include_simulated=False, include_calibration=True),
     [{"messages": [*GREET, assistant("Good day to you.")]}]),  # calibration answers have no notes
], ids=["decision", "tag", "reviewer", "batch", "time", "pattern", "pattern-calibration"])
def test_filters(store: Store, tmp_path: Path, filters: ExportFilters, expected: list[dict[str, Any]]) -> None:
    mine(store, seed(store))
    assert rows_of(store, "sft", filters, tmp_path) == expected


def test_the_pattern_filter_reads_the_last_mining_run(store: Store, tmp_path: Path) -> None:
    ids = seed(store)
    mine(store, ids)
    kto = rows_of(store, "kto", ExportFilters(ExportSelection(pattern_ids=("p1",)), include_simulated=False), tmp_path)
    assert [(row["completion"][0]["content"], row["label"]) for row in kto] == [
        ("Madrid.", True), ("Barcelona.", False), ("5", False)]


def test_which_decisions_make_which_rows() -> None:
    def ref(decision: str, refined: str | None = None) -> dict[str, Any]:
        return {"decision": decision, "refined_text": refined}

    assert outcome(ref("accept"), "A.") == ("A.", None)
    assert outcome(ref("edit", "B."), "A.") == ("B.", "A.")
    assert outcome(ref("rewrite", "B."), "A.") == ("B.", "A.")
    assert outcome(ref("reject"), "A.") == (None, "A.")
    assert outcome(ref("reject", "B."), "A.") == ("B.", "A.")
    assert outcome(ref("reject", "  "), "A.") == (None, "A.")
    assert outcome(ref("edit", " A. "), "A.") == ("A.", None)  # changed nothing: the draft stood
    assert outcome(ref("skip"), "A.") == (None, None)
    assert outcome(ref("accept"), None) == (None, None)  # no draft kept: nothing to stand behind
    assert outcome(ref("edit", "B."), None) == ("B.", None)


def test_a_task_with_chat_turns_is_asked_with_them() -> None:
    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
             {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Capital of Peru?"}]
    assert prompt_messages({"prompt": "Capital of Peru?", "metadata": {"messages": turns}}) == turns
    assert prompt_messages({"prompt": "Sum.", "input": "2, 3", "metadata": {"messages": "not turns"}}) == [
        user("Sum.\n\nInput:\n2, 3")]


def test_a_refinement_whose_task_or_draft_is_gone_makes_no_row(store: Store, tmp_path: Path) -> None:
    from oversight.schemas import Refinement, Task

    store.add_tasks([Task(id="t_here", prompt="Here?")])
    store.save_refinement(Refinement(task_id="t_here", draft_id="d_gone", decision="edit", refined_text="Yes."))
    store.save_refinement(Refinement(task_id="t_gone", draft_id="d_gone", decision="accept"))
    tally = write_training(store, "kto", TRAINING, tmp_path / "kto.jsonl")
    assert [json.loads(line) for line in (tmp_path / "kto.jsonl").read_text().splitlines()] == [
        {"prompt": [user("Here?")], "completion": [assistant("Yes.")], "label": True}]  # no draft: no negative
    assert (tally.rows, tally.no_row) == (1, {"no task": 1})


def test_the_card_says_which_filters_narrowed_the_export() -> None:
    filters = ExportFilters(ExportSelection(decisions=("edit",), since=START, until=START + timedelta(days=1)),
                            tags=("tone",), include_calibration=True)
    assert filters.describe() == {"decision": ["edit"], "tag": ["tone"], "from": "2025-03-01T09:00:00+00:00",
                                  "before": "2025-03-02T09:00:00+00:00", "simulated answers": "included",
                                  "calibration answers": "included"}
