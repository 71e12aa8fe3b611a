"""The command line: fast help, clear errors, results on stdout, nothing lost on bad input."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from oversight.cli import cli, top_help
from oversight.cli._commands import available_commands
from oversight.store import Store


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom oversight.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('click','litellm','langgraph','sqlalchemy','pydantic','statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    assert "Commands:" in out and "review" in out


def test_fast_help_lists_the_groups_commands() -> None:
    help_text = top_help()
    group_help = run("--help").output
    for name in available_commands():
        assert f"  {name} " in help_text and name in group_help


def test_each_command_group_has_a_file_of_its_own() -> None:
    """One file per command (group) in the lazy table; only the project's own init, status and export share one."""
    import importlib
    from collections import defaultdict

    from oversight.cli._commands import COMMANDS, OPTIONAL_COMMANDS

    table = {**COMMANDS, **OPTIONAL_COMMANDS}
    by_module: dict[str, list[tuple[str, str]]] = defaultdict(list)  # module -> (command, attribute)
    for name, target in table.items():
        for part in (target,) if isinstance(target, str) else target:  # a group several files add to
            module_name, attr = part.split(":")
            by_module[module_name].append((name, attr))
    shared = {module: [n for n, _ in found] for module, found in by_module.items() if len(found) > 1}
    assert shared == {"oversight.cli.project": ["init", "status", "export"]}

    def with_subcommands(command: click.Command) -> list[click.Command]:
        subs = command.commands.values() if isinstance(command, click.Group) else []
        return [command, *(c for sub in subs for c in with_subcommands(sub))]

    for module_name, found in by_module.items():  # and a file holds no command of another group
        module = importlib.import_module(module_name)
        served = [c for _, attr in found for c in with_subcommands(getattr(module, attr))]
        stray = [n for n, v in vars(module).items() if isinstance(v, click.Command) and not any(v is c for c in served)]
        assert stray == [], module_name


def test_init_then_import_then_status(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    assert Path("oversight.toml").exists() and Path("oversight.db").exists()
    Path("t.jsonl").write_text('{"id": "a", "prompt": "A?"}\n{"id": "b", "prompt": "B?", "domain": "x"}\n')
    result = run("tasks", "import", "t.jsonl", "--json")
    assert json.loads(result.stdout) == {"file": "t.jsonl", "read": 2, "drafts": 0, "added": 2, "already_present": 0}
    status = json.loads(run("status", "--json").stdout)
    assert status["tasks"] == 2 and status["states"]["pending"] == 2


def test_bad_file_is_one_line_and_leaves_the_store_unchanged(tmp_path: Path) -> None:
    Path("good.jsonl").write_text('{"id": "a", "prompt": "A?"}\n')
    Path("bad.jsonl").write_text('{"id": "b", "prompt": "B?"}\n{"id": "c", "prompt": 7}\n')
    assert run("tasks", "import", "good.jsonl").exit_code == 0
    before = Path("oversight.db").read_bytes()
    result = CliRunner().invoke(cli, ["tasks", "import", "bad.jsonl"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: bad.jsonl:2: field 'prompt': must be text, got int 7"
    with Store.open("oversight.db") as store:
        assert store.task_ids() == ["a"]
    assert Path("oversight.db").read_bytes() == before


def test_every_option_has_an_environment_variable(tmp_path: Path) -> None:
    Path("t.jsonl").write_text('{"prompt": "A?"}\n')
    assert run("tasks", "import", "t.jsonl", env={"OVERSIGHT_DB": str(tmp_path / "elsewhere.db")}).exit_code == 0
    assert Path(tmp_path / "elsewhere.db").exists() and not Path("oversight.db").exists()
    result = run("status", "--json", env={"OVERSIGHT_DB": str(tmp_path / "elsewhere.db")})
    assert json.loads(result.stdout)["tasks"] == 1


def test_draft_options_take_their_environment_variables(tmp_path: Path) -> None:
    from oversight.prompts import bundled_prompts_dir
    from tests.support.stub_server import StubServer

    Path("t.jsonl").write_text('{"id": "q", "prompt": "What is 2 + 2?"}\n')
    assert run("tasks", "import", "t.jsonl").exit_code == 0
    Path("mine").mkdir()  # a prompts folder whose draft prompt is marked, so its use shows in the request
    own = (bundled_prompts_dir() / "draft.md").read_text().replace("## user\n", "## user\nFROM-MY-PROMPTS ")
    Path("mine/draft.md").write_text(own)
    with StubServer() as stub:
        env = {"OVERSIGHT_MODEL": "openai/stub-drafter", "OVERSIGHT_CRITIC_MODEL": "openai/stub-critic",
               "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_CONCURRENCY": "3", "OVERSIGHT_PROMPTS_DIR": "mine",
               "OVERSIGHT_API_KEY": "k"}
        result = run("draft", env=env)
    draft = cli.get_command(click.Context(cli), "draft")
    assert {o.envvar for o in draft.params if getattr(o, "envvar", None)} <= set(env)  # every one is exercised
    assert "with openai/stub-drafter, critic openai/stub-critic, concurrency 3" in result.stderr
    assert [r["kind"] for r in stub.requests] == ["draft", "critique"]  # OVERSIGHT_API_BASE: the stub answered
    assert stub.requests[0]["last_message"].startswith("FROM-MY-PROMPTS What is 2 + 2?")


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status"], env={"OVERSIGHT_CONCURRENCY": "lots"})
    assert result.exit_code == 1
    assert "setting 'concurrency' (OVERSIGHT_CONCURRENCY)" in result.stderr


def test_review_with_nothing_waiting(tmp_path: Path) -> None:
    assert run("init").exit_code == 0  # only init, demo and tasks import create a database
    result = run("review")
    assert "nothing awaiting review" in result.stdout


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_export_empty_and_formats(tmp_path: Path, suffix: str) -> None:
    missing = run("export", "-o", f"out{suffix}")  # only init creates a database
    assert missing.exit_code == 1 and "no database at oversight.db" in missing.stderr
    assert not Path("oversight.db").exists() and not Path(f"out{suffix}").exists()
    assert run("init").exit_code == 0
    result = run("export", "-o", f"out{suffix}")
    assert result.exit_code == 0 and Path(f"out{suffix}").exists()


def test_export_says_which_refinements_are_simulated_and_their_arm(tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq

    from oversight.schemas import Refinement, Task

    assert run("init").exit_code == 0
    with Store.open("oversight.db") as store:
        store.add_tasks([Task(id="a", prompt="A?"), Task(id="b", prompt="B?", metadata={"arm": "critique_hidden"})])
        store.save_refinement(Refinement(task_id="a", draft_id="da", decision="accept", reviewer="ann"))
        store.save_refinement(Refinement(task_id="b", draft_id="db", decision="reject", reviewer="sim-catches",
                                         simulated=True, arm="critique_hidden"))
    rows = [json.loads(line) for line in run("export").stdout.splitlines()]
    assert [(r["task_id"], r["reviewer"], r["simulated"], r["arm"]) for r in rows] == [
        ("a", "ann", False, None), ("b", "sim-catches", True, "critique_hidden")]
    assert run("export", "-o", "x.csv").exit_code == 0
    with open("x.csv", newline="", encoding="utf-8") as handle:
        cells = [(r["simulated"], r["arm"]) for r in csv.DictReader(handle)]
    assert cells == [("False", ""), ("True", "critique_hidden")]
    assert run("export", "-o", "x.parquet").exit_code == 0
    table = pq.read_table("x.parquet").to_pydict()
    assert (table["simulated"], table["arm"]) == ([False, True], [None, "critique_hidden"])


def test_review_answers_file_errors_name_line_and_field(tmp_path: Path) -> None:
    Path("answers.jsonl").write_text('{"task_id": "a", "decision": "accept"}\n{"task_id": "b", "decision": "edit"}\n')
    result = CliRunner().invoke(cli, ["review", "--answers", "answers.jsonl"])
    assert result.exit_code == 1
    assert "answers.jsonl:2: value error, decision 'edit' needs refined_text" in result.stderr
    Path("answers.jsonl").write_text('{"decision": "accept"}\n')
    result = CliRunner().invoke(cli, ["review", "--answers", "answers.jsonl"])
    assert "answers.jsonl:1: field 'task_id': required field is missing" in result.stderr


def test_review_edit_opens_the_editor_and_records_a_word_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.stub_server import StubServer

    clock = itertools.count(100.0, 42.3)  # each reading of the review's clock is 42.3 s after the last
    monkeypatch.setattr("oversight.cli.review.time", SimpleNamespace(monotonic=lambda: next(clock)))

    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/Stub answer to/A corrected answer to/" "$1"\n')
    editor.chmod(0o755)
    Path("t.jsonl").write_text('{"id": "q", "prompt": "What is 2 + 2?"}\n')
    with StubServer() as stub:
        env = {"OVERSIGHT_MODEL": "openai/stub", "OVERSIGHT_API_BASE": stub.api_base, "OVERSIGHT_API_KEY": "k"}
        assert run("tasks", "import", "t.jsonl").exit_code == 0
        assert "1 awaiting review" in run("draft", env=env).stdout
        # edit; tags; why; the one AI finding was wrong; confidence 5
        result = run("review", "--reviewer", "cy", env={**env, "EDITOR": str(editor)},
                     input="e\ny\nunclear\nReworded the opening.\nw\n5\n")
    assert "recorded 1 refinement(s)" in result.stdout
    with Store.open("oversight.db") as store:
        [ref] = store.refinements()
    assert ref.decision == "edit" and ref.refined_text.startswith("A corrected answer to")
    assert [(d.before, d.after) for d in ref.diff if d.op != "equal"] == [("Stub", "A corrected")]
    assert ref.finding_verdicts[0].verdict == "wrong" and ref.confidence == 1.0 and ref.reviewer == "cy"
    assert ref.seconds_spent == 42.3  # from the first prompt to the last answer, on the faked clock


def test_review_shows_where_an_imported_draft_came_from(tmp_path: Path) -> None:
    """A draft imported with --no-critique is reviewed in the terminal with no model configured or called."""
    chat = {"id": "c1", "model": "prod-v2", "messages": [{"role": "user", "content": "Capital of Chad?"},
                                                         {"role": "assistant", "content": "Lagos."}]}
    Path("logs.jsonl").write_text(json.dumps(chat) + "\n")
    assert run("tasks", "import", "logs.jsonl", "--model-field", "model", "--no-critique").exit_code == 0
    result = run("review", "--reviewer", "cy", input="x\nwrong-capital\nIt is N'Djamena.\n5\n")
    assert "DRAFT (prod-v2, imported from logs.jsonl:1)" in result.stdout and "AI CRITIQUE" not in result.stdout
    assert "recorded 1 refinement(s)" in result.stdout
    with Store.open("oversight.db") as store:
        [ref] = store.refinements()
    assert (ref.task_id, ref.decision, ref.tags, ref.critique_id) == ("c1", "reject", ["wrong-capital"], None)
