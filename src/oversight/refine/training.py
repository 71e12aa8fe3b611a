"""Refinements out as training data, in the conversational formats TRL documents.

- ``sft`` (language modeling): ``messages``, the task's turns then the assistant's answer;
- ``preference``: ``prompt``, ``chosen``, ``rejected`` (the prompt's turns; one assistant turn each);
- ``kto`` (unpaired preference): ``prompt``, ``completion``, ``label`` (True: a desired answer).

Which decisions make which rows (``outcome``):

- edit or rewrite (the text changed), or reject with a refined text: sft the refined text;
  preference chosen = refined, rejected = draft; kto refined (True) and draft (False);
- reject with no refined text: no sft row, no pair; kto the draft (False);
- accept (or an edit that changed nothing): sft the draft; no pair; kto the draft (True);
- skip: nothing.

Streamed like the flat export (``export.joined_refinements``); a dataset folder is a Parquet file
under ``data/`` and a README.md dataset card (YAML header: configs and features) that
``datasets.load_dataset(folder)`` reads.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from oversight.refine.export import ExportFilters, joined_refinements, write_jsonl, write_parquet
from oversight.store import JoinedRefinement, Store
from oversight.visible import visible

__all__ = ["FORMATS", "TrainingFormat", "Tally", "outcome", "prompt_messages", "training_rows", "write_training"]

TrainingFormat = Literal["sft", "preference", "kto"]
# Each format's columns, exactly as TRL documents them (conversational form).
FORMATS: dict[str, tuple[str, ...]] = {
    "sft": ("messages",),
    "preference": ("prompt", "chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
}
_TRL_NAMES = {"sft": "language modeling", "preference": "preference", "kto": "unpaired preference"}
_HUB_TAGS = {"sft": "sft", "preference": "dpo", "kto": "kto"}
DATA_FILE = "data/train-00000-of-00001.parquet"


def prompt_messages(task: dict[str, Any]) -> list[dict[str, str]]:
    """The turns the model was asked with: a task's own chat turns (``metadata.messages``, a list of
    role/content turns, as a chat-format line brings them), else one user turn as the draft prompt
    words it (context, prompt, input)."""
    turns = (task.get("metadata") or {}).get("messages")
    if isinstance(turns, list) and turns and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in turns):
        return [{"role": m["role"], "content": m["content"]} for m in turns]
    context, text, extra = task.get("context"), task["prompt"], task.get("input")
    content = (f"Context:\n{context}\n\n" if context else "") + text + (f"\n\nInput:\n{extra}" if extra else "")
    return [{"role": "user", "content": content}]


def outcome(refinement: dict[str, Any], draft_text: str | None) -> tuple[str | None, str | None]:
    """(the answer the trainer stands behind, the answer they turned down) for one refinement; None
    where there is none. A refined text identical to the draft changed nothing: the draft stood."""
    decision = refinement["decision"]
    refined = refinement.get("refined_text") or ""
    if decision == "skip":
        return None, None
    if decision != "accept" and refined.strip() and refined.strip() != (draft_text or "").strip():
        return refined, draft_text
    if decision == "reject":
        return None, draft_text
    return draft_text, None


def training_rows(kind: str, item: JoinedRefinement) -> list[dict[str, Any]]:
    """The rows of one format that one refinement makes (none, one, or two for kto)."""
    if item.task is None or not item.task.get("prompt"):
        return []
    good, bad = outcome(item.refinement, (item.draft or {}).get("text"))
    prompt = prompt_messages(item.task)

    def said(text: str) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": text}]

    if kind == "sft":
        return [] if good is None else [{"messages": [*prompt, *said(good)]}]
    if kind == "preference":
        return [] if good is None or bad is None else [{"prompt": prompt, "chosen": said(good), "rejected": said(bad)}]
    return [{"prompt": prompt, "completion": said(text), "label": label}
            for text, label in ((good, True), (bad, False)) if text is not None]


@dataclass
class Tally:
    """What an export read and wrote: the dataset card's numbers."""

    kind: str
    filters: dict[str, Any]
    read: int = 0  # records read from the store
    refinements: int = 0  # kept by every filter
    rows: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    no_row: Counter[str] = field(default_factory=Counter)  # kept refinements that made no row, by decision
    labels: Counter[str] = field(default_factory=Counter)  # kto: desired / undesired
    left_out: Counter[str] = field(default_factory=Counter)
    sources: Counter[tuple[str, str]] = field(default_factory=Counter)  # (batch, license) -> rows
    models: Counter[str] = field(default_factory=Counter)  # draft models -> rows
    first: datetime | None = None
    last: datetime | None = None

    def count(self, item: JoinedRefinement, rows: list[dict[str, Any]]) -> None:
        ref = item.refinement
        self.refinements += 1
        self.decisions[ref["decision"]] += 1
        made = datetime.fromisoformat(ref["created_at"])
        self.first = made if self.first is None else min(self.first, made)
        self.last = made if self.last is None else max(self.last, made)
        if not rows:
            why = "no task" if item.task is None else "no draft" if item.draft is None else ref["decision"]
            self.no_row[why] += 1
            return
        self.rows += len(rows)
        metadata = (item.task or {}).get("metadata") or {}
        license_ = metadata.get("license")
        self.sources[(item.source or "unknown", license_ if isinstance(license_, str) else "unknown")] += len(rows)
        self.models[(item.draft or {}).get("model") or "unknown"] += len(rows)
        for row in rows:
            if "label" in row:
                self.labels["desired" if row["label"] else "undesired"] += 1

    def card(self, exported_at: datetime) -> str:
        """A README.md dataset card: a YAML header ``datasets`` reads, then what the data is and how it was made."""
        return dataset_card(self, exported_at)


def write_training(store: Store, kind: str, filters: ExportFilters, path: str | Path | None,
                   fmt: Literal["jsonl", "parquet", "folder"] = "jsonl", *,
                   on_read: Callable[[int], None] | None = None, now: datetime | None = None) -> Tally:
    """Write one training format to a JSONL or Parquet file (``path`` None: JSONL on stdout) or a
    dataset folder (data + README.md card); return the tally."""
    if kind not in FORMATS:
        raise ValueError(f"unknown training format {kind!r} (one of {', '.join(FORMATS)})")
    tally = Tally(kind, filters.describe())

    def counted(n: int) -> None:
        tally.read += n
        if on_read is not None:
            on_read(n)

    def rows() -> Iterator[dict[str, Any]]:
        for item in joined_refinements(store, filters, left_out=tally.left_out, on_read=counted, light=True):
            made = training_rows(kind, item)
            tally.count(item, made)
            yield from made

    if fmt == "jsonl":
        write_jsonl(rows(), path)
    elif fmt == "parquet":
        write_parquet(rows(), _required(path), schema=arrow_schema(kind))
    else:
        _write_folder(Path(_required(path)), lambda folder: write_parquet(rows(), folder / DATA_FILE,
                                                                         schema=arrow_schema(kind)),
                      lambda: tally.card(now or datetime.now(UTC)))
    return tally


def arrow_schema(kind: str) -> Any:
    """The Parquet schema of a format: lists of {role, content} messages, and kto's boolean label."""
    import pyarrow as pa

    messages = pa.list_(pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())]))
    return pa.schema([pa.field(name, pa.bool_() if name == "label" else messages) for name in FORMATS[kind]])


def _required(path: str | Path | None) -> str | Path:
    if path is None:
        raise ValueError("a Parquet file or a dataset folder needs a path")
    return path


def _write_folder(target: Path, write_data: Callable[[Path], int], card: Callable[[], str]) -> None:
    """Build the folder beside ``target`` and move it into place whole; an existing folder must be empty."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(17, "exists and is not an empty folder (choose a new one)", str(target))
    building = target.with_name(target.name + ".tmp")
    shutil.rmtree(building, ignore_errors=True)
    try:
        (building / "data").mkdir(parents=True)
        write_data(building)
        (building / "README.md").write_text(card(), encoding="utf-8")
        if target.exists():
            target.rmdir()
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


# -- the dataset card -------------------------------------------------------------------------------------

_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def _md(value: object) -> str:
    """Stored text (batch names, tags, models) as inert Markdown on one line, control characters visible."""
    return _MARKUP.sub(r"\\\1", visible(" ".join(str(value).split())))


def _features(kind: str) -> list[dict[str, Any]]:
    """The columns' features as a card's YAML declares them (each its own objects: no YAML aliases)."""
    def message() -> list[dict[str, str]]:
        return [{"name": "role", "dtype": "string"}, {"name": "content", "dtype": "string"}]

    return [{"name": name, "dtype": "bool"} if name == "label" else {"name": name, "list": message()}
            for name in FORMATS[kind]]


def _moment(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def dataset_card(tally: Tally, exported_at: datetime) -> str:
    import yaml

    licenses = {license_ for _, license_ in tally.sources}
    header: dict[str, Any] = {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        "dataset_info": {"features": _features(tally.kind)},
        "tags": ["trl", _HUB_TAGS[tally.kind], "oversight"],
    }
    if len(licenses) == 1 and "unknown" not in licenses:
        header["license"] = next(iter(licenses))
    columns = ", ".join(f"`{c}`" for c in FORMATS[tally.kind])
    lines = [
        "---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
        f"# Training data from oversight: {tally.kind}", "",
        f"TRL's conversational {_TRL_NAMES[tally.kind]} format: {columns}; each message a "
        "`{\"role\", \"content\"}` pair. Exported by `oversight export --as "
        f"{tally.kind}` on {exported_at.strftime('%Y-%m-%d %H:%M UTC')}.", "",
        "## Counts", "",
        f"- rows: {tally.rows:,}",
        f"- refinements kept by the filters: {tally.refinements:,} (records read: {tally.read:,})",
    ]
    if tally.labels:
        lines.append("- labels: " + ", ".join(f"{k} {n:,}" for k, n in sorted(tally.labels.items())))
    if tally.decisions:
        lines.append("- decisions kept: " + ", ".join(f"{k} {n:,}" for k, n in sorted(tally.decisions.items())))
    if tally.no_row:
        lines.append("- kept but made no row in this format: "
                     + ", ".join(f"{_md(k)} {n:,}" for k, n in sorted(tally.no_row.items())))
    if tally.left_out:
        lines.append("- left out by the filters after reading: "
                     + ", ".join(f"{_md(k)} {n:,}" for k, n in sorted(tally.left_out.items())))
    lines += ["", "## Filters", ""]
    for key, value in tally.filters.items():
        shown = ", ".join(_md(v) for v in value) if isinstance(value, list) else _md(value)
        lines.append(f"- {key}: {shown}")
    lines += ["", "## Date range", "",
              f"Refinements made from {_moment(tally.first)} to {_moment(tally.last)}.", "",
              "## Which decisions make which rows", "",
              "| decision | sft | preference | kto |", "| --- | --- | --- | --- |",
              "| edit, rewrite | refined | chosen = refined, rejected = draft | refined (true), draft (false) |",
              "| reject with a refined text | refined | chosen = refined, rejected = draft "
              "| refined (true), draft (false) |",
              "| reject, no refined text | - | - | draft (false) |",
              "| accept (or an edit that changed nothing) | draft | - | draft (true) |",
              "| skip | - | - | - |", "",
              "## Sources", "",
              "Rows by the batch (file) their tasks were imported from, and the license a task's `license` "
              "field gave (unknown when none did).", "",
              "| batch | license | rows |", "| --- | --- | --- |"]
    lines += [f"| {_md(batch)} | {_md(license_)} | {n:,} |" for (batch, license_), n in tally.sources.most_common(50)]
    if len(tally.sources) > 50:
        lines.append(f"| ({len(tally.sources) - 50:,} more) | | {sum(n for _, n in tally.sources.most_common()[50:]):,} |")
    lines += ["", "## Models", "", "Rows by the model that wrote the draft.", "",
              "| model | rows |", "| --- | --- |"]
    lines += [f"| {_md(model)} | {n:,} |" for model, n in tally.models.most_common(50)]
    return "\n".join(lines) + "\n"


def summary_line(tally: Tally) -> str:
    """One line for the terminal: rows written, of how many refinements, what was left out."""
    extra = "".join(f", {n:,} {why}" for why, n in sorted(tally.left_out.items()))
    return (f"{tally.rows:,} {tally.kind} row(s) from {tally.refinements:,} refinement(s)"
            + (f" (left out: {extra[2:]})" if extra else ""))

