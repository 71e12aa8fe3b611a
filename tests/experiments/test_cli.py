"""`oversight experiment run`: bad declarations and bad task files are refused before anything is kept."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from oversight.cli import cli
from oversight.store import Store


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_bad_declaration_names_its_line_and_creates_no_database(tmp_path: Path) -> None:
    Path("e.yaml").write_text("name: e\nconditions:\n  - name: a\n    critique: maybe\nreviewer: {policy: catches}\n")
    result = invoke("experiment", "run", "e.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: e.yaml:4: field 'conditions.0.critique': input should be 'shown' or")
    assert not Path("oversight.db").exists()


def test_a_bad_task_file_names_its_line_and_keeps_nothing(tmp_path: Path) -> None:
    Path("tasks.jsonl").write_text('{"id": "a", "prompt": "A?"}\n{"id": "b", "prompt": ""}\n')
    Path("e.yaml").write_text("name: e\ntasks: {file: tasks.jsonl}\nconditions: [{name: a}]\n"
                              "reviewer: {policy: catches}\n")
    assert invoke("init").exit_code == 0
    result = invoke("experiment", "run", "e.yaml")
    assert result.exit_code == 1
    assert "tasks.jsonl:2: field 'prompt'" in result.stderr
    with Store.open("oversight.db") as store:
        assert store.task_ids() == [] and store.experiment_names() == []


def test_a_selection_with_no_tasks_says_what_to_do(tmp_path: Path) -> None:
    Path("e.yaml").write_text("name: e\nconditions: [{name: a}]\nreviewer: {policy: catches}\n")
    assert invoke("init").exit_code == 0
    result = invoke("experiment", "run", "e.yaml")
    assert result.exit_code == 1 and "selects no tasks" in result.stderr and "oversight tasks import" in result.stderr


def test_triage_of_a_judges_verdicts_reports_recall_beside_random(tmp_path: Path) -> None:
    import json

    from oversight.audit.datasets import load_llmbar

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "experiments" / "llmbar"
    judged = load_llmbar(fixture, file="natural_gpt4_swap.json", subset="natural")
    Path("pairs.jsonl").write_text("".join(json.dumps(j.model_dump(mode="json")) + "\n" for j in judged))
    result = invoke("experiment", "triage", "pairs.jsonl", "--budget", "0.1", "--budget", "0.5", "--json",
                    "--order", "order.csv")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    # GPT-4 on LLMBar Natural: 7 of 100 pairs judged differently across orders (each one an error),
    # 15 wrong verdicts in all, so 7 + (15 - 7) / 2 = 11 pairs with an error
    assert out["pairs"] == 100 and out["errors"] == 11
    ten = out["recall"][0]
    assert (ten["reviewed"], ten["caught"], ten["random_recall"]) == (10, 7, 0.1)
    order = Path("order.csv").read_text().splitlines()
    assert order[0].startswith("rank,id,score,self_disagreement,picked_longer")
    assert all(line.split(",")[3] == "1.0" for line in order[1:8])  # the 7 self-disagreements first


def test_triage_without_a_judge_name_among_several_annotators_says_so(tmp_path: Path) -> None:
    rows = [{"id": "p", "prompt": "q", "response_a": "a", "response_b": "b", "annotator": who, "choice": "a"}
            for who in ("gpt", "claude")]
    Path("pairs.jsonl").write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    result = invoke("experiment", "triage", "pairs.jsonl")
    assert result.exit_code == 1 and "name the judge" in result.stderr


def test_triage_of_drafts_measures_on_answered_work_and_lists_the_queue_first(recorded_settings) -> None:
    import json

    from oversight.project import Project
    from oversight.schemas import Refinement, Task
    from tests.support.review_seed import finding, seed_items

    high = [finding("the year 1862", "Wrong year.", severity="high")]
    with Project.open(recorded_settings) as rt:
        seed_items(rt, [(Task(id=f"h{i}", prompt="When?"), "In the year 1862.", high) for i in range(1, 6)]
                   + [(Task(id=f"n{i}", prompt="When?"), "In 1861.", []) for i in range(1, 6)])
        for task_id, decision in [("h1", "reject"), ("h2", "reject"), ("h3", "accept"), ("n1", "reject"),
                                  ("n2", "accept"), ("n3", "accept")]:
            draft_id = rt.store.task_state(task_id)["draft_id"]
            rt.store.save_refinement(Refinement(task_id=task_id, draft_id=draft_id, decision=decision))
    result = invoke("--db", recorded_settings.db, "experiment", "triage", "--drafts", "--budget", "0.5", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["answered"], out["queued"]) == (6, 4)
    [half] = out["recall"]
    # the three drafts the critic flagged high come first: two of them were rejected, of three rejections
    assert (half["reviewed"], half["errors"], half["caught"]) == (3, 3, 2)
    assert sorted(out["review_first"]) == ["h4", "h5"]
    both = invoke("experiment", "triage")
    assert both.exit_code == 2 and "--drafts" in both.stderr


def test_an_unknown_patch_is_refused_before_any_task_is_imported(tmp_path: Path) -> None:
    Path("tasks.jsonl").write_text('{"id": "a", "prompt": "A?"}\n')
    Path("e.yaml").write_text("name: e\ntasks: {file: tasks.jsonl}\nconditions: [{name: a}, {name: b, patch: i_nope}]\n"
                              "reviewer: {policy: catches}\n")
    assert invoke("init").exit_code == 0
    result = invoke("experiment", "run", "e.yaml")
    assert result.exit_code == 1 and "condition 'b': no intervention 'i_nope'" in result.stderr
    with Store.open("oversight.db") as store:
        assert store.task_ids() == []
