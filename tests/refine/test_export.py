"""The export streams: a query per chunk joining refinements with their tasks, drafts and critiques,
never one per row; flat rows as before; the command's options."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from oversight.cli import cli
from oversight.refine.answers import RefinementInput, build_refinement
from oversight.refine.export import ExportFilters, export_rows, iter_export_rows
from oversight.schemas import Critique, Draft, DroppedFinding, Finding, FindingVerdict, Refinement, Task
from oversight.store import ExportSelection, Store
from tests.refine._export_data import assistant, mine, seed, user


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def statements(store: Store) -> list[str]:
    """Every SQL statement the store sends from now on."""
    sent: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_: sent.append(sql))
    return sent


def test_a_chunk_is_one_joined_query_never_one_per_row(store: Store) -> None:
    work = [(Task(id=f"t{i:04d}", prompt=f"Q{i}?"),
             Draft(id=f"d{i:04d}", task_id=f"t{i:04d}", model="m", prompt_name="draft", prompt_version="v", text="A."),
             Refinement(task_id=f"t{i:04d}", draft_id=f"d{i:04d}", decision="accept",
                        created_at=datetime(2025, 1, 1, tzinfo=UTC)))  # one moment: ids break the tie
            for i in range(1205)]
    store.add_finished_work(work)
    sent = statements(store)
    rows = list(iter_export_rows(store))
    assert len(rows) == 1205 and len({row["refinement_id"] for row in rows}) == 1205
    assert [row["refinement_id"] for row in rows] == sorted(row["refinement_id"] for row in rows)
    assert len(sent) == 2  # 1000, then 205
    assert all(sql.lstrip().startswith("SELECT") and "JOIN tasks" in sql and "JOIN drafts" in sql
               and "JOIN critiques" in sql for sql in sent)
    sizes = [len(chunk) for chunk in store.refinement_chunks(size=500)]
    assert sizes == [500, 500, 205]
    assert store.count_refinements() == 1205


def test_light_chunks_carry_what_training_data_reads(store: Store) -> None:
    seed(store)
    store.save_refinement(Refinement(task_id="t_gone", draft_id="d_gone", decision="accept"))  # no task, no draft
    full = [item for chunk in store.refinement_chunks(size=3) for item in chunk]
    light = [item for chunk in store.refinement_chunks(size=3, light=True) for item in chunk]
    assert len(full) == len(light) == 9
    for whole, part in zip(full, light, strict=True):
        assert part.refinement == {key: whole.refinement[key] for key in part.refinement} | {
            "created_at": datetime.fromisoformat(whole.refinement["created_at"]).isoformat()}
        assert set(part.refinement) == {"id", "task_id", "draft_id", "decision", "reviewer", "refined_text", "tags",
                                        "simulated", "created_at"}
        assert (part.task, part.source, part.critique) == (whole.task, whole.source, None)
        assert part.draft == (None if whole.draft is None else {"model": whole.draft["model"],
                                                                "text": whole.draft["text"]})
    assert light[-1].task is None and light[-1].draft is None


def test_a_flat_row_is_what_it_was(store: Store) -> None:
    """Task, draft, critique (shown findings with the trainer's verdicts, held-back ones with why), the diff's counts."""
    task = Task(id="t1", prompt="When was the tower finished?", domain="history", kind="qa")
    draft = Draft(id="d1", task_id="t1", model="m1", prompt_name="draft", prompt_version="v1",
                  text="The tower was finished in 1899.")
    shown = Finding(quote="1899", issue="Wrong year.", severity="high", category="factual-error")
    held = Finding(quote="1900", issue="Not in the draft.", severity="low", category="other")
    critique = Critique(id="c1", draft_id="d1", task_id="t1", model="critic", prompt_name="critique",
                        prompt_version="v2", findings=[shown], dropped=[DroppedFinding(finding=held, reason="not-in-draft")],
                        summary="One error.")
    store.add_tasks([task], source="a.jsonl")
    store.save_draft(draft)
    store.save_critique(critique)
    answer = RefinementInput(decision="edit", refined_text="The tower was finished in 1889.", tags=["Wrong Year"],
                             rationale="Off by ten.", confidence=0.8, seconds_spent=12.5, reviewer="ann",
                             finding_verdicts=[FindingVerdict(finding=0, verdict="right")])
    refinement = store.save_refinement(build_refinement(answer, draft, critique, key="k"))
    assert export_rows(store) == [{
        "refinement_id": refinement.id, "task_id": "t1", "prompt": "When was the tower finished?",
        "domain": "history", "kind": "qa", "draft_id": "d1", "model": "m1", "prompt_version": "v1",
        "draft": "The tower was finished in 1899.", "critique_summary": "One error.",
        "findings": [{"source": "model", "quote": "1899", "issue": "Wrong year.", "severity": "high",
                      "category": "factual-error", "verdict": "right"}],
        "findings_held_back": [{"source": "model", "quote": "1900", "issue": "Not in the draft.", "severity": "low",
                                "category": "other", "reason": "not-in-draft"}],
        "decision": "edit", "refined_text": "The tower was finished in 1889.", "tags": ["wrong-year"],
        "rationale": "Off by ten.", "words": {"kept": 5, "inserted": 1, "deleted": 1}, "confidence": 0.8,
        "seconds_spent": 12.5, "reviewer": "ann", "simulated": False, "arm": None,
        "created_at": refinement.created_at.isoformat(),
    }]


def test_flat_rows_keep_simulated_answers_and_take_the_filters(store: Store) -> None:
    seed(store)
    every = export_rows(store)
    assert [(r["task_id"], r["simulated"]) for r in every][-2:] == [("t_same", False), ("t_sim", True)]
    assert len(every) == 8  # the calibration answer is not a refinement
    rejects = export_rows(store, ExportFilters(ExportSelection(decisions=("reject",))))
    assert [r["task_id"] for r in rejects] == ["t_rej", "t_rejt"]
    with_cal = export_rows(store, ExportFilters(include_simulated=False, include_calibration=True))
    assert [r["task_id"] for r in with_cal][-2:] == ["t_same", "t_cal"]


# -- the command ------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> dict[str, str]:
    assert run("init").exit_code == 0
    with Store.open("oversight.db") as store:
        ids = seed(store)
        mine(store, ids)
    return ids


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_export_as_training_data_to_a_folder_stdout_or_file(project: dict[str, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = run("export", "--as", "sft", "-o", "train")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in Path("train").iterdir()) == ["README.md", "data"]
    assert "5 sft row(s) from 7 refinement(s) (left out: 1 simulated): train" in result.stderr
    assert pq.read_table("train/data/train-00000-of-00001.parquet").column_names == ["messages"]
    out = run("export", "--as", "preference", "--include-simulated", "--reviewer", "sim-catches")
    assert lines(out.stdout) == [{"prompt": [user("Simulated?")], "chosen": [assistant("Sim.")],
                                  "rejected": [assistant("S.")]}]
    assert run("export", "--as", "kto", "-o", "kto.parquet").exit_code == 0
    assert pq.read_table("kto.parquet").column_names == ["prompt", "completion", "label"]


def test_export_filters_on_the_command_line(project: dict[str, str]) -> None:
    def sft(*options: str) -> list[str]:
        result = run("export", "--as", "sft", *options)
        assert result.exit_code == 0, result.output
        return [row["messages"][-1]["content"] for row in lines(result.stdout)]

    assert sft("--decision", "rewrite", "--decision", "reject") == ["Good day to you.", "6"]
    assert sft("--tag", "Factual Error") == ["Madrid."]  # a tag as trainers type it
    assert sft("--pattern", "p2") == ["Good day to you."]
    assert sft("--batch", "b.jsonl") == ["Good day to you.", "6"]
    assert sft("--from", "2025-03-01T09:01", "--to", "2025-03-01T09:03") == ["Madrid.", "Good day to you."]
    assert sft("--from", "2025-03-01", "--to", "2025-03-01") == ["Paris.", "Madrid.", "Good day to you.", "6", "ok"]
    assert sft("--to", "2025-02-28") == []
    assert sft("--from", "2025-03-01T10:00+01:00", "--to", "2025-03-01T10:02+01:00") == ["Paris.", "Madrid."]
    flat = run("export", "--exclude-simulated", "--decision", "edit")
    assert [row["task_id"] for row in lines(flat.stdout)] == ["t_edit", "t_same"]


@pytest.mark.parametrize(("args", "message"), [
    (["--as", "kto", "-o", "x.csv"], "training data holds lists of messages"),
    (["--format", "hf", "-o", "out"], "add --as sft|preference|kto"),
    (["--as", "sft", "--format", "hf"], "a dataset folder needs -o DIR"),
    (["--as", "sft", "--pattern", "nope"], "no pattern 'nope' in the last mining run"),
    (["--as", "sft", "--from", "last week"], "'last week' is not a date"),
])
def test_export_refuses_what_it_cannot_do(project: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["export", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not Path("out").exists() and not Path("x.csv").exists()


def test_export_will_not_write_over_a_folder(project: dict[str, str]) -> None:
    Path("used").mkdir()
    (Path("used") / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", "--as", "sft", "-o", "used"])
    assert result.exit_code == 1 and "used: exists and is not an empty folder" in result.stderr
    assert [p.name for p in Path("used").iterdir()] == ["keep.txt"]


def test_parquet_row_groups_hold_ten_thousand_rows(tmp_path: Path) -> None:
    """The writer keeps each group's metadata until it closes: few big groups keep its memory flat."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from oversight.refine.export import write_parquet

    schema = pa.schema([pa.field("n", pa.int64())])
    assert write_parquet(({"n": i} for i in range(25_500)), tmp_path / "n.parquet", schema=schema) == 25_500
    meta = pq.ParquetFile(tmp_path / "n.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10_000, 10_000, 5_500]
    assert pq.read_table(tmp_path / "n.parquet").column("n").to_pylist() == list(range(25_500))


def test_a_finding_kept_before_a_field_existed_gets_its_default(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records are read as stored, not validated: a Finding field with a default added since (its source,
    say) is filled in as validating the record would."""
    monkeypatch.setattr("oversight.refine.export._finding_defaults", lambda: {"source": "model", "quote": "unused"})
    store.add_tasks([Task(id="t", prompt="Q?")])
    store.save_draft(Draft(id="d", task_id="t", model="m", prompt_name="draft", prompt_version="v", text="Paris."))
    found = Finding(quote="Paris", issue="Short.", severity="low", category="style")
    store.save_critique(Critique(id="c", draft_id="d", task_id="t", model="critic", prompt_name="critique",
                                 prompt_version="v", findings=[found],
                                 dropped=[DroppedFinding(finding=found, reason="too-short")]))
    store.save_refinement(Refinement(task_id="t", draft_id="d", critique_id="c", decision="accept"))
    [row] = export_rows(store)
    assert [(f["source"], f["quote"]) for f in row["findings"] + row["findings_held_back"]] == [
        ("model", "Paris"), ("model", "Paris")]
