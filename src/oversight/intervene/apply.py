"""Applying an intervention to a prompt: a unified diff, or a few-shot set, gives a new prompt version.

The new prompt is never written over the old file: it is a ``Prompt`` made from the patched
text (``prompt_from_text``), whose version is the hash of that text like any prompt file's, so
drafts made with it are cached under their own ids and a re-run pays nothing twice. Writing the
accepted patch into prompts/ is the lead's step (``oversight interventions show ID`` prints it).

An intervention changes a prompt's words, never its template. Its text comes from stored data
(a task's prompt in a few-shot example, a model's proposal grounded in trainers' notes), so it
must not become template source: few-shot examples are added to the prompt as data
(``Prompt.with_examples``), and a patch whose added lines hold Jinja2 syntax (``{{``, ``{%``,
``{#``) is refused. A lead who wants a new template variable edits their prompts folder.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from oversight.errors import PatchError
from oversight.prompts import Prompt, prompt_from_text
from oversight.schemas import FewShot, PromptPatch

__all__ = ["apply_unified_diff", "make_diff", "patched_prompt", "system_patch", "template_syntax"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")  # what opens Jinja2 syntax; a lone "}}" is plain text



def make_diff(old: str, new: str, name: str) -> str:
    """A unified diff from ``old`` to ``new`` (what a prompt_patch stores)."""
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/prompts/{name}.md", tofile=f"b/prompts/{name}.md"))


def _hunks(diff: str) -> list[tuple[int, list[str], list[str]]]:
    hunks: list[tuple[int, list[str], list[str]]] = []
    current: tuple[int, list[str], list[str]] | None = None
    for raw in diff.splitlines(keepends=True):
        if raw.startswith(("--- ", "+++ ")) and current is None:
            continue
        match = _HUNK.match(raw)
        if match:
            current = (int(match.group(1)), [], [])
            hunks.append(current)
            continue
        if current is None or raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        line = raw[1:] if raw[:1] in (" ", "-", "+") else raw
        if not line.endswith("\n"):
            line += "\n"
        if raw.startswith(" ") or raw in ("\n",):
            current[1].append(line)
            current[2].append(line)
        elif raw.startswith("-"):
            current[1].append(line)
        elif raw.startswith("+"):
            current[2].append(line)
        else:
            raise PatchError(f"not a line of a unified diff: {raw.rstrip()!r}")
    if not hunks:
        raise PatchError("the diff holds no hunk (@@ ... @@)")
    return hunks


def apply_unified_diff(text: str, diff: str) -> str:
    """``text`` with ``diff`` applied. Each hunk must match where it says (or, failing that, exactly
    once after the previous hunk). Raises PatchError naming the hunk that does not apply."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    out: list[str] = []
    position = 0
    for number, (start, old, new) in enumerate(_hunks(diff), 1):
        at = start if not old else start - 1  # "-3,0" inserts after line 3
        if lines[at:at + len(old)] != old:
            found = [i for i in range(position, len(lines) - len(old) + 1) if lines[i:i + len(old)] == old]
            if len(found) != 1:
                what = "not found" if not found else f"found {len(found)} times"
                raise PatchError(f"hunk {number} (at line {start}) does not apply: its lines are {what}")
            at = found[0]
        if at < position:
            raise PatchError(f"hunk {number} overlaps the one before it")
        out += lines[position:at] + new
        position = at + len(old)
    return "".join(out + lines[position:])


def template_syntax(text: str) -> str | None:
    """The first opening Jinja2 delimiter in ``text`` (``{{``, ``{%`` or ``{#``), or None."""
    found = _TEMPLATE_SYNTAX.search(text)
    return found.group() if found else None


def _added_lines(diff: str) -> list[str]:
    """The lines a unified diff adds (read as ``_hunks`` reads them: file headers only before the first hunk)."""
    added, in_hunk = [], False
    for raw in diff.splitlines():
        if _HUNK.match(raw):
            in_hunk = True
        elif in_hunk and raw.startswith("+"):
            added.append(raw[1:])
    return added


def patched_prompt(base: Prompt, payload: PromptPatch | FewShot) -> Prompt:
    """The new prompt an intervention makes from ``base``. Raises PatchError (a patch made for another
    version, or one that does not apply) or ConfigError (the result is not a valid prompt file)."""
    if isinstance(payload, FewShot):
        return base.with_examples([(e.prompt, e.answer) for e in payload.examples])
    if payload.base_version != base.version:
        raise PatchError(f"the patch was written for {payload.prompt} version {payload.base_version}; "
                         f"the prompt is now version {base.version}")
    for line in _added_lines(payload.diff):
        if (syntax := template_syntax(line)) is not None:
            raise PatchError(f"the patch adds template syntax ({syntax!r} in {line.strip()[:80]!r}): an intervention "
                             "changes a prompt's words, not its template; edit the prompt file yourself for that")
    text = Path(base.path).read_text(encoding="utf-8")
    return prompt_from_text(apply_unified_diff(text, payload.diff), path=Path(base.path))


def system_patch(target: Prompt, instruction: str) -> str:
    """A unified diff of ``target``'s file that appends ``instruction`` to its ## system section.
    Raises ValueError when the file has no system section or already says it."""
    text = target.path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^##\s+system\s*$", line)), None)
    if start is None:
        raise ValueError(f"{target.name} has no ## system section")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    if instruction.casefold() in "".join(lines[start:end]).casefold():
        raise ValueError(f"{target.name} already says it")
    if (syntax := template_syntax(instruction)) is not None:  # a model's words, steered by stored notes
        raise ValueError(f"the instruction holds template syntax ({syntax!r}); a patch adds words, not template code")
    last = max(i for i in range(start, end) if lines[i].strip())
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    new = [*lines[: last + 1], instruction + "\n", *lines[last + 1:]]
    return make_diff("".join(lines), "".join(new), target.name)
