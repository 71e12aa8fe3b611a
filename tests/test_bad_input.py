"""Bad input is one clear line, a non-zero exit and nothing changed; never a traceback, never
silently ignored (issue 22, #13 and #14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oversight.cli import cli
from oversight.config import load_settings
from oversight.errors import ConfigError, InputFileError

SURROGATE = '"bad \\ud800 text"'  # JSON for a lone surrogate: valid JSON, not text


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def one_line_error(result: Result) -> str:
    """The single stderr line of a failed command (and proof it was not a traceback)."""
    assert result.exit_code not in (0, None), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _store_counts(db: str = "oversight.db") -> dict[str, int]:
    from oversight.store import Store

    with Store.open(db) as store:
        return {"tasks": len(store.tasks()), "notes": len(store.notes()), "refinements": len(store.refinements())}


# -- 13. tracebacks instead of one line --------------------------------------------------------


@pytest.mark.parametrize(("command", "row", "field"), [
    (["tasks", "import"], f'{{"id": "a", "prompt": {SURROGATE}}}', "prompt"),
    (["refinements", "import", "--draft-field", "draft", "--refined-field", "refined"],
     f'{{"draft": "d", "refined": {SURROGATE}}}', "refined"),
    (["notes", "import", "--text-field", "text"], f'{{"text": {SURROGATE}}}', "text"),
    (["tasks", "import"], '{"id": "a", "prompt": "ok", "metadata": {"k": ["x", "\\udc80"]}}', "metadata"),
])
def test_a_lone_surrogate_is_refused_at_import_naming_file_line_and_field(command: list[str], row: str,
                                                                          field: str) -> None:
    assert run("init").exit_code == 0
    Path("in.jsonl").write_text('{"id": "ok", "prompt": "fine", "draft": "d", "refined": "r", "text": "t"}\n'
                                + row + "\n", encoding="utf-8")
    line = one_line_error(run(*command[:2], "in.jsonl", *command[2:]))
    assert line.startswith(f"Error: in.jsonl:2: field '{field}': ") and "surrogate" in line, line
    assert _store_counts() == {"tasks": 0, "notes": 0, "refinements": 0}


def test_a_lone_surrogate_in_an_answers_file_is_refused_before_anything_is_recorded() -> None:
    Path("answers.jsonl").write_text(f'{{"task_id": "a", "decision": "rewrite", "refined_text": {SURROGATE}}}\n',
                                     encoding="utf-8")
    from oversight.review.answers_file import read_answers

    with pytest.raises(InputFileError, match=r"answers.jsonl:1: field 'refined_text': .*surrogate"):
        read_answers("answers.jsonl")


def test_an_answer_holding_a_lone_surrogate_is_invalid_on_every_path() -> None:
    """The web form, the terminal and scripts all build a RefinementInput: the check is there."""
    from pydantic import ValidationError

    from oversight.schemas import RefinementInput

    for answer in ({"decision": "rewrite", "refined_text": "x \ud800"}, {"decision": "accept", "rationale": "\udc80"},
                   {"decision": "accept", "tags": ["ok", "\ud83d"]}):
        with pytest.raises(ValidationError, match="surrogate"):
            RefinementInput.model_validate(answer)


def test_a_number_too_long_to_read_is_one_line() -> None:
    Path("t.jsonl").write_text('{"id": ' + "1" * 5000 + ', "prompt": "x"}\n', encoding="utf-8")
    line = one_line_error(run("tasks", "import", "t.jsonl"))
    assert line.startswith("Error: t.jsonl:1: ") and "digits" in line, line
    assert not Path("oversight.db").exists()


EXPERIMENT = """\
name: tiny
tasks: tasks.jsonl
conditions:
  - name: base
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("name: tiny\nextra: " + "[" * 5000 + "]" * 5000 + "\n", "experiment.yaml:2: nested too deeply"),
    (("name: caf\xe9\n").encode("latin-1"), "experiment.yaml:1: not UTF-8 text"),
    (EXPERIMENT + "seed: " + "9" * 5000 + "\n", "experiment.yaml:5: "),
])
def test_a_broken_experiment_file_is_one_line(text: str | bytes, expected: str) -> None:
    path = Path("experiment.yaml")
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    line = one_line_error(run("experiment", "run", str(path)))
    assert line.startswith(f"Error: {expected}"), line
    assert len(line) < 300


@pytest.mark.parametrize(("toml", "expected"), [
    ("oversight = 5\n", "oversight.toml: 'oversight' must be a table of settings"),
    ('[oversight]\ndb = "mysql://u:s3cretpw@h/d"\n', "setting 'db' (OVERSIGHT_DB): "),
    ('[oversight]\ncheckpoints = "redis://h/0"\n', "setting 'checkpoints' (OVERSIGHT_CHECKPOINTS): "),
    ("[oversight]\nconcurrency = " + "9" * 5000 + "\n", "oversight.toml: "),
])
def test_a_bad_settings_file_is_one_line(toml: str, expected: str) -> None:
    Path("oversight.toml").write_text(toml, encoding="utf-8")
    line = one_line_error(run("status"))
    assert line.startswith(f"Error: {expected}"), line
    assert "s3cretpw" not in line


def test_a_database_url_oversight_cannot_use_is_one_line_naming_the_scheme() -> None:
    line = one_line_error(run("--db", "mysql://u:s3cretpw@h/d", "status"))
    assert "mysql://" in line and "postgresql://" in line and "s3cretpw" not in line, line
    with pytest.raises(ConfigError, match="mysql"):
        load_settings(db="mysql://h/d")
    for fine in ("x.db", "sqlite:///x.db", "postgresql://h/d", "postgres://h/d", "postgresql+psycopg://h/d"):
        assert load_settings(db=fine).db == fine


def test_a_prompt_file_that_is_not_utf8_is_one_line() -> None:
    Path("mine").mkdir()
    Path("mine/draft.md").write_bytes("## user\ncaf\xe9 {{ prompt }}\n".encode("latin-1"))
    from oversight.prompts import load_prompt

    with pytest.raises(ConfigError, match=r"draft.md:2: not UTF-8 text"):
        load_prompt("draft", "mine")
    Path("mine/draft.md").write_text("---\n5\n---\n## user\n{{ prompt }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"draft.md: .*front matter"):
        load_prompt("draft", "mine")


def test_a_command_argument_that_is_not_text_is_one_line() -> None:
    """A name from a shell that is not UTF-8 (Python decodes it to a lone surrogate)."""
    assert run("init").exit_code == 0
    line = one_line_error(run("review", "--reset", "t\udcff"))
    assert "t\\udcff" in line, line


# -- 14. silently ignored -----------------------------------------------------------------------


def test_a_settings_file_named_but_missing_is_an_error_naming_it() -> None:
    line = one_line_error(run("--config", "nope.toml", "status"))
    assert "nope.toml" in line, line
    line = one_line_error(run("status", env={"OVERSIGHT_CONFIG": "gone/settings.toml"}))
    assert "gone/settings.toml" in line, line
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_settings("nope.toml")


def test_a_settings_path_that_is_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    Path("folder").mkdir()
    line = one_line_error(run("status", env={"OVERSIGHT_CONFIG": "folder"}))
    assert "folder" in line, line
    with pytest.raises(ConfigError, match="folder"):
        load_settings("folder")


def test_without_a_named_file_a_missing_oversight_toml_is_fine() -> None:
    assert load_settings().db == "oversight.db"


def test_a_missing_prompts_dir_is_an_error_before_any_model_is_paid(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.stub_server import StubServer

    Path("t.jsonl").write_text(json.dumps({"id": "q", "prompt": "What is 2 + 2?"}) + "\n", encoding="utf-8")
    assert run("tasks", "import", "t.jsonl").exit_code == 0
    with StubServer() as stub:
        env = {"OVERSIGHT_MODEL": "openai/stub", "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_API_KEY": "k"}
        line = one_line_error(run("draft", "--prompts-dir", "my-prompts", env=env))
        assert "my-prompts" in line, line
        line = one_line_error(run("draft", env={**env, "OVERSIGHT_PROMPTS_DIR": "elsewhere"}))
        assert "elsewhere" in line, line
        assert stub.requests == []
    with pytest.raises(ConfigError, match="my-prompts"):
        from oversight.prompts import load_prompt

        load_prompt("draft", "my-prompts")


def test_an_alias_bomb_in_an_experiment_file_is_one_line_at_once() -> None:
    """Aliases that expand a few lines into a billion values (or into themselves) are refused unexpanded."""
    lines = ["name: bomb", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    Path("bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = one_line_error(run("experiment", "run", "bomb.yaml"))
    assert line.startswith("Error: bomb.yaml:") and "aliases" in line, line
    Path("chain.yaml").write_text("name: x\na0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 200)),
                                  encoding="utf-8")
    assert "nested too deeply" in one_line_error(run("experiment", "run", "chain.yaml"))
    Path("loop.yaml").write_text("name: x\nloop: &me [1, *me]\n", encoding="utf-8")
    assert "refers to a node that holds it" in one_line_error(run("experiment", "run", "loop.yaml"))


def test_a_lone_surrogate_in_an_experiment_file_is_refused_naming_its_line() -> None:
    Path("e.yaml").write_text(EXPERIMENT + 'description: "bad \\ud800"\n', encoding="utf-8")
    line = one_line_error(run("experiment", "run", "e.yaml"))
    assert line.startswith("Error: e.yaml:5: ") and "surrogate" in line, line


@pytest.mark.parametrize(("rows", "expected"), [
    ('{"task_id": "a", "x": 1}\n{"x": 2}\n', "keyed.jsonl:2: field 'task_id': required field is missing"),
    ('{"task_id": ""}\n', "keyed.jsonl:1: field 'task_id': required field is missing"),
    ('{"task_id": 7}\n', "keyed.jsonl:1: field 'task_id': required field is missing"),
    ('{"task_id": "a"}\n{"task_id": "b"}\n{"task_id": "a"}\n',
     "keyed.jsonl:3: field 'task_id': task 'a' again (first on line 1)"),
])
def test_a_file_keyed_by_item_names_the_line_of_a_missing_or_repeated_key(tmp_path: Path, rows: str,
                                                                         expected: str) -> None:
    from oversight.files import keyed_rows

    path = tmp_path / "keyed.jsonl"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        list(keyed_rows(path, "task_id", noun="task"))
    assert str(caught.value).endswith(expected)


def test_a_file_keyed_by_item_yields_each_row_without_its_key(tmp_path: Path) -> None:
    from oversight.files import keyed_rows

    path = tmp_path / "keyed.csv"
    path.write_text("task_id,decision\na,accept\nb,skip\n", encoding="utf-8")
    assert list(keyed_rows(path, "task_id", noun="task")) == [(2, "a", {"decision": "accept"}),
                                                              (3, "b", {"decision": "skip"})]
