"""`oversight notes import`: JSONL or CSV, own ids kept, bad files named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from oversight.cli import cli
from oversight.errors import InputFileError
from oversight.mine.notes import load_note_file
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
