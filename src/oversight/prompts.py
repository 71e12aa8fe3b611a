"""Prompt files: load, render, version.

A prompt is one Markdown file in ``prompts/``: YAML front matter (name, description,
default parameters such as ``temperature`` and ``max_tokens``), then a ``## system``
section and a ``## user`` section written in Jinja2; between them, optional worked examples
as ``## example user`` / ``## example assistant`` pairs, sent as earlier turns of the chat
(a few-shot set). A prompt's version is the hash of the file's bytes, so any edit makes a
new version, and each Draft and Critique records the version that made it.

Stored text is data, never template source. The system and user sections are the only
templates; tasks, drafts, notes and refinements reach them as variables, and they render in
a sandboxed Jinja2 environment (no attribute walks to Python internals), so even a prompt file
of one's own cannot run code. Worked examples are sent exactly as written: they are not
templates, so an example taken from a task (a few-shot intervention) stays literal whatever it
holds (``{{``, ``{% endraw %}``, a line reading ``## user``).

A user can point ``prompts_dir`` (``OVERSIGHT_PROMPTS_DIR``) at a folder of their own;
a prompt missing there falls back to the bundled one. The folder itself must exist: a
misspelt one is an error, never a silent run on the bundled prompts.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
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
    examples: tuple[tuple[str, str], ...] = ()  # (user, assistant) turns before the request: literal text

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """Chat messages with the variables filled in; worked examples as written. Raises ConfigError on
        a missing variable or on a template that reaches for what the sandbox forbids."""
        messages = [{"role": "system", "content": self._fill(self.system, variables)}] if self.system.strip() else []
        for user, assistant in self.examples:
            if user.strip() or assistant.strip():
                messages += [{"role": "user", "content": user.strip()}, {"role": "assistant", "content": assistant.strip()}]
        messages.append({"role": "user", "content": self._fill(self.user, variables)})
        return messages

    def _fill(self, source: str, variables: dict[str, Any]) -> str:
        import jinja2
        from jinja2.sandbox import SecurityError

        try:
            return str(_template(source).render(**variables)).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"prompt {self.path}: {exc}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"prompt {self.path}: not a valid template (line {exc.lineno}): {exc.message}") from exc
        except SecurityError as exc:
            raise ConfigError(f"prompt {self.path}: the template reaches for something it may not ({exc})") from exc

    def with_examples(self, examples: list[tuple[str, str]]) -> Prompt:
        """This prompt with more worked examples after its own, as data (never template source). Its
        version is the hash of this version and the examples, so drafts made with it are cached apart."""
        added = tuple((user.strip(), assistant.strip()) for user, assistant in examples)
        digest = hashlib.sha256(json.dumps([self.version, added], ensure_ascii=False).encode("utf-8"))
        return replace(self, version=digest.hexdigest()[:12], examples=self.examples + added)


@lru_cache(maxsize=128)
def _template(source: str) -> Any:
    """A compiled template (compiling costs more than rendering: do it once), in a sandbox: a template
    cannot reach Python internals (``cycler.__init__.__globals__``) nor change the values it is given."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
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
    headers = {m.group(1): text[:len(text) - len(body) + m.start()].count("\n") + 1 for m in _SECTION.finditer(body)}
    for name in ("system", "user"):  # a template that does not compile is refused on load, not mid-batch
        try:
            _template(sections.get(name, ""))
        except Exception as exc:  # jinja2.TemplateSyntaxError: its line counts from the section's header line
            line = headers[name] + exc.lineno - 1 if getattr(exc, "lineno", None) else None
            raise ConfigError(f"prompt {path}: its '## {name}' section is not a valid template"
                              f"{f' (line {line})' if line else ''}: {getattr(exc, 'message', exc)}") from exc
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
