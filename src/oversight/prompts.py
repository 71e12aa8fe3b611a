"""Prompt files: load, render, version.

A prompt is one Markdown file in ``prompts/``: YAML front matter (name, description,
default parameters such as ``temperature`` and ``max_tokens``), then a ``## system``
section and a ``## user`` section written in Jinja2; between them, optional worked examples
as ``## example user`` / ``## example assistant`` pairs, sent as earlier turns of the chat
(a few-shot set). A prompt's version is the hash of the file's bytes, so any edit makes a
new version, and each Draft and Critique records the version that made it.

A user can point ``prompts_dir`` (``OVERSIGHT_PROMPTS_DIR``) at a folder of their own;
a prompt missing there falls back to the bundled one. The folder itself must exist: a
misspelt one is an error, never a silent run on the bundled prompts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from oversight.errors import ConfigError

__all__ = ["Prompt", "bundled_prompts_dir", "load_prompt", "prompt_from_text"]

_SECTION = re.compile(r"^##\s+(system|user|example user|example assistant)\s*$", re.MULTILINE)


def bundled_prompts_dir() -> Path:
    """The prompts shipped with oversight (the repository's prompts/ in a checkout)."""
    checkout = Path(__file__).resolve().parents[2] / "prompts"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_bundled" / "prompts"


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt file."""

    name: str
    version: str
    path: Path
    system: str
    user: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    examples: tuple[tuple[str, str], ...] = ()  # (user, assistant) turns before the request

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """Chat messages with the variables filled in. Raises ConfigError on a missing one."""
        import jinja2

        messages = []
        turns = [("system", self.system)]
        for user, assistant in self.examples:
            turns += [("user", user), ("assistant", assistant)]
        for role, source in (*turns, ("user", self.user)):
            if not source.strip():
                continue
            try:
                text = _template(source).render(**variables)
            except jinja2.UndefinedError as exc:
                raise ConfigError(f"prompt {self.path}: {exc}") from exc
            messages.append({"role": role, "content": text.strip()})
        return messages


@lru_cache(maxsize=128)
def _template(source: str) -> Any:
    """A compiled Jinja2 template (compiling costs more than rendering: do it once)."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    return env.from_string(source)


def load_prompt(name: str, prompts_dir: str | Path | None = None) -> Prompt:
    """Load prompts/<name>.md (the user's folder first; it must exist). Raises ConfigError."""
    candidates = []
    if prompts_dir:
        if not Path(prompts_dir).is_dir():
            problem = "is not a folder" if Path(prompts_dir).exists() else "no such folder"
            raise ConfigError(f"prompts_dir {prompts_dir}: {problem} (the folder of your own prompt files)")
        candidates.append(Path(prompts_dir) / f"{name}.md")
    candidates.append(bundled_prompts_dir() / f"{name}.md")
    for path in candidates:
        if path.is_file():
            return _parse(path.resolve(), path.read_bytes())
    raise ConfigError(f"no prompt named {name!r} (looked in {', '.join(str(c.parent) for c in candidates)})")


def prompt_from_text(text: str, *, path: Path) -> Prompt:
    """A prompt from file text that is not on disk (a patched prompt): its version is the hash of
    the text, as for a file. ``path`` is the file it derives from (shown in errors). Raises ConfigError."""
    return _parse(path, text.encode("utf-8"))


@lru_cache(maxsize=64)
def _parse(path: Path, raw: bytes) -> Prompt:
    import yaml

    version = hashlib.sha256(raw).hexdigest()[:12]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"prompt {path}:{line}: not UTF-8 text (byte {exc.start})") from None
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---"):
        try:
            _, front, body = text.split("---", 2)
        except ValueError as exc:
            raise ConfigError(f"prompt {path}: front matter is not closed with '---'") from exc
        try:
            meta = yaml.safe_load(front) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"prompt {path}: front matter is not valid YAML: {exc}") from exc
        except (RecursionError, ValueError) as exc:  # nested too deep, a number too long to read
            raise ConfigError(f"prompt {path}: front matter is not readable YAML ({type(exc).__name__})") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("parameters") or {}, dict):
            raise ConfigError(f"prompt {path}: front matter must be a mapping (name:, description:, parameters:)")
    parts = _SECTION.split(body)
    ordered = [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    sections = {name: text for name, text in ordered if not name.startswith("example")}
    if "user" not in sections:
        raise ConfigError(f"prompt {path}: needs a '## user' section")
    examples: list[tuple[str, str]] = []
    pending: str | None = None
    for name, text in ordered:
        if name == "example user":
            if pending is not None:
                raise ConfigError(f"prompt {path}: '## example user' needs an '## example assistant' after it")
            pending = text
        elif name == "example assistant":
            if pending is None:
                raise ConfigError(f"prompt {path}: '## example assistant' with no '## example user' before it")
            examples.append((pending, text))
            pending = None
    if pending is not None:
        raise ConfigError(f"prompt {path}: '## example user' needs an '## example assistant' after it")
    params = dict(meta.get("parameters") or {})
    return Prompt(
        name=str(meta.get("name") or path.stem),
        version=version,
        path=path,
        system=sections.get("system", ""),
        user=sections["user"],
        params=params,
        description=str(meta.get("description", "")),
        examples=tuple(examples),
    )
