"""Experiments end to end on the embedded model (cassettes): the README's example, a kill half way,
people in the review queue, an LLM reviewer, and a paired prompt comparison by a check."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from oversight import review
from oversight.config import load_settings
from oversight.experiments import ROW_COLUMNS, load_experiment, run, summary
from oversight.project import Project
from oversight.schemas import Experiment, RefinementInput
from tests.conftest import CASSETTES, RECORDED_API_BASE, RECORDED_API_KEY, RECORDED_MODEL, ROOT

EXAMPLE = ROOT / "examples" / "experiments" / "assistance.yaml"
CAPITALS = ROOT / "src" / "oversight" / "data" / "capitals" / "tasks.jsonl"


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["task_id", "condition"]).reset_index(drop=True)


@pytest.mark.vcr
async def test_the_readme_example_runs_end_to_end_and_a_rerun_pays_for_nothing(recorded_settings) -> None:
    experiment = load_experiment(EXAMPLE)
    with Project.open(recorded_settings) as rt:
        frame = await run(experiment, rt, base=EXAMPLE.parent)
        assert list(frame.columns) == ROW_COLUMNS and len(frame) == 24
        assert frame.groupby("condition").size().to_dict() == {"assisted": 12, "unassisted": 12}
        assert frame["plant"].notna().all() and set(frame["plant"]) == {
            "wrong_number", "unsupported_sentence", "ignored_instruction"}
        assert (frame["state"] == "refined").all() and frame["simulated"].all()
        assert set(frame["reviewer"]) == {"sim-catches"} and frame["caught"].notna().all()
        refinements = {r.task_id: r for r in rt.store.refinements()}
        for row in frame.itertuples():
            kept = refinements[row.item_id]
            assert kept.simulated and kept.arm == row.arm
            if row.arm == "critique_hidden":
                assert kept.finding_verdicts == []  # nothing was shown to confirm
        assert all(rt.store.task_state(i)["critique_id"] for i in frame.item_id)  # critiqued in both arms
        # a re-run finds everything: with record_mode=none a new request would fail the test
        again = await run(experiment, rt, base=EXAMPLE.parent)
    pd.testing.assert_frame_equal(stable(frame), stable(again))
    effects = summary(frame)
    caught = effects.set_index(["measure", "condition"]).loc[("caught", "assisted")]
    assert caught.vs == "unassisted" and not caught.paired and caught.effect_low <= caught.effect <= caught.effect_high


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_run_killed_half_way_resumes_to_the_same_rows(tmp_path: Path) -> None:
    cassette = CASSETTES / "experiments" / "test_run" / \
        "test_the_readme_example_runs_end_to_end_and_a_rerun_pays_for_nothing.yaml"
    env = {**os.environ, "OVERSIGHT_MODEL": RECORDED_MODEL, "OVERSIGHT_API_BASE": RECORDED_API_BASE,
           "OVERSIGHT_API_KEY": RECORDED_API_KEY, "OVERSIGHT_CONCURRENCY": "1", "PYTHONPATH": str(ROOT)}

    def cli(db: Path, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "tests.support.cassette_cli", str(cassette), "--db", str(db),
                                 "experiment", "run", str(EXAMPLE), *extra], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    killed = tmp_path / "killed.db"
    process = cli(killed)
    deadline = time.monotonic() + 120
    while _count(killed, "SELECT count(*) FROM refinements") < 5:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never reached its reviews"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # the CLI process itself, mid-review
    process.wait()
    half = _count(killed, "SELECT count(*) FROM refinements")
    assert 5 <= half < 24
    resumed = cli(killed, "--rows", str(tmp_path / "resumed.csv"))
    out, errors = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, errors
    whole = cli(tmp_path / "whole.db", "--rows", str(tmp_path / "whole.csv"))
    _, errors = whole.communicate(timeout=300)
    assert whole.returncode == 0, errors
    assert _count(killed, "SELECT count(*) FROM refinements") == 24
    assert _count(killed, "SELECT count(*) FROM drafts WHERE task_id NOT LIKE 'x.%'") == 24  # none paid twice
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "resumed.csv"), pd.read_csv(tmp_path / "whole.csv"))
    assert "critique-assistance: 24 rows" in out


def test_the_readme_python_example_runs_offline(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = next(e for e in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "load_experiment" in e)
    script = tmp_path / "example.py"
    script.write_text(example + "\nrows.to_csv(__import__('sys').argv[0] + '.csv', index=False)\n", encoding="utf-8")
    cassette = CASSETTES / "experiments" / "test_run" / \
        "test_the_readme_example_runs_end_to_end_and_a_rerun_pays_for_nothing.yaml"
    env = {**os.environ, "OVERSIGHT_MODEL": RECORDED_MODEL, "OVERSIGHT_API_BASE": RECORDED_API_BASE,
           "OVERSIGHT_API_KEY": RECORDED_API_KEY, "OVERSIGHT_DB": str(tmp_path / "example.db"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.support.cassette_cli", str(cassette), "--script", str(script)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "caught" in done.stdout and "unassisted" in done.stdout
    rows = pd.read_csv(f"{script}.csv")
    assert len(rows) == 24 and rows["caught"].notna().all()


def small(**changes: object) -> Experiment:
    spec = {"name": "people", "tasks": {"file": "src/oversight/data/demo/tasks.jsonl"}, "sample": 4,
            "seed": 3, "design": "randomised", "plant": ["unsupported_sentence"],
            "conditions": [{"name": "alone", "critique": "hidden"}, {"name": "helped", "critique": "shown"}],
            "reviewer": {"policy": "human"}, "measures": ["caught", "flagged"]}
    return Experiment.model_validate({**spec, **changes})


@pytest.mark.vcr
async def test_people_answer_the_same_items_in_the_queue_with_the_arm_honoured(recorded_settings) -> None:
    experiment = small()
    with Project.open(recorded_settings) as rt:
        frame = await run(experiment, rt, base=ROOT)
        assert (frame["state"] == "awaiting_review").all() and frame["decision"].isna().all()
        queued = set(rt.store.batch_task_ids(experiment.batch))
        assert queued == set(frame["item_id"])
        for row in frame.itertuples():
            shown = await review.item(rt, row.item_id)
            assert shown.arm == row.arm
            assert (shown.critique is None) == (row.arm == "critique_hidden")
            assert rt.store.task_state(row.item_id)["critique_id"]  # critiqued in both arms
        lease = await review.claim(rt, "ana", batch=experiment.batch)
        assert lease is not None
        row = frame.set_index("item_id").loc[lease.task_id]
        answer = RefinementInput(decision="reject", rationale="a sentence nothing supports", simulated=True)
        kept = await review.submit(rt, lease.task_id, answer, reviewer="ana")
        assert kept.arm == row.arm and kept.simulated is False  # the service decides both, not the answer
        after = (await run(experiment, rt, base=ROOT)).set_index("item_id")
    assert after.loc[lease.task_id, "caught"] == True and after.loc[lease.task_id, "reviewer"] == "ana"  # noqa: E712
    assert after["decision"].notna().sum() == 1


LLM_REVIEWER_CASSETTE = CASSETTES / "experiments" / "test_run" / \
    "test_an_llm_reviewer_answers_through_the_review_service.yaml"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_settings(request: pytest.FixtureRequest, recorded_settings):
    """The recorded endpoint, on SQLite and (when configured) PostgreSQL (store and checkpointer)."""
    if request.param == "sqlite":
        return recorded_settings
    return load_settings(db=request.getfixturevalue("postgres_url"), model=RECORDED_MODEL,
                         api_base=RECORDED_API_BASE, api_key=RECORDED_API_KEY, concurrency=1)


@pytest.mark.vcr(str(LLM_REVIEWER_CASSETTE))
async def test_an_llm_reviewer_answers_through_the_review_service(any_db_settings, monkeypatch) -> None:
    # The cassette was recorded before critiques held the findings of the checks that need no model,
    # which the simulated reviewer is shown too (and asked about): they are left out here until it is
    # recorded again (`oversight model serve --port 8765`, then --record-mode=once).
    monkeypatch.setattr("oversight.refine.critique.check_findings", lambda *args, **kwargs: [])
    experiment = small(name="llm-reviewer", reviewer={"policy": "llm"})
    with Project.open(any_db_settings) as rt:
        frame = await run(experiment, rt, base=ROOT)
        assert (frame["state"] == "refined").all() and set(frame["reviewer"]) == {"sim-llm"}
        assert frame["simulated"].all() and frame["caught"].notna().all()
        assert (frame["seconds"] > 10).all()  # the reading model: 10 s plus 4 words a second
        again = await run(experiment, rt, base=ROOT)  # its answers are kept: nothing is asked twice
    pd.testing.assert_frame_equal(stable(frame), stable(again))


@pytest.mark.vcr
async def test_a_paired_prompt_comparison_measures_recurrence_by_a_check(recorded_settings, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    bundled = (ROOT / "prompts" / "draft.md").read_text(encoding="utf-8")
    (prompts / "draft_terse.md").write_text(bundled.replace("name: draft", "name: draft_terse", 1).replace(
        "## system\n", "## system\nWhen asked for one word, reply with that one word only.\n", 1), encoding="utf-8")
    experiment = Experiment.model_validate({
        "name": "terse", "tasks": {"file": str(CAPITALS.relative_to(ROOT))}, "sample": 12, "seed": 0,
        "conditions": [{"name": "bundled"}, {"name": "terse", "prompt": "draft_terse"}],
        "recurrence": {"check": {"kind": "max_words", "value": 1}}})
    settings = load_settings(db=recorded_settings.db, model=RECORDED_MODEL, api_base=RECORDED_API_BASE,
                             api_key=RECORDED_API_KEY, concurrency=1, prompts_dir=str(prompts))
    with Project.open(settings) as rt:
        frame = await run(experiment, rt, base=ROOT)
        assert len(frame) == 24 and frame["recurs"].notna().all() and frame["decision"].isna().all()
        assert frame.groupby("condition")["prompt_version"].nunique().to_dict() == {"bundled": 1, "terse": 1}
        assert frame.loc[frame.condition == "bundled", "prompt_version"].iloc[0] == rt.draft_prompt.version
    effects = summary(frame).set_index("condition")
    terse = effects.loc["terse"]
    assert terse.paired and terse.pairs == 12 and frame.attrs["recurrence"] == "check:max_words 1"
    bundled = frame[frame.condition == "bundled"].set_index("task_id")["recurs"]
    other = frame[frame.condition == "terse"].set_index("task_id")["recurs"]
    assert terse.effect == pytest.approx(other.mean() - bundled.mean())


def test_the_same_task_under_the_same_condition_gets_the_same_error_wherever_the_file_lies(recorded_settings) -> None:
    from oversight.experiments.run import _item
    from oversight.schemas import Draft, Task

    task = Task(id="q1", prompt="When was it?")
    source = Draft(id="d1", task_id="q1", model=RECORDED_MODEL, prompt_name="draft", prompt_version="v",
                   text="It was fought on July 21, 1861, by about 18,000 men on each side of the river.")
    spelled = [small(tasks={"file": "src/oversight/data/demo/tasks.jsonl"}),
               small(tasks={"file": str(ROOT / "src/oversight/data/demo/tasks.jsonl")})]
    with Project.open(recorded_settings) as rt:
        made = [_item(e, task, e.conditions[0], source, rt, queued=True) for e in spelled]
    (first, first_task, first_draft), (second, second_task, second_draft) = made
    assert first.key != second.key and first.item_id != second.item_id  # two declarations, two sets of items
    assert first.plant == second.plant and first_draft.text == second_draft.text != source.text
    assert first_task.prompt == second_task.prompt
