"""Task files: good ones load, bad ones fail on one line naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.errors import InputFileError
from oversight.files import MAX_LINE_BYTES
from oversight.refine.tasks import load_tasks


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_loads_fields_and_keeps_extra_columns_as_metadata(tmp_path: Path) -> None:
    f = write(tmp_path / "t.jsonl", '{"id": "a", "prompt": "Q?", "domain": "geo", "source": "wiki"}\n\n{"prompt": "R?"}\n')
    tasks = load_tasks(f)
    assert tasks[0].id == "a"
    assert tasks[0].domain == "geo" and tasks[0].metadata == {"source": "wiki"}
    assert tasks[1].id.startswith("t_")  # derived from content: re-import finds the same id
    assert load_tasks(f)[1].id == tasks[1].id


def test_csv_loads_with_mapping(tmp_path: Path) -> None:
    f = write(tmp_path / "t.csv", 'qid,question,domain\n1,"What, exactly?",math\n2,"Two\nlines",\n')
    tasks = load_tasks(f, mapping={"prompt": "question", "id": "qid"})
    assert [(t.id, t.prompt, t.domain) for t in tasks] == [("1", "What, exactly?", "math"), ("2", "Two\nlines", None)]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.jsonl", '{"prompt": "ok"}\n{"prompt": "broken",\n', "bad.jsonl:2: not valid JSON"),
        ("missing.jsonl", '{"prompt": "ok"}\n{"id": "x", "domain": "d"}\n', "missing.jsonl:2: field 'prompt': required field is missing"),
        ("type.jsonl", '{"prompt": "ok"}\n{"prompt": ["a", "list"]}\n', "type.jsonl:2: field 'prompt': must be text, got list"),
        ("meta.jsonl", '{"prompt": "ok", "metadata": 3}\n', "meta.jsonl:1: field 'metadata': must be an object"),
        ("blank.jsonl", '{"prompt": "   "}\n', "blank.jsonl:1: field 'prompt': value error, must not be blank"),
        ("dup.jsonl", '{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', "dup.jsonl:2: field 'id': duplicate id 'a' (first on line 1)"),
        ("empty.jsonl", "", "empty.jsonl: the file holds no tasks"),
        ("array.jsonl", '["prompt"]\n', "array.jsonl:1: expected a JSON object, got list"),
        ("cols.csv", "prompt,domain\nhello,x,extra\n", "cols.csv:2: has 3 columns, the header has 2"),
        ("nocol.csv", "question\nhello\n", "nocol.csv:2: field 'prompt': required field is missing"),
        ("tasks.txt", "prompt\n", "tasks.txt: unknown file type '.txt'"),
    ],
)
def test_bad_files_name_file_line_and_field(tmp_path: Path, name: str, content: str, expected: str) -> None:
    f = write(tmp_path / name, content)
    with pytest.raises(InputFileError) as info:
        load_tasks(f)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / name))
    assert expected in message


def test_a_ten_megabyte_line_is_refused_without_echoing_it(tmp_path: Path) -> None:
    f = tmp_path / "huge.jsonl"
    f.write_text('{"prompt": "fine"}\n' + json.dumps({"prompt": "x" * 10_000_000}) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_tasks(f)
    assert info.value.line == 2
    assert f"the limit is {MAX_LINE_BYTES:,}" in str(info.value)
    assert len(str(info.value)) < 300


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "latin.jsonl"
    f.write_bytes(b'{"prompt": "ok"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(InputFileError, match=r"latin.jsonl:2: not UTF-8"):
        load_tasks(f)


@pytest.mark.parametrize("task_id", [".", ".."])
def test_an_id_of_dots_alone_is_refused_at_import(tmp_path: Path, task_id: str) -> None:
    f = write(tmp_path / "t.jsonl", '{"id": "ok", "prompt": "Q?"}\n' + json.dumps({"id": task_id, "prompt": "R?"}) + "\n")
    with pytest.raises(InputFileError, match=r"t.jsonl:2: field 'id': .*dots alone"):
        load_tasks(f)


def test_ids_with_slashes_hashes_and_unicode_are_kept_as_given(tmp_path: Path) -> None:
    odd = "dir/sub#frag?q=1 100% ../é"
    f = write(tmp_path / "t.jsonl", json.dumps({"id": odd, "prompt": "Q?"}) + "\n")
    assert [t.id for t in load_tasks(f)] == [odd]
