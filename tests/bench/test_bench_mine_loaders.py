"""The mine quality bench's set loaders read each real set's format into scored notes: on small
fixtures (real slices, or rows written here in the set's own format)."""

from __future__ import annotations

import csv
import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from oversight.store import Store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mine"
# The first 3 items of LLM_edited_oracle.json (creativity_eval, BSD-3-Clause: see NOTICE.md)
ORACLE_SAMPLE = FIXTURES / "creativity_eval" / "writing_edits_sample.json"
TTCW_SAMPLE = FIXTURES / "creativity_eval" / "ttcw_no_sample.jsonl"


@pytest.fixture
def common(monkeypatch: pytest.MonkeyPatch) -> Any:
    """bench_mine_common as the benches import it."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    module = importlib.import_module("bench_mine_common")
    yield module
    sys.modules.pop("bench_mine_common", None)


def oracle_items() -> list[dict[str, Any]]:
    return json.loads(ORACLE_SAMPLE.read_text(encoding="utf-8"))



def test_oracle_post_edits_give_edit_notes_labelled_by_the_writers_edit_they_overlap(common, tmp_path: Path) -> None:
    items = {item["id"]: item for item in oracle_items()}
    with Store.open(tmp_path / "s.db") as store:
        got = common.fill_oracle(store, tmp_path, oracle=ORACLE_SAMPLE)
        notes = {n.id: n for n in store.notes()}
    assert got.counts["rows"] == got.counts["imported"] == 3
    assert got.counts["writer_edits"] == sum(len(i["fine_grained_edits"]) for i in items.values()) == 20
    assert got.counts["edit_notes"] == len(got.note_ids) == 16 and all(notes[i].source == "edit" for i in got.note_ids)
    assert set(got.source) == set(items)  # each note is about its paragraph
    assert got.scored and len(got.scored) == got.counts["labelled_notes"]
    for note_id, label, item in zip(got.note_ids, got.truth, got.source, strict=True):
        if label is None:
            continue
        edit = notes[note_id].metadata["edit"]
        start, end = edit["start"], edit["start"] + len(edit["before"])
        spans = [(s, e) for s, e, kind in common._oracle_spans(items[item]) if kind == label]
        # the note's edit lies on a writer's edit of its label (an insert: within one)
        assert any(min(end, e) > max(start, s) or s <= start <= e for s, e in spans), (note_id, label)
    first = next(i for i, n in enumerate(got.note_ids) if notes[n].metadata["edit"].get("start") == 393)
    assert got.truth[first] == "Cliche"  # yen_batch2_6: the writer's first edit, a cliche, rewritten whole


def test_oracle_fine_grained_edits_give_one_note_each_with_its_category(common, tmp_path: Path) -> None:
    expected = [(item["id"], common._oracle_category(edit["categorization"]), edit["originalText"].strip())
                for item in oracle_items() for edit in item["fine_grained_edits"]]
    with Store.open(tmp_path / "s.db") as store:
        got = common.fill_oracle_edits(store, tmp_path, oracle=ORACLE_SAMPLE)
        before = {str(n.external_id): n.metadata["edit"]["before"] for n in store.notes()}
    assert len(got.note_ids) == len(expected) == 20 and got.scored == list(range(20))
    keys = [f"{item}:{k}" for item in dict.fromkeys(e[0] for e in expected)
            for k in range(sum(e[0] == item for e in expected))]
    assert [(s, t, before[k]) for s, t, k in zip(got.source, got.truth, keys, strict=True)] == expected
    assert got.counts["label_counts"] == dict(Counter(e[1] for e in expected).most_common())


def test_oracle_category_spellings_are_made_one(common) -> None:
    assert common._oracle_category("Unnecessary/ Redundant  Exposition") == "Unnecessary/Redundant Exposition"
    assert common._oracle_category(" Cliche ") == "Cliche"


def test_ttcw_loader_keeps_the_no_verdicts_with_their_story(common, tmp_path: Path) -> None:
    sample = [json.loads(line) for line in TTCW_SAMPLE.read_text(encoding="utf-8").splitlines()][:12]
    raw = [{"story_id": r["story_id"], "expert_idx": k % 3, "ttcw_idx": k, "binary_verdict": "No",
            "explanation": r["explanation"], "category": r["category"]} for k, r in enumerate(sample)]
    raw += [{**raw[0], "ttcw_idx": 90, "binary_verdict": "Yes"}, {**raw[1], "ttcw_idx": 91, "explanation": "  "}]
    path = tmp_path / "ttcw_annotations.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with Store.open(tmp_path / "s.db") as store:
        got = common.fill_ttcw(store, tmp_path, path=path)
        subjects = {n.id: n.subject for n in store.notes()}
    assert sorted(got.texts) == sorted(r["explanation"].strip() for r in sample)
    by_text = {r["explanation"].strip(): r for r in sample}
    assert [(by_text[t]["category"], str(by_text[t]["story_id"])) for t in got.texts] == list(
        zip(got.truth, got.source, strict=True))
    assert [subjects[i] for i in got.note_ids] == got.source and got.scored == list(range(12))


def test_tofueval_loader_keeps_single_type_explanations_with_their_document(common, tmp_path: Path) -> None:
    rows = {"mediasum": [("the summary adds a date", "Extrinsic Information", "d1"),
                         ("two kinds at once", "Reasoning Error, Contradiction", "d1"),
                         ("", "Mis-Referencing", "d2"),
                         ("the speaker is not the host", "Mis-Referencing", "d2")],
            "meetingbank": [("it says passed, it was tabled", "Contradiction", "7"), ("no type given", "", "7")]}
    for name, found in rows.items():
        with (tmp_path / f"{name}_factual_eval_dev.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["doc_id", "exp", "type"])
            writer.writerows((doc, exp, kind) for exp, kind, doc in found)
    with Store.open(tmp_path / "s.db") as store:
        got = common.fill_tofueval(store, tmp_path, folder=tmp_path)
    assert list(zip(got.texts, got.truth, got.source, strict=True)) == [
        ("the summary adds a date", "Extrinsic Information", "mediasum:d1"),
        ("the speaker is not the host", "Mis-Referencing", "mediasum:d2"),
        ("it says passed, it was tabled", "Contradiction", "meetingbank:7")]


def test_finegrainedrlhf_edits_are_labelled_by_error_span_or_missing_passage(common, tmp_path: Path) -> None:
    answer = "The album came out in 2018. It was recorded on the moon by a crew of astronauts. Critics liked it."
    wrong = "It was recorded on the moon by a crew of astronauts."
    rows = [{"question": "When did Bloom come out?",
             "passages": [["Bloom (album)", "Bloom is the second studio album by Troye Sivan.",
                           "It features guest appearances from Gordi and Ariana Grande."]],
             "prediction 1": answer,
             "feedback": {"errors": [{"error type": "Irrelevant", "explanation": "", "start": answer.index(wrong),
                                      "end": answer.index(wrong) + len(wrong)}],
                          "missing-info": [{"passage_id": 1, "sentence_id": [2]}],
                          "corrected-prediction": "The album came out in 2018. Critics liked it. It features guest "
                                                  "appearances from Gordi and Ariana Grande."}},
            {"question": "Who?", "passages": [["T", "s"]], "prediction 1": "Someone.",
             "feedback": {"errors": [], "missing-info": [], "corrected-prediction": " "}}]
    dev = tmp_path / "dev_feedback.json"
    dev.write_text(json.dumps(rows), encoding="utf-8")
    with Store.open(tmp_path / "s.db") as store:
        got = common.fill_finegrainedrlhf(store, tmp_path, dev=dev)
    assert got.counts["rows_skipped_blank"] == 1 and got.counts["imported"] == 1
    labelled = sorted(zip(got.truth, got.texts, strict=True))
    assert [label for label, _ in labelled] == ["Irrelevant", common.MISSING_INFO]
    assert wrong in labelled[0][1] and "Gordi and Ariana Grande" in labelled[1][1]
    assert set(got.source) == {"0"}


def test_the_bench_finds_shared_data_beside_a_checkout_or_a_worktree(common, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OVERSIGHT_BENCH_DATA", raising=False)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    monkeypatch.setattr(common, "ROOT", tmp_path / "main")
    assert common._data_folder() == tmp_path / "shared" / "data"
    monkeypatch.setattr(common, "ROOT", tmp_path / "wt" / "helper")
    assert common._data_folder() == tmp_path / "shared" / "data"
    monkeypatch.setenv("OVERSIGHT_BENCH_DATA", str(tmp_path / "elsewhere"))
    assert common._data_folder() == tmp_path / "elsewhere"
    assert set(common.SOURCED_DATASETS) == {"ttcw", "tofueval", "finegrainedrlhf", "oracle", "oracle_edits"}
