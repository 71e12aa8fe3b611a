"""No raw control character from stored text ever reaches the terminal (issue 22, #2).

Every command writes through one escaping writer: a command that forgets ``visible`` still
cannot retitle the terminal, clear the screen, hide text or reorder it. The walk below runs
the commands over a project whose ids, prompts, notes and refinements are hostile.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from oversight.cli import cli

# retitles the terminal, clears it, backspaces, a one-byte CSI, a right-to-left override, DEL
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x08\x9b31m\u202eevil\x7f"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TASK_ID = "t" + HOSTILE


def run(*args: str, color: bool = False, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), color=color, input=input)


def assert_no_raw_control(result: Result, what: str) -> None:
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        found = RAW.search(text)
        assert found is None, f"{what}: raw {found.group()!r} on {name}: {text[max(0, found.start() - 60):][:160]!r}"


def _jsonl(path: str, rows: list[dict[str, object]]) -> None:
    Path(path).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def hostile_project() -> None:
    """Tasks, drafts and critiques awaiting review, refinements and notes: every text hostile."""
    from oversight.config import load_settings
    from oversight.project import Project
    from oversight.schemas import Task
    from tests.support.review_seed import finding, seed_items

    assert run("init").exit_code == 0
    settings = load_settings(model="openai/stub", api_base="http://127.0.0.1:9/v1")
    with Project.open(settings) as rt:
        tasks = [Task(id=TASK_ID, prompt="Say hi " + HOSTILE, domain="d" + HOSTILE),
                 Task(id="plain", prompt="Say hello")]
        seed_items(rt, [(t, "Hi " + HOSTILE, [finding("Hi", "rude " + HOSTILE)])
                        for t in tasks])
    rows = [{"id": f"r{i}" + HOSTILE, "source": f"s{i}" + HOSTILE, "draft": f"The capital is Lyon {i}.",
             "refined": f"The capital is Paris {HOSTILE} {i}.", "why": "wrong city " + HOSTILE,
             "tags": "wrong-city", "who": "ann"} for i in range(8)]
    _jsonl("refinements.jsonl", rows)
    imported = run("refinements", "import", "refinements.jsonl", "--draft-field", "draft", "--refined-field",
                   "refined", "--id-field", "id", "--source-field", "source", "--rationale-field", "why",
                   "--tags-field", "tags", "--reviewer-field", "who")
    assert imported.exit_code == 0, imported.output
    _jsonl("notes.jsonl", [{"id": f"n{i}" + HOSTILE, "text": f"Cites a wrong year {HOSTILE} ({i})"}
                           for i in range(8)])
    assert run("notes", "import", "notes.jsonl", "--text-field", "text", "--id-field", "id").exit_code == 0
    mined = run("mine", "--names", "keywords")
    assert mined.exit_code == 0, mined.output


COMMANDS = [
    ("tasks", "list"), ("tasks", "list", "--json"), ("status",), ("status", "--json"),
    ("export",), ("export", "--format", "csv"),
    ("experiment", "triage", "--drafts"), ("experiment", "triage", "--drafts", "--json"),
    ("patterns",), ("patterns", "--json"),
    ("report", "--format", "md", "-o", "-"), ("report", "--format", "json", "-o", "-"),
    ("report", "--format", "html", "-o", "-"),
    ("interventions", "suggest", "--no-model"), ("interventions", "list"),
    ("audit", "refinements", "--no-report"),
    ("review", "--reset", TASK_ID), ("review", "--reset", "no" + HOSTILE),
]


def test_no_command_lets_a_raw_control_character_reach_the_terminal(hostile_project: None) -> None:
    for args in COMMANDS:
        result = run(*args)
        assert_no_raw_control(result, " ".join(args))
        assert "Traceback" not in result.output, (args, result.output)
    answers = Path("answers.jsonl")
    _jsonl(str(answers), [{"task_id": TASK_ID, "decision": "reject", "rationale": HOSTILE},
                          {"task_id": "gone" + HOSTILE, "decision": "accept"}])
    assert_no_raw_control(run("review", "--answers", str(answers), "--reviewer", "ann"), "review --answers")
    shown = run("interventions", "list", "--json")
    for item in json.loads(shown.stdout)[:2]:
        assert_no_raw_control(run("interventions", "show", item["id"]), "interventions show")


def test_triage_drafts_shows_a_hostile_task_id_escaped(hostile_project: None) -> None:
    result = run("experiment", "triage", "--drafts", "--budget", "1", color=True)  # click strips no CSI
    assert result.exit_code == 0, result.output
    assert "\x1b]0;" not in result.stdout
    assert "t\\x1b]0;pwned\\x07\\x1b[2J\\x08\\u009b31m\\u202eevil\\u007f" in result.stdout


def test_json_on_stdout_stays_valid_and_lossless(hostile_project: None) -> None:
    rows = [json.loads(line) for line in run("export").stdout.splitlines()]
    assert "s0" + HOSTILE in {row["task_id"] for row in rows}
    report = json.loads(run("report", "--format", "json", "-o", "-").stdout)
    assert any("n0" + HOSTILE in pattern["members"] for pattern in report["patterns"])


def test_markdown_report_written_to_a_file_holds_no_raw_control(hostile_project: None) -> None:
    assert run("report", "--format", "md", "-o", "report.md").exit_code == 0
    text = Path("report.md").read_text(encoding="utf-8")
    found = RAW.search(text)
    assert found is None, text[max(0, found.start() - 60):][:160]
    assert "&#92;x1b&#93;0;pwned&#92;x07" in text  # shown (a viewer renders \x1b]0;pwned\x07), not dropped


def test_a_command_that_forgets_to_escape_is_escaped_all_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guarantee is the writer's, not each call site's: echo, print, sys.stdout.write, errors."""
    from oversight.cli import _commands

    monkeypatch.setitem(_commands.COMMANDS, "careless", f"{__name__}:careless")
    result = run("careless")
    assert result.exit_code == 1
    assert_no_raw_control(result, "careless")
    for shown in ("echo t\\x1b]0;pwned\\x07", "print \\x1b]0;", "write \\x1b]0;", "err \\x1b]0;",
                  "Error: failed \\x1b]0;", "\\u009b31m\\u202eevil\\u007f", "lone \\udc80"):
        assert shown in result.output, (shown, result.output)


@click.command()
def careless() -> None:
    """Prints stored text raw in every way a command can."""
    from oversight.errors import NotFoundError

    click.echo("echo " + TASK_ID)
    print("print " + HOSTILE)
    sys.stdout.write("write " + HOSTILE + "\n")
    click.echo("err " + HOSTILE, err=True)
    click.echo("lone \udc80")  # a file name that is not UTF-8: not a UnicodeEncodeError
    raise NotFoundError("failed " + HOSTILE)


def test_our_own_colours_still_reach_a_terminal_and_stored_text_does_not(monkeypatch: pytest.MonkeyPatch,
                                                                        hostile_project: None) -> None:
    result = run("review", "--reviewer", "cy", color=True, input="q\n")
    assert result.exit_code == 0, result.output
    assert "\x1b[1m" in result.stdout  # the bold heading: ours
    assert "\x1b]0;" not in result.output and "\x1b[2J" not in result.output and "\u202e" not in result.output
    assert "\\x1b]0;pwned" in result.stdout


def test_progress_notes_are_escaped_and_the_bar_keeps_its_own_escapes() -> None:
    import io

    from oversight.cli._common import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with Progress(2, "draft", stream=stream) as progress:
        progress.advance("ok")
        progress.advance("failed " + HOSTILE)  # the bar's last state, drawn on close
    out = stream.getvalue()
    assert "\r" in out  # tqdm redraws its line: our escape, allowed
    assert "\x1b]0;" not in out and "\u202e" not in out and "\x9b" not in out
