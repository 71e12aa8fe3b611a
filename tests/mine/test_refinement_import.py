"""`oversight refinements import`: real post-edits (FineGrainedRLHF qa-feedback) become refinements,
then edit notes; a re-import adds nothing; a bad file is one line naming file, line and field, and
leaves the store as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.errors import InputFileError
from oversight.mine.miner import collect_failure_notes
from oversight.refine.post_edits import import_refinements, load_refinement_file
from oversight.store import Store
from tests.mine.conftest import FIXTURES

EDITS_SLICE = FIXTURES / "finegrainedrlhf_edits" / "dev_edits.slice.jsonl"
FIELDS: dict[str, str] = {"draft_field": "prediction", "refined_field": "corrected", "id_field": "id",
                          "source_field": "id", "tags_field": "error_types", "prompt_field": "question"}
# edit notes per row, read from the word diffs with no model (at most 8 per refinement)
EDIT_NOTES = {"dev-000": 3, "dev-001": 3, "dev-002": 3, "dev-003": 3, "dev-022": 1, "dev-031": 2}
TABLES = ("tasks", "task_states", "drafts", "refinements")


def counts(store: Store) -> dict[str, int]:
    return {table: store.count(table) for table in TABLES}


def slice_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EDITS_SLICE.read_text(encoding="utf-8").splitlines()]


async def test_real_post_edits_become_edit_notes_once(store_url: str) -> None:
    items = load_refinement_file(EDITS_SLICE, **FIELDS)
    assert len(items) == 30 and {i.refinement.decision for i in items} == {"edit"}
    with Store.open(store_url) as store:
        assert import_refinements(store, items, source_file=EDITS_SLICE) == (30, 0)
        assert counts(store) == dict.fromkeys(TABLES, 30)
        assert {s.state for s in store.task_states()} == {"refined"}
        first = store.get_task("dev-000")
        assert first.prompt == "When does bloom by troye sivan come out?"
        assert first.metadata["source_item"] == "dev-000" and first.metadata["import_source"] == EDITS_SLICE.name
        draft = store.get_draft(items[0].draft.id)
        assert draft is not None and (draft.model, draft.prompt_name, draft.prompt_version) == ("import",) * 3

        assert await collect_failure_notes(store) == 110
        notes = store.notes()
        by_source = Counter(n.source for n in notes)
        assert by_source == {"edit": 70, "tag": 40}
        task_of = {r.id: r.task_id for r in store.refinements()}
        edits = Counter(task_of[n.refinement_id] for n in notes if n.source == "edit")
        assert len(edits) == 30  # every refinement gives edit notes
        assert {k: edits[k] for k in EDIT_NOTES} == EDIT_NOTES
        tags = {n.text for n in notes if n.source == "tag"}
        assert {"irrelevant", "wrong grounding"} <= tags

        again = load_refinement_file(EDITS_SLICE, **FIELDS)
        assert import_refinements(store, again, source_file=EDITS_SLICE) == (0, 30)
        assert counts(store) == dict.fromkeys(TABLES, 30)
        assert await collect_failure_notes(store) == 0


def test_without_ids_rows_are_known_by_content(tmp_path: Path) -> None:
    path = tmp_path / "edits.jsonl"
    rows = [{"out": r["prediction"], "fixed": r["corrected"]} for r in slice_rows()[:5]]
    rows.append({"out": "Paris is the capital of France.", "fixed": "Paris is the capital of France. "})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Store.open(tmp_path / "s.db") as store:
        items = load_refinement_file(path, draft_field="out", refined_field="fixed")
        assert import_refinements(store, items, source_file=path) == (6, 0)
        assert import_refinements(store, load_refinement_file(path, draft_field="out", refined_field="fixed"),
                                  source_file=path) == (0, 6)
        assert items[-1].refinement.decision == "accept"  # only whitespace differs
        assert {t.prompt for t in store.tasks()} == {"(imported: edits.jsonl)"}
        assert store.count("tasks") == 6


def test_csv_tags_rationale_and_reviewer(tmp_path: Path) -> None:
    path = tmp_path / "edits.csv"
    path.write_text('id,item,out,fixed,tags,why,who\n'
                    '1,q1,The sky is green.,The sky is blue.,"factual error, colour",Wrong colour.,ana\n'
                    '2,q1,The sky is green today.,The sky is blue today.,,,\n', encoding="utf-8")
    items = load_refinement_file(path, draft_field="out", refined_field="fixed", id_field="id", source_field="item",
                                 tags_field="tags", rationale_field="why", reviewer_field="who")
    first, second = (i.refinement for i in items)
    assert first.tags == ["factual-error", "colour"] and first.rationale == "Wrong colour." and first.reviewer == "ana"
    assert second.tags == [] and second.reviewer == "anonymous"
    with Store.open(tmp_path / "s.db") as store:
        assert import_refinements(store, items, source_file=path) == (2, 0)
        assert store.count("tasks") == 1 and store.count("drafts") == 2  # two outputs for one source item


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def good(i: int) -> dict[str, Any]:
    return {"id": f"r{i}", "item": f"q{i}", "out": f"Draft number {i} says one thing.",
            "fixed": f"Draft number {i} says another thing."}


BAD_FILES = [
    ("draft missing on line 3", [good(1), good(2), {"id": "r3", "item": "q3", "fixed": "x"}],
     "{path}:3: field 'out': is missing"),
    ("refined missing on line 2 of 3", [good(1), {k: v for k, v in good(2).items() if k != "fixed"}, good(3)],
     "{path}:2: field 'fixed': is missing"),
    ("refined not text", [good(1), {**good(2), "fixed": ["a", "list"]}], "{path}:2: field 'fixed': must be text, got list"),
    ("empty draft", [good(1), {**good(2), "out": "  "}], "{path}:2: field 'out': is blank"),
    ("source missing on some lines", [good(1), good(2), {k: v for k, v in good(3).items() if k != "item"}],
     "{path}:3: field 'item': is missing"),
    ("duplicate id", [good(1), good(2), {**good(3), "id": "r1"}], "{path}:3: field 'id': id 'r1' repeats line 1"),
    ("tags not a list of text", [{**good(1), "tags": {"a": 1}}], "{path}:1: field 'tags': must be text or a list of "
                                                                "text, got dict"),
    ("no such field", [{k: v for k, v in good(1).items() if k != "fixed"}], "{path}:1: field 'fixed': no such field "
                                                                             "in the file"),
]


@pytest.mark.parametrize(("rows", "message"), [pytest.param(r, m, id=name) for name, r, m in BAD_FILES])
def test_bad_file_is_one_line_and_changes_nothing(store_url: str, tmp_path: Path, rows, message) -> None:
    bad = write(tmp_path / "bad.jsonl", rows)
    with Store.open(store_url) as store:
        import_refinements(store, load_refinement_file(EDITS_SLICE, **FIELDS)[:3], source_file=EDITS_SLICE)
        before = counts(store)
        fields = {"draft_field": "out", "refined_field": "fixed", "id_field": "id", "source_field": "item"}
        if "tags" in rows[0]:
            fields["tags_field"] = "tags"
        with pytest.raises(InputFileError) as caught:
            load_refinement_file(bad, **fields)
        assert str(caught.value) == message.format(path=bad) and "\n" not in str(caught.value)

        result = CliRunner().invoke(cli, ["--db", store_url, "refinements", "import", str(bad),
                                          *[a for k, v in fields.items() for a in (f"--{k.replace('_', '-')}", v)]])
        assert result.exit_code == 1 and message.format(path=bad) in result.stderr
        assert counts(store) == before == dict.fromkeys(TABLES, 3)


def test_cli_prints_counts_and_json(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "o.db")]
    args = ["refinements", "import", str(EDITS_SLICE), "--draft-field", "prediction", "--refined-field", "corrected",
            "--id-field", "id", "--tags-field", "error_types", "--prompt-field", "question"]
    first = CliRunner().invoke(cli, [*db, *args])
    assert first.exit_code == 0, first.output
    assert first.stdout == f"imported 30 refinement(s) from {EDITS_SLICE} (0 already present)\n"
    again = CliRunner().invoke(cli, [*db, *args, "--json"])
    assert json.loads(again.stdout) == {"file": str(EDITS_SLICE), "added": 0, "already_present": 30}


def test_an_import_that_fails_half_way_writes_nothing(store_url: str, tmp_path: Path, monkeypatch) -> None:
    from oversight.errors import StoreError
    from oversight.store._refine import RefineRecords

    items = load_refinement_file(write(tmp_path / "ok.jsonl", [good(i) for i in range(1, 5)]), draft_field="out",
                                 refined_field="fixed", id_field="id", source_field="item")
    calls = {"n": 0}
    real = RefineRecords._set_state

    def dies_on_the_third(conn, task_id, state, **values):  # the database gives out mid-import
        calls["n"] += 1
        if calls["n"] == 3:
            raise StoreError("disk full")
        return real(conn, task_id, state, **values)

    with Store.open(store_url) as store:
        monkeypatch.setattr(RefineRecords, "_set_state", staticmethod(dies_on_the_third))
        with pytest.raises(StoreError, match="disk full"):
            import_refinements(store, items, source_file="ok.jsonl")
        assert counts(store) == dict.fromkeys(TABLES, 0)
        monkeypatch.setattr(RefineRecords, "_set_state", staticmethod(real))
        assert import_refinements(store, items, source_file="ok.jsonl") == (4, 0)
        assert {s.state for s in store.task_states()} == {"refined"}


async def test_patterns_of_plain_edits_are_named_by_their_shape(tmp_path: Path, embedder) -> None:
    """Without a model, a pattern of edits is named by what the edits did ("Removed a whole sentence
    at the end"), then maybe words they cut that set it apart, never words of one question alone."""
    from oversight.mine.miner import mine
    from oversight.mine.represent import single_subject_words

    with Store.open(tmp_path / "o.db") as store:
        import_refinements(store, load_refinement_file(EDITS_SLICE, **FIELDS), source_file=EDITS_SLICE)
        result = await mine(store, names="keywords", embedder=embedder)
        notes = store.notes()
        about_one = single_subject_words([n.text for n in notes], [n.subject for n in notes])
        edits = {n.id for n in notes if n.source == "edit"}
        mostly_edits = [p for p in result.patterns if len(edits & set(p.member_ids)) * 2 > p.size]
        assert mostly_edits
        for pattern in mostly_edits:
            assert pattern.name.split()[0] in {"Removed", "Added", "Replaced", "Changed", "Cut"}, pattern.name
            shape, _, words = pattern.name.partition(" — ")
            said = [n.text.split(":")[0] for n in notes if n.id in pattern.member_ids]
            head, *flags = shape.split(", ")
            assert any(s.startswith(head) for s in said) and all(any(f in s for s in said) for f in flags)
            assert not {w.strip("'") for w in words.split(", ") if w} & about_one, pattern.name


async def test_context_field_tells_edits_removing_unsupported_words(tmp_path: Path) -> None:
    """With the passage the answer should rest on, an edit note says the removed words were not in it."""
    path = write(tmp_path / "ctx.jsonl", [{
        "id": "a", "question": "When did Bloom come out?",
        "passage": "Bloom is the second studio album by Troye Sivan, released on 31 August 2018.",
        "prediction": "Bloom came out on 31 August 2018. Sivan toured Europe with a large orchestra afterwards.",
        "corrected": "Bloom came out on 31 August 2018.",
    }])
    with Store.open(tmp_path / "o.db") as store:
        items = load_refinement_file(path, draft_field="prediction", refined_field="corrected", id_field="id",
                                     prompt_field="question", context_field="passage")
        assert items[0].task.context.startswith("Bloom is the second studio album")
        import_refinements(store, items, source_file=path)
        await collect_failure_notes(store)
        assert [n.text for n in store.notes() if n.source == "edit"] == [
            'Removed a whole sentence at the end, not in the context, sharing no word with the prompt: '
            '"Sivan toured Europe with a large orchestra afterwards."']
    with pytest.raises(InputFileError) as caught:
        load_refinement_file(path, draft_field="prediction", refined_field="corrected", context_field="source")
    assert (caught.value.line, caught.value.field) == (1, "source")


def seed_awaiting_review(store: Store, task_id: str, prompt: str) -> None:
    """A task of the store's own queue, drafted and critiqued: awaiting review."""
    from oversight.schemas import Critique, Draft, Task

    store.add_tasks([Task(id=task_id, prompt=prompt)])
    draft = store.save_draft(Draft(id=f"d-{task_id}", task_id=task_id, model="m", prompt_name="draft",
                                   prompt_version="v1", text="The queue's own draft."))
    store.save_critique(Critique(id=f"c-{task_id}", draft_id=draft.id, task_id=task_id, model="m",
                                 prompt_name="critique", prompt_version="v1", findings=[], summary="ok"))


def test_a_source_id_naming_another_task_is_refused_and_changes_nothing(store_url: str, tmp_path: Path) -> None:
    bad = write(tmp_path / "edits.jsonl", [good(1), {**good(2), "item": "q-live"}, good(3)])
    fields = {"draft_field": "out", "refined_field": "fixed", "id_field": "id", "source_field": "item"}
    with Store.open(store_url) as store:
        seed_awaiting_review(store, "q-live", "What is the boiling point of water at sea level?")
        before = counts(store)
        with pytest.raises(InputFileError) as caught:
            import_refinements(store, load_refinement_file(bad, **fields), source_file=bad)
        message = str(caught.value)
        assert message.startswith(f"{bad}:2: field 'item': task 'q-live' is already in the store (awaiting_review)")
        assert "\n" not in message

        result = CliRunner().invoke(cli, ["--db", store_url, "refinements", "import", str(bad),
                                          *[a for k, v in fields.items() for a in (f"--{k.replace('_', '-')}", v)]])
        assert result.exit_code == 1 and f"{bad}:2: field 'item': task 'q-live'" in result.stderr
        assert counts(store) == before
        assert store.task_state("q-live").state == "awaiting_review"
        assert store.get_task("q-live").prompt == "What is the boiling point of water at sea level?"


def test_a_post_edit_of_the_same_task_is_kept_as_its_refinement(store_url: str, tmp_path: Path) -> None:
    prompt = "What is the boiling point of water at sea level?"
    path = write(tmp_path / "edits.jsonl", [{**good(1), "item": "q-live", "question": f"  {prompt}\n"}])
    fields = {"draft_field": "out", "refined_field": "fixed", "source_field": "item", "prompt_field": "question"}
    with Store.open(store_url) as store:
        seed_awaiting_review(store, "q-live", prompt)
        assert import_refinements(store, load_refinement_file(path, **fields), source_file=path) == (1, 0)
        assert store.task_state("q-live").state == "refined"
        assert [r.task_id for r in store.refinements()] == ["q-live"]
