"""An intervention as lines of text: what `oversight interventions show` prints and the lead page shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from oversight.schemas import Intervention, Validation

__all__ = ["change", "describe"]


def describe(item: Intervention, visible: Callable[[str], str] = str) -> list[str]:
    """What an intervention is: header, rationale, payload, evidence, validations, as lines of text.

    ``visible`` cleans untrusted text for where it is shown (the CLI strips terminal escapes)."""
    lines = [
        f"{visible(item.id)}  {visible(item.title)}",
        f"  kind: {item.kind}   pattern: {visible(item.pattern_id)}   status: {item.status}"
        f"   proposed by: {visible(item.proposed_by)}",
        f"  created {_when(item.created_at)}, updated {_when(item.updated_at)}",
    ]
    if item.reason:
        lines.append(f"  lead's reason: {visible(item.reason)}")
    lines += _section("Rationale", item.rationale, visible) + _section("Expected effect", item.expected_effect, visible)
    lines += ["", f"Payload ({item.kind})", *[f"  {line}" for line in _payload(item.payload.model_dump(), visible)]]
    lines += ["", "Evidence",
              f"  notes ({len(item.note_ids)}): {visible(', '.join(item.note_ids)) or '-'}",
              f"  tasks ({len(item.task_ids)}): {visible(', '.join(item.task_ids)) or '-'}"]
    lines += ["", f"Validations ({len(item.validations)})"]
    for number, validation in enumerate(item.validations, 1):
        lines += _validation(number, validation, visible)
    if not item.validations:
        lines.append("  none yet")
    return lines


def change(item: Intervention, visible: Callable[[str], str] = str) -> list[str]:
    """What the intervention would change (its payload), as lines of text: what a lead decides on."""
    return _payload(item.payload.model_dump(), visible)


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _section(title: str, text: str, visible: Callable[[str], str]) -> list[str]:
    return ["", title, *[f"  {line}" for line in visible(text).splitlines()]] if text.strip() else []


def _payload(data: dict[str, Any], visible: Callable[[str], str]) -> list[str]:
    kind = data["kind"]
    if kind == "prompt_patch":
        return [f"prompt: {visible(data['prompt'])} (applies to version {visible(data['base_version'])})",
                "diff:", *visible(data["diff"]).splitlines()]
    if kind == "few_shot":
        lines = [f"prompt: {visible(data['prompt'])}"]
        for number, example in enumerate(data["examples"], 1):
            lines += [f"example {number}" + (f" (task {visible(example['task_id'])})" if example["task_id"] else ""),
                      *_block("prompt", example["prompt"], visible), *_block("answer", example["answer"], visible)]
        return lines
    if kind == "eval_check":
        criterion = data["criterion"]
        value = "" if criterion["value"] is None else f" {visible(str(criterion['value']))}"
        lines = [f"check: {criterion['kind']}{value}"]
        if criterion["description"]:
            lines.append(f"description: {visible(criterion['description'])}")
        return [*lines, f"cases: {visible(', '.join(data['cases'])) or '-'}"]
    lines = []  # guideline, data_request, routing_rule: their fields as they are
    for key, value in data.items():
        if key == "kind" or value in ("", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        lines += _block(key.replace("_", " "), shown, visible)
    return lines


def _block(label: str, text: str, visible: Callable[[str], str]) -> list[str]:
    """``label: text`` on one line, or the label and the text indented under it when it spans lines."""
    rows = visible(text).splitlines() or [""]
    return [f"{label}: {rows[0]}"] if len(rows) == 1 else [f"{label}:", *[f"  {row}" for row in rows]]


def _validation(number: int, v: Validation, visible: Callable[[str], str]) -> list[str]:
    change = v.change
    lines = [f"  [{number}] {v.outcome} ({_when(v.at)}, decided by {visible(v.decided_by)})"]
    if v.before is None or v.after is None or change is None:
        lines.append(f"      not measured: nothing was re-drafted ({v.tasks} affected task(s))")
    else:
        lines += [
            f"      failure rate before {v.before:.1%} -> after {v.after:.1%} on {v.tasks} task(s), "
            f"{v.controls} control(s)",
            f"      change {change.estimate:+.1%} [{change.low:+.1%}, {change.high:+.1%}] ({change.level:.0%} interval)",
        ]
    if v.old_version or v.new_version:
        lines.append(f"      prompt {visible(v.old_version) or '?'} -> {visible(v.new_version) or '?'}, seed {v.seed}")
    for check, interval in v.regressions.items():
        lines.append(f"      regression check {visible(check)}: {interval.estimate:+.1%} "
                     f"[{interval.low:+.1%}, {interval.high:+.1%}]")
    if v.calibration is not None:
        c = v.calibration
        lines.append(f"      judge {visible(c.judge)}: kappa {c.kappa.estimate:.2f} [{c.kappa.low:.2f}, {c.kappa.high:.2f}]"
                     f" (threshold {c.threshold:.2f}, {'calibrated' if c.calibrated else 'not calibrated'})")
    if v.reason:
        lines.append(f"      reason: {visible(v.reason)}")
    return lines
