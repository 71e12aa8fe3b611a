"""Prompt files: versioned by content, overridable, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.errors import ConfigError
from oversight.prompts import load_prompt


def test_bundled_prompts_render_and_carry_parameters() -> None:
    draft = load_prompt("draft")
    messages = draft.render(prompt="Why?", input=None, context="Some passage.")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Some passage." in messages[1]["content"] and messages[1]["content"].endswith("Why?")
    assert draft.params["max_tokens"] > 0 and len(draft.version) == 12


def test_a_users_folder_wins_and_its_edit_is_a_new_version(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    text = "---\nname: draft\nparameters:\n  temperature: 0.7\n---\n## user\nAnswer: {{ prompt }}\n"
    (folder / "draft.md").write_text(text)
    first = load_prompt("draft", folder)
    assert first.params == {"temperature": 0.7} and first.version != load_prompt("draft").version
    (folder / "draft.md").write_text(text + "Be brief.\n")
    assert load_prompt("draft", folder).version != first.version
    assert load_prompt("critique", folder).version == load_prompt("critique").version  # falls back


def test_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "draft.md").write_text("---\nname: x\n---\n## system\nno user section\n")
    with pytest.raises(ConfigError, match="needs a '## user' section"):
        load_prompt("draft", tmp_path)
    with pytest.raises(ConfigError, match="no prompt named 'nope'"):
        load_prompt("nope")
    with pytest.raises(ConfigError, match="'prompt' is undefined"):
        load_prompt("draft").render(input=None, context=None)


def test_worked_examples_are_earlier_turns_of_the_chat_sent_as_written(tmp_path: Path) -> None:
    (tmp_path / "qa.md").write_text(
        "---\nname: qa\n---\n## system\nBe brief.\n\n## example user\nCapital of Peru?\n\n## example assistant\n"
        "Lima\n\n## example user\nCapital of {% raw %}{{ x }}{% endraw %}?\n\n## example assistant\nX\n\n"
        "## user\n{{ prompt }}\n", encoding="utf-8")
    prompt = load_prompt("qa", tmp_path)
    assert [(m["role"], m["content"]) for m in prompt.render(prompt="Capital of Chad?")] == [
        ("system", "Be brief."), ("user", "Capital of Peru?"), ("assistant", "Lima"),
        ("user", "Capital of {% raw %}{{ x }}{% endraw %}?"), ("assistant", "X"), ("user", "Capital of Chad?")]
    (tmp_path / "bad.md").write_text("## system\nx\n## example user\nq\n## user\n{{ prompt }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="example assistant"):
        load_prompt("bad", tmp_path)
    (tmp_path / "bad2.md").write_text("## example assistant\na\n## user\n{{ prompt }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no '## example user'"):
        load_prompt("bad2", tmp_path)
