"""Trust downstream: with --trust qualified the stages read only trusted trainers' work (mining's notes,
an intervention's evidence, export rows); with all (the default) nothing changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner

from oversight.cli import cli
from oversight.intervene.service import gather_evidence
from oversight.mine.miner import mine
from oversight.refine.export import ExportFilters, export_rows
from oversight.review import qualify
from oversight.schemas import FailureNote, GoldAnswer, Refinement
from oversight.store import ExportSelection, Store
from tests.refine._export_data import mine as seed_run
from tests.refine._export_data import seed


def miss_planted(store: Store, reviewer: str, n: int = 12) -> None:
    """The reviewer misses every planted error of n gold items: catch rate's 95% upper bound under 0.25."""
    for k in range(n):
        refinement = Refinement(task_id=f"t_copy_{reviewer}_{k}", draft_id="dx", decision="accept", reviewer=reviewer)
        store.save_gold_answer(GoldAnswer(gold_id=f"g{k}", task_id=refinement.task_id, reviewer=reviewer,
                                          kind="planted", refinement=refinement, caught=False))


def test_the_stages_inputs_leave_out_a_trainer_below_the_bar(store: Store) -> None:
    ids = seed(store)  # ann and bo refine; a simulated reviewer; cy answers a calibration item
    seed_run(store, ids)  # notes n1 (bo's edit), n2 (ann's reject), n3 (ann's rewrite)
    store.save_notes([FailureNote(id="n_file", text="From a file.", source="import")])
    everything = ({n.id for n in store.notes()}, {r.id for r in store.refinements()})
    miss_planted(store, "bo")
    trusted = qualify.trusted_reviewers(store)
    assert trusted is not None and "bo" not in trusted and {"ann", "sim-catches", "cy"} <= trusted
    assert {n.id for n in store.notes(reviewers=trusted)} == {"n2", "n3", "n_file"}  # an imported note stays
    assert {r.reviewer for r in store.refinements(reviewers=trusted)} == {"ann", "sim-catches"}
    assert ({n.id for n in store.notes(reviewers=None)}, {r.id for r in store.refinements()}) == everything

    [p1] = [p for p in store.patterns() if p.id == "p1"]
    notes, examples = gather_evidence(store, p1, reviewers=trusted)
    assert [n.id for n in notes] == ["n2"] and [r.reviewer for _, _, r in examples] == ["ann"]
    assert len(gather_evidence(store, p1)[0]) == 2

    rows = export_rows(store, ExportFilters(ExportSelection(trusted=frozenset(trusted)), include_calibration=True))
    assert {r["reviewer"] for r in rows} == {"ann", "sim-catches", "cy"}
    assert {r["task_id"] for r in export_rows(store)} - {r["task_id"] for r in rows} == {"t_edit", "t_rejt"}
    assert export_rows(store, ExportFilters(ExportSelection(trusted=frozenset()))) == []  # nobody trusted: nothing
    assert store.count_refinements(ExportSelection(trusted=frozenset(trusted))) == len(rows) - 1  # less cy's answer


class HashEmbedder:
    """Words hashed into 64 dimensions: vectors without a model (what is tested is which notes are read)."""

    name = "test/hashed-words"

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


async def test_mining_clusters_only_trusted_trainers_notes(tmp_store: Store) -> None:
    seed(tmp_store)
    miss_planted(tmp_store, "bo")
    trusted = qualify.trusted_reviewers(tmp_store)
    result = await mine(tmp_store, names="keywords", embedder=HashEmbedder(), reviewers=trusted)
    notes = {n.id: n for n in tmp_store.notes()}
    by_refinement = {r.id: r.reviewer for r in tmp_store.refinements()}
    clustered = {i for p in result.patterns for i in p.member_ids} | {n.id for n in result.noise}
    made_by_bo = {n.id for n in notes.values() if by_refinement.get(n.refinement_id or "") == "bo"}
    assert made_by_bo and clustered and not clustered & made_by_bo  # bo's refinements have notes, none mined
    assert result.run.notes == len(notes) - len(made_by_bo)
    everyone = await mine(tmp_store, names="keywords", embedder=HashEmbedder())
    assert everyone.run.notes == len(notes)


def _project_where_bo_misses_the_planted_errors() -> CliRunner:
    """A project in the working folder (``oversight init``), seeded, with bo below the bar."""
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    with Store.open("oversight.db") as store:
        seed(store)
        miss_planted(store, "bo")
    return runner


def test_export_trust_qualified_on_the_command_line(tmp_path: Path) -> None:
    runner = _project_where_bo_misses_the_planted_errors()

    def exported(*options: str) -> list[dict[str, Any]]:
        result = runner.invoke(cli, ["export", *options], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    assert {r["reviewer"] for r in exported()} == {"ann", "bo", "sim-catches"}  # --trust all is the default
    result = runner.invoke(cli, ["export", "--trust", "qualified", "--as", "sft", "-o", "train"])
    assert result.exit_code == 0, result.output
    assert "trusted reviewer(s) only" in result.stderr
    assert "qualified trainers only" in Path("train/README.md").read_text(encoding="utf-8")
    assert {r["reviewer"] for r in exported("--trust", "qualified")} == {"ann", "sim-catches"}


def test_audit_of_refinements_trusts_only_the_qualified_when_asked(tmp_path: Path) -> None:
    runner = _project_where_bo_misses_the_planted_errors()

    def raters(*options: str) -> set[str]:
        result = runner.invoke(cli, ["audit", "refinements", "--json", "--no-report", *options],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return set(json.loads(result.stdout)["annotators"])

    assert "bo" in raters()
    assert raters("--trust", "qualified") == raters() - {"bo"}


async def test_the_report_says_how_many_notes_came_from_trainers_below_the_bar(tmp_store: Store) -> None:
    from oversight.leads import report_text

    seed(tmp_store)
    await mine(tmp_store, names="keywords", embedder=HashEmbedder())
    assert json.loads(report_text(tmp_store, "json"))["run"]["notes_below_bar"] is None  # nobody measured yet
    assert "below the bar" not in report_text(tmp_store, "md", audit=False)
    miss_planted(tmp_store, "bo")
    by_refinement = {r.id: r.reviewer for r in tmp_store.refinements()}
    run = json.loads(report_text(tmp_store, "json"))["run"]
    from_bo = sum(1 for n in tmp_store.notes() if by_refinement.get(n.refinement_id or "") == "bo")
    assert run["notes_below_bar"] == from_bo > 0
    line = f"{from_bo} of {run['notes']} notes came from 1 trainer(s) below the bar"
    assert line in report_text(tmp_store, "md", audit=False)
    assert line in report_text(tmp_store, "html", audit=False)


async def test_a_validation_re_drafts_and_calibrates_on_trusted_work_only(tmp_store: Store) -> None:
    from oversight.intervene.validate import plan_validation, run_validation
    from oversight.prompts import load_prompt
    from oversight.schemas import FewShot, Intervention, MiningRun, Pattern, PatternStats

    ids = seed(tmp_store)
    notes = [FailureNote(id=f"n_{task}", text="Wrong.", source="tag", refinement_id=ids[task], task_id=task)
             for task in ("t_edit", "t_rejt", "t_rej")]  # bo, bo, ann
    tmp_store.save_notes(notes)
    pattern = Pattern(id="p_wrong", name="wrong answers", member_ids=[n.id for n in notes],
                      stats=PatternStats(size=3, refinements=3, prevalence=0.4))
    tmp_store.save_run(MiningRun(id="run_t", embedding_model="e", names="keywords"), [pattern],
                       np.zeros((1, 3), dtype=np.float32), [[0.9, 0.9, 0.9]], [])
    item = Intervention(id="iv_t", pattern_id=pattern.id, kind="few_shot", title="t",
                        payload=FewShot(examples=[{"prompt": "q", "answer": "a"}]))
    tmp_store.save_interventions([item])
    tmp_store.decide_intervention(item.id, "accepted", "test")
    miss_planted(tmp_store, "bo")
    trusted = qualify.trusted_reviewers(tmp_store)

    everyone = plan_validation(tmp_store, item.id, judge=True)
    plan = plan_validation(tmp_store, item.id, judge=True, reviewers=trusted)
    assert [t.id for t in everyone.affected] == ["t_edit", "t_rej", "t_rejt"]
    assert [t.id for t in plan.affected] == ["t_rej"]

    class Unasked:  # too few labels to calibrate on: the judge is never asked, nothing is drafted
        model = "fake/judge"

    async def calibration(chosen: Any) -> Any:
        done = await run_validation(tmp_store, chosen, drafter=None, base_prompt=load_prompt("draft"),  # type: ignore[arg-type]
                                    judge=Unasked(), judge_prompt=load_prompt("judge_failure"))  # type: ignore[arg-type]
        return done.calibration.positives, done.calibration.negatives  # type: ignore[union-attr]

    # the labels: bo's two refinements (both with the failure) drop out; a skip is never a label
    assert await calibration(everyone) == (3, 4)
    assert await calibration(plan) == (1, 4)
