"""`oversight notes import`: JSONL or CSV, own ids kept, bad files named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oversight.cli import cli
from oversight.errors import InputFileError
from oversight.mine.note_files import load_note_file
from oversight.mine.notes import describe_edit
from oversight.schemas import DiffOp
from oversight.store import Store
from tests.mine.conftest import TOFU, TTCW


def test_jsonl_with_ids_and_meta(tmp_path: Path) -> None:
    notes = load_note_file(TTCW, text_field="explanation", id_field="id", meta_fields=["category"])
    assert len(notes) == 120 and notes[0].external_id and notes[0].display_id == notes[0].external_id
    assert notes[0].source == "import" and notes[0].metadata["category"]


def test_csv_meta_fields_fill_the_model_slice() -> None:
    notes = load_note_file(TOFU, text_field="exp", id_field="id", meta_fields=["type", "model"])
    assert notes[0].model and notes[0].metadata["type"]


def test_without_id_field_ids_come_from_file_and_line() -> None:
    a = load_note_file(TOFU, text_field="exp")
    b = load_note_file(TOFU, text_field="exp")
    assert [n.id for n in a] == [n.id for n in b] and a[0].external_id is None


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((json.dumps(r) if not isinstance(r, str) else r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "line", "field", "words"),
    [
        ([{"id": "a", "t": "fine"}, {"id": "b"}], 2, "t", "missing"),
        ([{"id": "a", "t": "fine"}, {"id": "b", "t": "   "}], 2, "t", "blank"),
        ([{"id": "a", "t": "fine"}, {"id": "b", "t": 3}], 2, "t", "must be text"),
        ([{"id": "a", "t": "fine"}, {"id": "a", "t": "again"}], 2, "id", "repeats line 1"),
        ([{"id": "a", "t": "fine"}, {"id": None, "t": "x"}], 2, "id", "must be text"),
        ([{"id": "a", "t": "fine"}, "{not json"], 2, None, "not valid JSON"),
        ([{"id": "a", "t": "fine"}, "[1, 2]"], 2, None, "expected a JSON object"),
        ([{"id": "a", "x": "fine"}], 1, "t", "no such field"),
    ],
)
def test_bad_jsonl_names_file_line_and_field(tmp_path: Path, rows, line, field, words) -> None:
    path = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputFileError) as caught:
        load_note_file(path, text_field="t", id_field="id")
    assert (caught.value.line, caught.value.field) == (line, field)
    assert words in str(caught.value) and "bad.jsonl" in str(caught.value)


def test_bad_csv_and_bad_files(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,t\na,fine\nb,x,extra\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"ragged.csv:3: has 3 columns"):
        load_note_file(ragged, text_field="t")
    other = tmp_path / "notes.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(InputFileError, match="unknown file type"):
        load_note_file(other, text_field="t")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no rows"):
        load_note_file(empty, text_field="t")
    with pytest.raises(InputFileError, match="no such file"):
        load_note_file(tmp_path / "missing.csv", text_field="t")


def test_cli_import_is_all_or_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "o.db")
    bad = write(tmp_path / "bad.jsonl", [{"id": "a", "t": "fine"}, {"id": "b", "t": ""}])
    result = runner.invoke(cli, ["--db", db, "notes", "import", str(bad), "--text-field", "t", "--id-field", "id"])
    assert result.exit_code == 1 and "bad.jsonl:2: field 't': is blank" in result.output
    with Store.open(db) as store:
        assert store.notes() == []
    result = runner.invoke(cli, ["--db", db, "notes", "import", str(TOFU), "--text-field", "exp", "--id-field", "id",
                                 "--meta-field", "type", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"file": str(TOFU), "added": 79, "already_present": 0}
    again = runner.invoke(cli, ["--db", db, "notes", "import", str(TOFU), "--text-field", "exp", "--id-field", "id"])
    assert "imported 0 notes" in again.output and "79 already present" in again.output


def test_severity_and_time_from_meta_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "n.jsonl", [{"t": "late answer", "severity": "high", "created_at": "2026-01-05"},
                                        {"t": "wrong name", "severity": None, "created_at": "2026-02-01T10:00:00+00:00"}])
    notes = load_note_file(path, text_field="t", meta_fields=["severity", "created_at"])
    assert notes[0].severity == "high" and notes[0].created_at.isoformat() == "2026-01-05T00:00:00+00:00"
    assert notes[1].severity is None and notes[1].created_at.month == 2
    bad = write(tmp_path / "b.jsonl", [{"t": "x", "severity": "huge", "created_at": "2026-01-05"}])
    with pytest.raises(InputFileError, match=r"b.jsonl:1: field 'severity'"):
        load_note_file(bad, text_field="t", meta_fields=["severity", "created_at"])
    bad = write(tmp_path / "c.jsonl", [{"t": "x", "created_at": "last tuesday"}])
    with pytest.raises(InputFileError, match=r"c.jsonl:1: field 'created_at': not an ISO"):
        load_note_file(bad, text_field="t", meta_fields=["created_at"])


# -- --source-field and --before-field/--after-field ---------------------------------------


def notes_cli(db: str, path: Path, *fields: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, "notes", "import", str(path), *fields])


def note_count(db: str) -> int:
    with Store.open(db) as store:
        return store.count("failure_notes")


def test_source_field_names_the_subject(tmp_path: Path) -> None:
    path = write(tmp_path / "n.jsonl", [{"t": "the ending is rushed", "story": "s-1"},
                                        {"t": "flat dialogue", "story": 42}])
    notes = load_note_file(path, text_field="t", source_field="story")
    assert [n.subject for n in notes] == ["s-1", "42"] and notes[1].metadata["subject"] == "42"
    assert all(n.source == "import" and n.task_id is None for n in notes)
    db = str(tmp_path / "o.db")
    result = notes_cli(db, path, "--text-field", "t", "--source-field", "story")
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        assert sorted(n.subject for n in store.notes()) == ["42", "s-1"]


@pytest.mark.parametrize(
    ("value", "words"),
    [(None, "is missing"), ("   ", "is blank"), ("null", "is blank"), (True, "must be text or a whole number"),
     (["a"], "must be text or a whole number")],
)
def test_source_field_bad_on_line_3_of_4_changes_nothing(tmp_path: Path, value, words) -> None:
    db = str(tmp_path / "o.db")
    fields = ["--text-field", "t", "--source-field", "story"]
    ok = write(tmp_path / "ok.jsonl", [{"t": f"note {i}", "story": f"s{i}"} for i in range(3)])
    assert notes_cli(db, ok, *fields).exit_code == 0
    rows: list[object] = [{"t": f"bad note {i}", "story": f"s{i}"} for i in range(4)]
    rows[2] = {"t": "bad note 2"} if value is None else {"t": "bad note 2", "story": None if value == "null" else value}
    bad = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputFileError) as caught:
        load_note_file(bad, text_field="t", source_field="story")
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(bad), 3, "story")
    assert str(caught.value).startswith(f"{bad}:3: field 'story': {words}")
    result = notes_cli(db, bad, *fields)
    assert result.exit_code == 1 and f"{bad}:3: field 'story': {words}" in result.stderr
    assert note_count(db) == 3


def test_source_field_not_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "n.jsonl", [{"t": "x", "item": "a"}])
    with pytest.raises(InputFileError, match=r"n.jsonl:1: field 'story': no such field in the file"):
        load_note_file(path, text_field="t", source_field="story")


EDIT_ROWS = [
    {"id": "e1", "story": "s1", "before": "the the cat", "after": "the cat"},
    {"id": "e2", "story": "s1", "before": "", "after": "a missing clause"},
    {"id": "e3", "story": "s2", "before": "an adverb, very needlessly,", "after": ""},
]


def test_before_and_after_make_edit_notes(tmp_path: Path) -> None:
    path = write(tmp_path / "edits.jsonl", EDIT_ROWS)
    notes = load_note_file(path, before_field="before", after_field="after", id_field="id", source_field="story")
    assert [n.source for n in notes] == ["edit"] * 3
    assert [n.metadata["edit"]["op"] for n in notes] == ["replace", "insert", "delete"]
    ops = [DiffOp(op="replace", before="the the cat", after="the cat"), DiffOp(op="insert", after="a missing clause"),
           DiffOp(op="delete", before="an adverb, very needlessly,")]
    assert [n.metadata["edit"] for n in notes] == [op.model_dump() for op in ops]
    assert [n.text for n in notes] == [describe_edit(op) for op in ops]
    assert [n.subject for n in notes] == ["s1", "s1", "s2"] and [n.external_id for n in notes] == ["e1", "e2", "e3"]


def test_edit_notes_with_a_text_field_keep_the_text(tmp_path: Path) -> None:
    rows = [{**row, "why": f"reason {i}"} for i, row in enumerate(EDIT_ROWS)]
    path = write(tmp_path / "edits.jsonl", rows)
    notes = load_note_file(path, text_field="why", before_field="before", after_field="after")
    assert [n.text for n in notes] == ["reason 0", "reason 1", "reason 2"]
    assert [n.source for n in notes] == ["edit"] * 3 and notes[2].metadata["edit"]["op"] == "delete"


def test_cli_imports_edits_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "edits.csv"
    path.write_text('story,before,after\ns1,"It was, like, good.",It was good.\ns2,,Then she left.\n',
                    encoding="utf-8")
    db = str(tmp_path / "o.db")
    result = notes_cli(db, path, "--before-field", "before", "--after-field", "after", "--source-field", "story",
                       "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"file": str(path), "added": 2, "already_present": 0}
    with Store.open(db) as store:
        notes = sorted(store.notes(), key=lambda n: n.metadata["line"])
    assert [(n.source, n.subject, n.metadata["edit"]["op"]) for n in notes] == [("edit", "s1", "replace"),
                                                                                ("edit", "s2", "insert")]
    assert notes[1].text == describe_edit(DiffOp(op="insert", after="Then she left."))
    again = notes_cli(db, path, "--before-field", "before", "--after-field", "after", "--source-field", "story")
    assert "imported 0 notes" in again.output and "2 already present" in again.output


@pytest.mark.parametrize(
    ("bad_row", "field", "words"),
    [
        ({"id": "e9", "story": "s9", "after": "x"}, "before", "is missing"),
        ({"id": "e9", "story": "s9", "before": "x"}, "after", "is missing"),
        ({"id": "e9", "story": "s9", "before": 3, "after": "x"}, "before", "must be text, got int"),
        ({"id": "e9", "story": "s9", "before": "x", "after": ["y"]}, "after", "must be text, got list"),
        ({"id": "e9", "story": "s9", "before": " ", "after": ""}, "before", "both before and after are blank"),
        ({"id": "e9", "story": "s9", "before": None, "after": None}, "before", "both before and after are blank"),
        ({"id": "e9", "before": "x", "after": "y"}, "story", "is missing"),
    ],
)
def test_bad_edit_row_names_file_line_and_field_and_changes_nothing(tmp_path: Path, bad_row, field, words) -> None:
    db = str(tmp_path / "o.db")
    fields = ["--before-field", "before", "--after-field", "after", "--id-field", "id", "--source-field", "story"]
    ok = write(tmp_path / "ok.jsonl", EDIT_ROWS)
    assert notes_cli(db, ok, *fields).exit_code == 0
    bad = write(tmp_path / "bad.jsonl", [{**EDIT_ROWS[0], "id": "b1"}, {**EDIT_ROWS[1], "id": "b2"}, bad_row,
                                         {**EDIT_ROWS[2], "id": "b4"}])
    with pytest.raises(InputFileError) as caught:
        load_note_file(bad, before_field="before", after_field="after", id_field="id", source_field="story")
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(bad), 3, field)
    assert str(caught.value) == f"{bad}:3: field '{field}': {words}"
    result = notes_cli(db, bad, *fields)
    assert result.exit_code == 1 and f"{bad}:3: field '{field}': {words}" in result.stderr
    assert note_count(db) == 3


def test_edit_fields_not_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "n.jsonl", [{"before": "x", "changed": "y"}])
    with pytest.raises(InputFileError, match=r"n.jsonl:1: field 'after': no such field in the file"):
        load_note_file(path, before_field="before", after_field="after")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--before-field", "before"], "--before-field needs --after-field"),
        (["--text-field", "t", "--after-field", "after"], "--after-field needs --before-field"),
        (["--id-field", "id"], "name the note text (--text-field) or the edit (--before-field and --after-field)"),
    ],
)
def test_cli_edit_fields_come_in_pairs(tmp_path: Path, args, words) -> None:
    db = str(tmp_path / "o.db")
    path = write(tmp_path / "edits.jsonl", EDIT_ROWS)
    result = notes_cli(db, path, *args)
    assert result.exit_code == 2 and "Usage:" in result.stderr and words in result.stderr
    assert not Path(db).exists() or note_count(db) == 0


def test_api_edit_fields_come_in_pairs(tmp_path: Path) -> None:
    path = write(tmp_path / "edits.jsonl", EDIT_ROWS)
    with pytest.raises(ValueError, match="before_field needs after_field"):
        load_note_file(path, before_field="before")
    with pytest.raises(ValueError, match="after_field needs before_field"):
        load_note_file(path, text_field="t", after_field="after")
    with pytest.raises(ValueError, match="text_field"):
        load_note_file(path)
