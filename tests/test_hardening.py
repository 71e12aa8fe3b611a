"""Defects a hostile tester found: each bad input is one clear line and leaves the store as it was;
no silent surprises; no password and no raw terminal escape ever reaches the output."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from oversight.cli import cli
from oversight.errors import InputFileError
from oversight.store import Store

DEEP = "[" * 5000 + "]" * 5000
PASSWORD = "s3cretpw"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Invoke the CLI in-process; a traceback would surface as result.exception."""
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def one_line_error(result: Result) -> str:
    """The single stderr line of a failed command (and proof it was not a traceback)."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@contextmanager
def drafted_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An initialised project with the tasks of ``tasks.jsonl`` drafted by the stub server, whose
    critique is full of terminal escapes; yields the env that points at the stub."""
    from tests.support import stub_server
    from tests.support.stub_server import StubServer

    critique = {
        "findings": [{"quote": "", "issue": "Hidden \x1b[8mSECRET\x1b[0m issue \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
                      "severity": "low", "category": "incomplete"}],
        "summary": "A summary that clears the screen \x1b[2J\x1b[H and rings \x07.",
    }
    monkeypatch.setattr(stub_server, "CANNED_CRITIQUE", critique)
    if not Path("tasks.jsonl").exists():
        Path("tasks.jsonl").write_text(json.dumps({"id": "q", "prompt": "What is 2 + 2?"}) + "\n")
    with StubServer() as stub:
        env = {"OVERSIGHT_MODEL": "openai/stub", "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_API_KEY": "k"}
        assert run("init").exit_code == 0
        assert run("tasks", "import", "tasks.jsonl").exit_code == 0
        assert "1 awaiting review" in run("draft", env=env).stdout
        yield env


# -- 1. a CSV row silently swallowed ------------------------------------------------


def test_csv_unterminated_quote_is_refused_naming_the_line_where_it_opens(tmp_path: Path) -> None:
    Path("x.csv").write_text('id,prompt\na,"unterminated\nb,c\n')
    line = one_line_error(run("tasks", "import", "x.csv"))
    assert line.startswith("Error: x.csv:2: ") and "quote" in line
    assert not Path("oversight.db").exists()


def test_csv_stray_quote_inside_a_field_is_refused(tmp_path: Path) -> None:
    from oversight.files import read_rows

    Path("y.csv").write_text('id,prompt\na,fine\nb,"quoted"tail\n')
    with pytest.raises(InputFileError, match=r"^y\.csv:3: not valid CSV"):
        list(read_rows("y.csv"))


def test_csv_quoted_newlines_still_read_and_count_lines(tmp_path: Path) -> None:
    from oversight.files import read_rows

    Path("z.csv").write_text('id,prompt\na,"two\nlines"\nb,"x"\n')
    assert list(read_rows("z.csv")) == [(2, {"id": "a", "prompt": "two\nlines"}), (4, {"id": "b", "prompt": "x"})]


# -- 2. tracebacks instead of one line ----------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["tasks", "import", "deep.jsonl"],
        ["notes", "import", "deep.jsonl", "--text-field", "prompt"],
        ["audit", "judgments", "deep.jsonl"],
    ],
)
def test_json_nested_five_thousand_deep_is_one_line(tmp_path: Path, command: list[str]) -> None:
    Path("deep.jsonl").write_text('{"id": "a", "prompt": "ok", "item": "i", "annotator": "x", "score": 1}\n'
                                  '{"id": "b", "prompt": ' + DEEP + "}\n")
    assert run("init").exit_code == 0
    before = Path("oversight.db").read_bytes()
    line = one_line_error(run(*command))
    assert "deep.jsonl:2" in line and "nested" in line
    assert Path("oversight.db").read_bytes() == before


def test_deep_json_in_a_csv_cell_is_one_line(tmp_path: Path) -> None:
    from oversight.audit.io import read_judgments
    from oversight.refine.tasks import load_tasks

    Path("t.csv").write_text(f'id,prompt,metadata\na,ok,"{DEEP}"\n')
    with pytest.raises(InputFileError, match=r"^t\.csv:2: field 'metadata': .*nested"):
        load_tasks("t.csv")
    Path("j.csv").write_text(f'id,item,annotator,score,metadata\na,i,x,1,"{DEEP}"\n')
    with pytest.raises(InputFileError, match=r"^j\.csv:2: field 'metadata': .*nested"):
        read_judgments("j.csv")


def _parquet_with_bad_text(path: str, column: str, others: dict[str, list[Any]], *, binary: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = pa.array([b"fine", b"\xff\xfebad"], pa.binary())
    values = raw if binary else raw.view(pa.string())  # a string column holding invalid UTF-8
    pq.write_table(pa.table({column: values, **others}), path)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "string"])
def test_parquet_undecodable_text_names_the_column(tmp_path: Path, binary: bool) -> None:
    from oversight.audit.io import read_judgments
    from oversight.mine.note_files import load_note_file

    _parquet_with_bad_text("j.parquet", "annotator", {"id": ["1", "2"], "item": ["i", "i"], "score": [1.0, 2.0]},
                           binary=binary)
    with pytest.raises(InputFileError, match=r"^j\.parquet:2: field 'annotator': not UTF-8 text"):
        read_judgments("j.parquet")
    _parquet_with_bad_text("n.parquet", "text", {"id": ["1", "2"]}, binary=binary)
    with pytest.raises(InputFileError, match=r"^n\.parquet:2: field 'text': not UTF-8 text"):
        load_note_file("n.parquet", text_field="text")
    line = one_line_error(run("notes", "import", "n.parquet", "--text-field", "text"))
    assert "field 'text'" in line


def test_parquet_binary_utf8_is_read_as_text(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from oversight.audit.io import read_judgments

    pq.write_table(pa.table({"id": pa.array([b"ok"], pa.binary()), "item": ["i"], "annotator": ["x"],
                             "score": [1.0]}), "j.parquet")
    [judgment] = read_judgments("j.parquet")
    assert judgment.id == "ok"  # not "b'ok'"


def test_export_to_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    line = one_line_error(run("export", "-o", str(tmp_path / "missing" / "dir" / "x.jsonl")))
    assert "does not exist" in line and "missing" in line


def test_report_to_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    line = one_line_error(run("report", "-o", str(tmp_path / "missing" / "dir" / "r.html")))
    assert "does not exist" in line and "missing" in line


NUL_FILES = {
    "tasks": ("t.jsonl", '{"id": "a", "prompt": "fine"}\n{"id": "b", "prompt": "nul \\u0000 here"}\n', 2, "prompt"),
    "tasks_csv": ("t.csv", "id,prompt\na,fine\nb\x00x,text\n", 3, "id"),
    "notes": ("n.jsonl", '{"id": "a", "t": "fine", "meta": "m"}\n{"id": "b", "t": "x", "meta": {"k": "\\u0000"}}\n', 2, "meta"),
    "judgments": ("j.jsonl", '{"id": "1", "item": "i", "annotator": "x", "score": 1}\n'
                  '{"id": "2", "item": "i\\u0000", "annotator": "y", "score": 2}\n', 2, "item"),
    "answers": ("a.jsonl", '{"task_id": "a", "decision": "accept"}\n'
                '{"task_id": "b", "decision": "reject", "rationale": "r\\u0000"}\n', 2, "rationale"),
}


@pytest.mark.parametrize("kind", list(NUL_FILES))
def test_nul_character_is_refused_by_the_reader(tmp_path: Path, kind: str) -> None:
    from oversight.audit.io import read_judgments
    from oversight.mine.note_files import load_note_file
    from oversight.refine.tasks import load_tasks
    from oversight.review.answers_file import read_answers

    name, text, line, field = NUL_FILES[kind]
    Path(name).write_text(text)
    readers = {
        "tasks": load_tasks,
        "tasks_csv": load_tasks,
        "notes": lambda p: load_note_file(p, text_field="t", id_field="id", meta_fields=["meta"]),
        "judgments": read_judgments,
        "answers": lambda p: read_answers(p, reviewer="me"),
    }
    with pytest.raises(InputFileError, match=rf"^{name.replace('.', '[.]')}:{line}: field '{field}': .*NUL"):
        readers[kind](name)


def test_nul_character_in_a_task_is_one_line_on_sqlite_and_postgresql(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url).close()
    Path("t.jsonl").write_text('{"id": "a", "prompt": "fine"}\n{"id": "b\\u0000", "prompt": "x"}\n')
    line = one_line_error(run("--db", store_url, "tasks", "import", "t.jsonl"))
    assert line == "Error: t.jsonl:2: field 'id': contains a NUL character (\\x00), which databases cannot store"
    with Store.open(store_url) as store:
        assert store.task_ids() == []


# -- 3. silent surprises ------------------------------------------------------------


def test_export_csv_is_real_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("answers.jsonl").write_text(json.dumps({"task_id": "q", "decision": "edit", "refined_text": "4, with\n\"care\"",
                                                 "tags": ["math", "tone"], "rationale": "why"}) + "\n")
    with drafted_project(monkeypatch):
        assert "recorded 1" in run("review", "--answers", "answers.jsonl").stdout
    result = run("export", "-o", "x.csv")
    assert result.exit_code == 0, result.output
    with open("x.csv", newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["task_id"] == "q" and row["decision"] == "edit" and row["refined_text"] == "4, with\n\"care\""
    assert json.loads(row["tags"]) == ["math", "tone"] and isinstance(json.loads(row["findings"]), list)
    assert row["confidence"] == ""  # None is an empty cell
    assert "csv" in run("export", "--help").stdout.lower()


def test_export_csv_of_nothing_is_a_header(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    assert run("export", "-o", "x.csv").exit_code == 0
    header = Path("x.csv").read_text(encoding="utf-8").splitlines()
    assert len(header) == 1 and header[0].startswith("refinement_id,task_id,")


@pytest.mark.parametrize(
    "command",
    [["status"], ["status", "--json"], ["tasks", "list"], ["export"], ["draft"], ["review"],
     ["review", "--reset", "q"]],
)
def test_a_missing_database_is_an_error_not_a_new_one(tmp_path: Path, command: list[str]) -> None:
    line = one_line_error(run("--db", "typo.db", *command))
    assert "no database at typo.db" in line
    assert not Path("typo.db").exists()


def test_tasks_import_may_create_the_database_and_says_so(tmp_path: Path) -> None:
    Path("t.jsonl").write_text('{"id": "a", "prompt": "A?"}\n')
    result = run("--db", "new.db", "tasks", "import", "t.jsonl")
    assert result.exit_code == 0 and Path("new.db").exists()
    assert "created a new database at new.db" in result.stderr
    again = run("--db", "new.db", "tasks", "import", "t.jsonl")
    assert "created" not in again.stderr


# -- 4. a database password printed -------------------------------------------------


def _with_password(url: str, port: int | None = None) -> str:
    """The same PostgreSQL URL with a user and PASSWORD in it (the test server trusts local users)."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(url.split("?")[0]) as conn:
        user = conn.execute("select current_user").fetchone()[0]
    parsed = make_url(url).set(username=user, password=PASSWORD)
    if port is not None:
        parsed = parsed.set(port=port)
    return parsed.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")


def _assert_no_password(result: Result) -> None:
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.mark.postgres
def test_no_command_prints_the_database_password(tmp_path: Path, postgres_url: str) -> None:
    db = _with_password(postgres_url)
    assert PASSWORD in db
    Path("t.jsonl").write_text('{"id": "a", "prompt": "A?"}\n')
    env = {"OVERSIGHT_DB": db}
    for command in (["init"], ["tasks", "import", "t.jsonl"], ["tasks", "import", "t.jsonl", "--json"],
                    ["status"], ["status", "--json"], ["export"], ["export", "-o", "x.jsonl"]):
        result = run(*command, env=env)
        assert result.exit_code == 0, (command, result.output)
        _assert_no_password(result)
    assert "***" in run("status", env=env).stdout


@pytest.mark.parametrize(
    ("db", "masked"),
    [(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/test", "postgresql://postgres:***@127.0.0.1:1/test"),
     (f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/test", "postgresql://postgres:***@127.0.0.1:notaport/test"),
     # an unescaped @ inside the password: the driver reads "pw@127.0.0.1" as the host
     ("postgresql://postgres:s3cret@pw@127.0.0.1:1/test", "postgresql://postgres:***@127.0.0.1:1/test"),
     (f"postgresql://postgres@127.0.0.1:1/test?password={PASSWORD}", "postgresql://postgres@127.0.0.1:1/test?password=***")],
)
def test_database_errors_never_print_the_password(tmp_path: Path, db: str, masked: str) -> None:
    from oversight.errors import StoreError
    from oversight.store import masked_url

    assert masked_url(db) == masked
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    assert "s3cret" not in str(caught.value) and "pw@" not in str(caught.value), str(caught.value)
    Path("t.jsonl").write_text('{"id": "a", "prompt": "A?"}\n')
    for command in (["status"], ["status", "--json"], ["draft"], ["tasks", "import", "t.jsonl"], ["export"],
                    ["tasks", "list"], ["review"], ["init"]):
        result = run("--db", db, *command)
        assert result.exit_code == 1, (command, result.output)
        assert "s3cret" not in result.output and "pw@" not in result.output, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


async def test_demo_where_to_look_next_masks_the_password(tmp_path: Path) -> None:
    from oversight.config import load_settings
    from oversight.demo import mine_and_report
    from oversight.mine.note_files import load_note_file
    from oversight.project import Project
    from tests.mine.test_cli import TTCW

    with Project.open(load_settings(db=str(tmp_path / "d.db"))) as project:
        project.store.save_notes(load_note_file(TTCW, text_field="explanation", id_field="id"))
        project.settings.db = f"postgresql://u:{PASSWORD}@db.example/oversight"  # only printed, never opened
        done = await mine_and_report(project, tmp_path / "out", names="keywords")
    shown = "\n".join(done["next"])
    assert "--db postgresql://u:***@db.example/oversight patterns" in shown and PASSWORD not in shown


# -- 5. top-level error handling ----------------------------------------------------


def test_os_errors_from_writing_outputs_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("init").exit_code == 0
    Path("afile").write_text("")
    line = one_line_error(run("export", "-o", "afile/x.jsonl"))
    assert "afile" in line

    def denied(*_a: Any, **_k: Any) -> None:
        raise PermissionError(13, "Permission denied", "out.jsonl")

    monkeypatch.setattr("oversight.refine.export.write_jsonl", denied)
    line = one_line_error(run("export", "-o", "out.jsonl"))
    assert line == "Error: out.jsonl: permission denied"


# -- 6. untrusted text reaches the terminal raw -------------------------------------

ESCAPES = "A\x1b[2Jcleared \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ \x1b[8mhidden\x1b[0m \x9b31m c1 \rback"


def test_visible_marks_every_control_character_but_newline_and_tab() -> None:
    from oversight.cli._common import visible

    shown = visible(ESCAPES + "\x00\nline\ttab\r\n")
    assert "\x1b" not in shown and "\x9b" not in shown and "\r" not in shown and "\x00" not in shown
    assert "\\x1b[2J" in shown and "\\u009b" in shown and "\\x00" in shown and "\\x0dback" in shown
    assert shown.endswith("\nline\ttab\n")  # CRLF becomes a plain newline
    assert visible("plain, ünïcödé — fine") == "plain, ünïcödé — fine"
    assert visible(None) == ""


def test_tasks_list_shows_escapes_visibly(tmp_path: Path) -> None:
    Path("t.jsonl").write_text(json.dumps({"id": "id\x1b[31m", "prompt": ESCAPES}) + "\n")
    assert run("tasks", "import", "t.jsonl").exit_code == 0
    result = run("tasks", "list")
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x9b" not in result.output and "\r" not in result.output
    assert "\\x1b[2J" in result.output and "id\\x1b[31m" in result.output
    as_json = run("tasks", "list", "--json")
    assert "\x1b" not in as_json.output and "\x9b" not in as_json.output
    assert json.loads(as_json.stdout)[0]["prompt"] == ESCAPES


def test_review_shows_escapes_visibly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("tasks.jsonl").write_text(json.dumps({"id": "q", "prompt": "Is 2\x1b[8m+2\x1b[0m four?",
                                               "context": "ctx \x1b[2J"}) + "\n")
    with drafted_project(monkeypatch) as env:
        result = CliRunner().invoke(cli, ["review", "--reviewer", "cy"], env=env, input="q\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b" not in out and "\x07" not in out
    assert "2\\x1b[8m+2" in out  # task prompt and the stub's draft that quotes it
    assert "\\x1b[2J" in out  # context and critique summary
    assert "\\x1b[8mSECRET" in out and "\\x1b]8;;http://evil" in out  # finding issue

