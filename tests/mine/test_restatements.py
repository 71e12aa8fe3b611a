"""A tag and the rationale sentence that restates it, of one refinement, are one failure counted once."""

from __future__ import annotations

from oversight.refine.answers import RefinementInput, build_refinement
from oversight.schemas import Draft, FailureNote, Task
from tests.mine.conftest import seed_refinements


def _note(i: int, source: str, text: str, refinement: str) -> FailureNote:
    return FailureNote(id=f"n{i}", text=text, source=source, refinement_id=refinement, task_id=f"t-{refinement}")


def test_a_rationale_sentence_restating_a_tag_of_its_refinement_is_found() -> None:
    from oversight.mine.stats import restatements

    notes = [
        _note(0, "tag", "ignores one word instruction", "r1"),
        _note(1, "tag", "irrelevant", "r1"),
        _note(2, "rationale", "Asked for one word; the draft answered with a sentence.", "r1"),  # two shared words
        _note(3, "rationale", 'Irrelevant: "one word instruction in the quote does not count"', "r1"),
        _note(4, "tag", "missing info", "r2"),
        _note(5, "rationale", "Missing information (Missing-Major-Auxiliary).", "r2"),  # info, information
        _note(6, "rationale", "Asked for one word; the draft answered with a sentence.", "r2"),  # r2 has no such tag
        _note(7, "finding", "The answer ignores the one word instruction.", "r1"),
        _note(8, "rationale", "The draft is fine otherwise.", "r1"),
    ]
    assert restatements(notes) == {2: 0, 3: 1, 5: 4, 7: 0}


def test_joining_follows_the_tag_and_a_pattern_left_too_small_becomes_noise() -> None:
    """A statement joins its tag's pattern; a tag left as noise joins its statement's; a pattern that
    the moves leave below the smallest size dissolves; the others keep their centroids and themes."""
    import numpy as np

    from oversight.mine.cluster import Clustering
    from oversight.mine.stats import join_restatements

    notes = [
        _note(0, "tag", "ignores one word instruction", "r1"),
        _note(1, "rationale", "Asked for one word; the draft answered with a sentence.", "r1"),
        _note(2, "tag", "irrelevant", "r2"),
        _note(3, "rationale", 'Irrelevant: "the battle of Bull Run"', "r2"),
        *[_note(i, "import", f"other note {i}", f"x{i}") for i in range(4, 9)],
    ]
    vectors = np.eye(9, dtype=np.float32)
    centroids = np.eye(3, 9, dtype=np.float32)
    before = Clustering(np.array([0, 1, -1, 2, 0, 0, 1, 2, 2]), centroids, np.array([0, 1, 2]), {"min_size": 2})
    after = join_restatements(before, notes, vectors)
    assert after.labels.tolist() == [0, 0, 1, 1, 0, 0, -1, 1, 1]
    assert after.params["restatements_joined"] == 2 and after.themes.tolist() == [0, 1]
    assert np.allclose(after.centroids[0], vectors[[0, 1, 4, 5]].mean(axis=0) / np.linalg.norm(vectors[[0, 1, 4, 5]].mean(axis=0)))
    unchanged = Clustering(np.array([0, 0, -1, -1, 0, 1, 1, 1, 1]), centroids[:2], np.array([0, 1]), {})
    assert join_restatements(unchanged, notes, vectors).labels.tolist() == unchanged.labels.tolist()


def _capital_work(n: int) -> list[tuple[Task, Draft, object]]:
    """The demo's capital questions, refined as its trainer does: a tag and a sentence saying the same."""
    countries = ["France", "Peru", "Kenya", "Japan", "Chile", "Nepal", "Ghana", "Spain", "Cuba", "Laos", "Mali", "Oman"]
    work = []
    for country in countries[:n]:
        task = Task(id=f"capital-{country.lower()}", prompt=f"What is the capital of {country}? Answer with one word.",
                    domain="geography", kind="short-answer")
        draft = Draft(id=f"d-{country.lower()}", task_id=task.id, model="model-a", prompt_name="draft",
                      prompt_version="v1", text=f"The capital of {country} is a city with a long history.")
        answer = RefinementInput(decision="rewrite", refined_text="Capital", tags=["ignores-one-word-instruction"],
                                 rationale="Asked for one word; the draft answered with a sentence.")
        work.append((task, draft, build_refinement(answer, draft, None).model_copy(update={"reviewer": "trainer"})))
    return work


async def test_a_tag_and_the_rationale_restating_it_count_once(tmp_store, ttcw_rows, embedder) -> None:
    """The demo's cut put "ignores one word instruction" (the tag) and "Asked for one word; the draft
    answered with a sentence." (the rationale) in two patterns, each counting the same 12 refinements
    ("ignores word / instruction" and "answered / asked / word draft"): the run makes them one, named
    by the tag, whatever the clustering did."""
    from oversight.mine.cluster import clustering_from_labels
    from oversight.mine.miner import collect_failure_notes, finish_run
    from oversight.mine.represent import represent_notes

    seed_refinements(tmp_store, ttcw_rows[:20])
    tmp_store.add_finished_work(_capital_work(12))
    await collect_failure_notes(tmp_store)
    notes = tmp_store.notes()
    texts, vectors = await represent_notes(tmp_store, notes, embedder)
    apart = {"tag": 0, "rationale": 1}  # as the demo's cut had them
    labels = [apart[n.source] if n.task_id.startswith("capital-") and n.source in apart
              else 2 if n.source == "rationale" else -1 for n in notes]
    clustering = clustering_from_labels(vectors, labels, {"min_size": 3})
    result = await finish_run(tmp_store, notes, vectors, clustering, names="keywords", llm=None,
                              embedder_name=embedder.name, texts=texts)
    said = {n.id for n in notes if n.source in ("tag", "rationale") and n.task_id.startswith("capital-")}
    holding = [p for p in result.patterns if said & set(p.member_ids)]
    assert len(holding) == 1 and said <= set(holding[0].member_ids)
    assert holding[0].stats.refinements == 12 and holding[0].name == "ignores one word instruction"
    assert result.run.params["restatements_joined"] == 12 and result.run.patterns == 2
