"""Tasks that come with their drafts (a draft column, or chat lines): each draft kept with its model,
file and line; a re-import adds nothing; a bad line is one error naming file, line and field, and
nothing is written (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.errors import InputFileError
from oversight.refine.tasks import read_tasks
from oversight.schemas import ImportOrigin
from oversight.store import Store

TABLES = ("tasks", "task_states", "drafts", "critiques")
CONVERSATION = [
    {"role": "system", "content": "You answer in one sentence."},
    {"role": "user", "content": "Who wrote Hamlet?"},
    {"role": "assistant", "content": "William Shakespeare."},
    {"role": "user", "content": "When?"},
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def counts(store: Store) -> dict[str, int]:
    return {table: store.count(table) for table in TABLES}


def add(store: Store, path: Path, **options: Any) -> tuple[int, int]:
    return store.add_imported_tasks([(r.task, r.draft) for r in read_tasks(path, **options)], source=str(path))


def test_a_draft_field_brings_each_draft_with_its_model_file_and_line(store: Store, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "outputs.jsonl", [
        {"id": "q1", "prompt": "Capital of France?", "output": "Paris.", "served_by": "gpt-4o-mini", "user": "u7"},
        {"prompt": "Capital of Chad?", "output": "Lagos.", "served_by": "llama-3-8b"},
        {"prompt": "Capital of Chad?", "output": "N'Djamena.", "served_by": "llama-3-8b"},
    ])
    rows = list(read_tasks(f, draft_field="output", model_field="served_by"))
    assert add(store, f, draft_field="output", model_field="served_by") == (3, 0)

    assert store.get_task("q1").metadata == {"user": "u7"}  # the draft and its model are not the task's metadata
    state = store.task_state("q1")
    assert (state.state, state["draft_id"], state["critique_id"]) == ("pending", rows[0].draft.id, None)
    draft = store.get_draft(state["draft_id"])
    assert draft is not None
    assert (draft.task_id, draft.text, draft.model, draft.prompt_name, draft.prompt_version) == (
        "q1", "Paris.", "gpt-4o-mini", "import", "import")
    assert draft.imported_from == ImportOrigin(file=str(f), line=1, critique=True)
    # one prompt answered twice is two items to review, each with its own draft
    assert rows[1].task.id != rows[2].task.id and rows[1].task.prompt == rows[2].task.prompt
    assert [store.get_draft(r.draft.id).imported_from.line for r in rows[1:]] == [2, 3]  # type: ignore[union-attr]

    assert add(store, f, draft_field="output", model_field="served_by") == (0, 3)  # nothing twice
    assert counts(store) == {"tasks": 3, "task_states": 3, "drafts": 3, "critiques": 0}


def test_chat_lines_a_system_turn_and_several_turns_make_the_task(store: Store, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "chat.jsonl", [
        {"messages": [*CONVERSATION, {"role": "assistant", "content": "Around 1600."}], "model": "gpt-4o"},
        {"messages": [{"role": "user", "content": "Capital of Chad?"},
                      {"role": "assistant", "content": [{"type": "text", "text": "N'Djamena"},
                                                        {"type": "text", "text": "."}]}], "model": "gpt-4o"},
    ])
    first, second = read_tasks(f, model_field="model")
    assert first.task.prompt == ("System: You answer in one sentence.\n\nUser: Who wrote Hamlet?\n\n"
                                 "Assistant: William Shakespeare.\n\nUser: When?")
    assert first.task.metadata == {"messages": CONVERSATION}  # the turns before the draft, as the file gave them
    assert first.draft is not None and (first.draft.text, first.draft.model) == ("Around 1600.", "gpt-4o")
    assert second.task.prompt == "Capital of Chad?"  # a lone user turn is the prompt as it is
    assert second.draft is not None and second.draft.text == "N'Djamena."

    assert add(store, f, model_field="model") == (2, 0)
    assert {s.task_id: (s.state, s["draft_id"]) for s in store.task_states()} == {
        first.task.id: ("pending", first.draft.id), second.task.id: ("pending", second.draft.id)}
    assert store.get_task(first.task.id).metadata["messages"] == CONVERSATION
    assert add(store, f, model_field="model") == (0, 2)


def test_chat_lines_with_a_draft_field_are_all_task(tmp_path: Path) -> None:
    """Logs that keep the request's messages and the answer apart: every message is the task."""
    f = write_jsonl(tmp_path / "logs.jsonl", [{"messages": CONVERSATION, "response": "Around 1600."}])
    (row,) = read_tasks(f, draft_field="response")
    assert row.task.prompt.endswith("User: When?") and row.task.metadata == {"messages": CONVERSATION}
    assert row.draft is not None and row.draft.text == "Around 1600."


def test_no_critique_drafts_await_review_at_once(store: Store, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "chat.jsonl", [{"messages": [*CONVERSATION, {"role": "assistant", "content": "1600."}]}])
    (row,) = read_tasks(f, critique=False)
    assert add(store, f, critique=False) == (1, 0)
    state = store.task_state(row.task.id)
    assert (state.state, state["draft_id"], state["thread_id"]) == (
        "awaiting_review", row.draft.id, f"{row.task.id}::import")  # type: ignore[union-attr]
    assert store.get_draft(row.draft.id).imported_from.critique is False  # type: ignore[union-attr]


BAD_CHAT = [
    ([{"role": "user", "content": "Hi"}],
     "field 'messages': the last message must be an assistant turn (the draft to review), not a user turn"),
    ([{"role": "system", "content": "Be brief."}, {"role": "assistant", "content": "Hello."}],
     "field 'messages': no user turn before the draft"),
    ([{"role": "bot", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
     "field 'messages[0].role': must be one of system, developer, user, assistant, tool, got 'bot'"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
      {"role": "assistant", "content": "A cat."}],
     "field 'messages[0].content': must be text or a list of text parts"),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  "}],
     "field 'messages[1].content': is blank"),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None, "tool_calls": []}],
     "field 'messages[1].content': must be text or a list of text parts, got nothing"),
    ("hello", "field 'messages': must be a list of messages"),
]


@pytest.mark.parametrize(("messages", "expected"), BAD_CHAT)
def test_a_bad_chat_line_is_one_error_and_nothing_is_written(store_url: str, tmp_path: Path, messages: Any,
                                                              expected: str) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": "a", "prompt": "A?"}])
    assert CliRunner().invoke(cli, ["--db", store_url, "tasks", "import", str(good)]).exit_code == 0
    bad = write_jsonl(tmp_path / "chat.jsonl", [
        {"messages": [{"role": "user", "content": "Fine?"}, {"role": "assistant", "content": "Yes."}]},
        {"messages": messages},
    ])
    result = CliRunner().invoke(cli, ["--db", store_url, "tasks", "import", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"Error: {bad}:2: {expected}"), result.stderr
    assert "\n" not in result.stderr.strip()
    with Store.open(store_url) as store:
        assert counts(store) == {"tasks": 1, "task_states": 1, "drafts": 0, "critiques": 0}


@pytest.mark.parametrize(("rows", "options", "expected"), [
    ([{"prompt": "A?", "output": "a"}, {"prompt": "B?"}], {"draft_field": "output"}, ":2: field 'output': is missing"),
    ([{"prompt": "A?", "answer": "a"}], {"draft_field": "output"}, ":1: field 'output': no such field in the file"),
    ([{"prompt": "A?", "output": ""}], {"draft_field": "output"}, ":1: field 'output': is blank"),
    ([{"prompt": "A?", "output": "a"}], {"draft_field": "output", "model_field": "model"},
     ":1: field 'model': is missing"),
    ([{"prompt": "A?", "output": "a", "model": "m" * 301}], {"draft_field": "output", "model_field": "model"},
     ":1: field 'model': at most 300 characters"),
    ([{"prompt": "A?", "output": "a"}, {"prompt": "A?", "output": "a"}], {"draft_field": "output"},
     ":2: field 'id': duplicate id"),
    ([{"prompt": "A?"}], {"critique": False}, ": no line holds a draft"),
])
def test_a_bad_draft_column_names_file_line_and_field(tmp_path: Path, rows: list[Any], options: dict[str, Any],
                                                      expected: str) -> None:
    f = write_jsonl(tmp_path / "outputs.jsonl", rows)
    with pytest.raises(InputFileError) as info:
        list(read_tasks(f, **options))
    assert str(info.value).startswith(f"{f}{expected}"), str(info.value)


def test_the_cli_imports_drafts_and_says_what_comes_next(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "outputs.jsonl", [{"prompt": "A?", "output": "a", "model": "m1"}, {"prompt": "B?"}])
    result = CliRunner().invoke(cli, ["tasks", "import", str(f), "--draft-field", "output", "--json"])
    assert result.exit_code == 1 and "outputs.jsonl:2: field 'output': is missing" in result.stderr
    f = write_jsonl(tmp_path / "outputs.jsonl", [{"prompt": "A?", "output": "a", "model": "m1"},
                                                 {"prompt": "B?", "output": "b", "model": "m2"}])
    args = ["tasks", "import", str(f), "--draft-field", "output", "--model-field", "model"]
    result = CliRunner().invoke(cli, args)
    assert result.stdout == f"imported 2 task(s) with their drafts from {f}\n"
    assert "next: oversight draft   (critiques the imported drafts" in result.stderr
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert json.loads(result.stdout) == {"file": str(f), "read": 2, "drafts": 2, "added": 0, "already_present": 2}
    g = write_jsonl(tmp_path / "more.jsonl", [  # a file may mix chat lines (with drafts) and tasks
        {"messages": [{"role": "user", "content": "C?"}, {"role": "assistant", "content": "c"}]}, {"prompt": "D?"}])
    result = CliRunner().invoke(cli, ["tasks", "import", str(g), "--no-critique"])
    assert result.stdout == f"imported 2 task(s) (1 with drafts) from {g}\n"
    assert "next: oversight review" in result.stderr


def test_a_bad_line_after_chunks_were_written_rolls_them_all_back(store_url: str, tmp_path: Path) -> None:
    """The import writes as it reads (memory stays flat), in one transaction: a bad line 1,201 undoes lines 1-1,200."""
    good = [{"id": f"q{i}", "prompt": f"Q{i}?", "output": f"A{i}."} for i in range(1200)]
    f = write_jsonl(tmp_path / "outputs.jsonl", [*good, {"id": "late", "prompt": "Late?"}])
    args = ["--db", store_url, "tasks", "import", str(f), "--draft-field", "output"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and f"{f}:1201: field 'output': is missing" in result.stderr
    if store_url.endswith(".db"):
        assert not Path(store_url).exists()  # it found no database: it leaves none behind
    else:
        with Store.open(store_url) as store:
            assert counts(store) == dict.fromkeys(TABLES, 0)
    write_jsonl(f, good)
    assert CliRunner().invoke(cli, args).exit_code == 0
    with Store.open(store_url) as store:
        assert counts(store) == {"tasks": 1200, "task_states": 1200, "drafts": 1200, "critiques": 0}
