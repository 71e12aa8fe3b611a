"""The intervene graph: suggestions kept, the lead's decision an interrupt answered from another
process, accepted changes validated; and the CLI's suggest and validate on the same store.

The model behind drafting is the stub OpenAI-compatible server (tests/support/stub_server.py,
a real HTTP server that answers "Stub answer to: ..."), so validation runs without a model.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.intervene.checks import word_count
from oversight.mine.miner import mine
from oversight.refine.answers import build_refinement
from oversight.schemas import Draft, RefinementInput, Task
from oversight.store import Store
from tests.support.stub_server import StubServer

CAPITALS = Path(__file__).resolve().parents[2] / "src" / "oversight" / "data" / "capitals" / "tasks.jsonl"
STUB_MODEL = "openai/stub-model"


def capital_tasks(n: int) -> list[Task]:
    rows = [json.loads(line) for line in CAPITALS.read_text(encoding="utf-8").splitlines()[:n]]
    return [Task(id=r["id"], prompt=r["prompt"], reference=r["reference"], domain=r["domain"], kind=r["kind"])
            for r in rows]


def seed_one_word_failures(db: Path, embedder, n: int = 14) -> str:
    """Tasks, wordy drafts and one-word refinements with tags, mined; the one-word pattern's id."""
    with Store.open(db) as store:
        tasks = capital_tasks(n)
        store.add_tasks(tasks)
        work = []
        for task in tasks:
            country = task.prompt.removeprefix("What is the capital of ").split("?")[0]
            draft = Draft(id=f"d-{task.id}", task_id=task.id, model=STUB_MODEL, prompt_name="draft",
                          prompt_version="v0", text=f"The capital of {country} is {task.reference}.")
            answer = RefinementInput(decision="rewrite", refined_text=task.reference,
                                     tags=["ignores-one-word-instruction"],
                                     rationale="Asked for one word; the draft answered with a sentence.")
            work.append((task, draft, build_refinement(answer, draft, None)))
        store.add_finished_work(work)
        result = asyncio.run(mine(store, names="keywords", embedder=embedder))
        notes = {n.id: n for n in store.notes()}
        return max(result.patterns, key=lambda p: sum(notes[i].text == "ignores one word instruction"
                                                        for i in p.member_ids)).id


@pytest.fixture
def stub(tmp_path: Path):
    with StubServer(latency=0.0, log_path=tmp_path / "requests.jsonl") as server:
        yield server


@pytest.fixture
def env(stub: StubServer, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    out.update(OVERSIGHT_DB=str(tmp_path / "work.db"), OVERSIGHT_MODEL=STUB_MODEL, OVERSIGHT_API_BASE=stub.api_base,
               OVERSIGHT_API_KEY="sk-test", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return out


def thread(*args: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.support.intervene_thread", *args], env=env, text=True,
                          capture_output=True, timeout=240, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_lead_decides_in_another_process_and_accepted_changes_are_validated(
        tmp_path: Path, env: dict[str, str], embedder) -> None:
    pattern_id = seed_one_word_failures(tmp_path / "work.db", embedder)
    paused = thread("start", pattern_id, "iv-thread-1", env=env)
    assert paused["paused"] is True
    proposals = {p["kind"]: p for p in paused["payload"]["proposals"]}
    assert {"eval_check", "few_shot"} <= set(proposals)
    with Store.open(tmp_path / "work.db") as store:
        assert {i.status for i in store.interventions(pattern_id=pattern_id)} == {"proposed"}

    # a bad answer pauses again, saying what was wrong; nothing is decided
    again = thread("resume", "iv-thread-1", json.dumps({"decisions": {"iv_nope": {"decision": "accepted"}}}), env=env)
    assert again["paused"] is True and "not one of this pattern's proposals" in again["payload"]["problem"]

    decisions = {"decisions": {
        proposals["eval_check"]["id"]: {"decision": "accepted", "reason": "A word limit is what the trainers ask."},
        proposals["few_shot"]["id"]: {"decision": "accepted", "reason": "Worth a try on the affected tasks."},
    }}
    done = thread("resume", "iv-thread-1", json.dumps(decisions), env=env)
    assert done["paused"] is False
    [validation] = done["state"]["validations"]
    assert validation["id"] == proposals["few_shot"]["id"]
    # the stub answers with a sentence whatever the prompt: the failure recurs before and after
    assert (validation["outcome"], validation["before"], validation["after"]) == ("not_effective", 1.0, 1.0)
    with Store.open(tmp_path / "work.db") as store:
        few_shot = store.intervention(proposals["few_shot"]["id"])
        assert few_shot.status == "not_effective" and few_shot.reason == "Worth a try on the affected tasks."
        assert store.intervention(proposals["eval_check"]["id"]).status == "accepted"
        drafts = store.count("drafts")
    # validating again pays for no draft: every one is found by its id
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "work.db"), "interventions", "validate",
                                      proposals["few_shot"]["id"], "--model", STUB_MODEL, "--api-base",
                                      env["OVERSIGHT_API_BASE"], "--json"], env={"OVERSIGHT_API_KEY": "sk-test"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "not_effective"
    with Store.open(tmp_path / "work.db") as store:
        assert store.count("drafts") == drafts


def test_cli_suggest_and_refusals_change_nothing(tmp_path: Path, embedder) -> None:
    db = tmp_path / "o.db"
    pattern_id = seed_one_word_failures(db, embedder)
    runner = CliRunner()
    first = runner.invoke(cli, ["--db", str(db), "interventions", "suggest", "--no-model", "--json"])
    assert first.exit_code == 0, first.output
    found = {f["pattern_id"]: f for f in json.loads(first.stdout)}
    kinds = {i["kind"]: i for i in found[pattern_id]["interventions"]}
    criterion = kinds["eval_check"]["payload"]["criterion"]
    # a word limit taken from what the trainers wrote: every refined answer fits ("Andorra la Vella")
    assert (criterion["kind"], criterion["value"]) == ("max_words", 3)
    assert max(word_count(t.reference) for t in capital_tasks(14)) == 3
    assert all(word_count(e["answer"]) <= 2 for e in kinds["few_shot"]["payload"]["examples"])
    again = runner.invoke(cli, ["--db", str(db), "interventions", "suggest", "--no-model", "--json"])
    assert sum(f["added"] for f in json.loads(again.stdout)) == 0  # suggesting twice adds nothing

    few_shot = kinds["few_shot"]["id"]
    with Store.open(db) as store:
        before = store.intervention(few_shot)
    cases = [
        (["interventions", "validate", "iv_missing"], "no intervention 'iv_missing'"),
        (["interventions", "validate", few_shot], "accept it first"),
        (["interventions", "validate", kinds["eval_check"]["id"]], "only prompt patches and few-shot sets"),
        (["interventions", "suggest", "--pattern", "p_missing", "--no-model"], "no pattern 'p_missing'"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, ["--db", str(db), *args])
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    with Store.open(db) as store:
        assert store.intervention(few_shot) == before
        assert store.count("drafts") == 14


def test_a_routing_rule_is_built_from_the_audits_where_one_exists(tmp_path: Path, embedder) -> None:
    from oversight.schemas import GroupRoute, RoutingRule

    db = tmp_path / "o.db"
    pattern_id = seed_one_word_failures(db, embedder)
    runner = CliRunner()
    plain = json.loads(runner.invoke(cli, ["--db", str(db), "interventions", "suggest", "--no-model",
                                           "--pattern", pattern_id, "--json"]).stdout)
    assert "routing_rule" not in {i["kind"] for i in plain[0]["interventions"]}  # no audit rule yet
    with Store.open(db) as store:
        store.save_routing_rule(RoutingRule(
            rules=[GroupRoute(field="domain", value="geography", route="expert", raters=1,
                              reason="trainers agree with experts only 55% of the time on geography")],
            default=GroupRoute(field="all", value=None, route="single_rater", raters=1)))
    again = json.loads(runner.invoke(cli, ["--db", str(db), "interventions", "suggest", "--no-model",
                                           "--pattern", pattern_id, "--json"]).stdout)
    [routing] = [i for i in again[0]["interventions"] if i["kind"] == "routing_rule"]
    assert routing["payload"]["condition"] == {"domain": "geography"} and routing["payload"]["route"] == "expert"
    assert "55% of the time on geography" in routing["rationale"] and routing["proposed_by"] == "rules"
    assert "routing_rule" not in again[0]["needs_model"]
