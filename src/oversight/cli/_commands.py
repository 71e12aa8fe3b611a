"""The command table: names, where each lives, one-line help. Imports nothing heavy."""

from __future__ import annotations

import importlib.util

# command name -> "module:attribute", imported on use
COMMANDS: dict[str, str] = {
    "init": "oversight.cli.project:init",
    "tasks": "oversight.cli.tasks:tasks",
    "draft": "oversight.cli.draft:draft",
    "review": "oversight.cli.review:review",
    "status": "oversight.cli.project:status",
    "export": "oversight.cli.project:export",
    "demo": "oversight.cli.demo:demo",
    "model": "oversight.cli.model:model",
}

# Subsystems add their commands here (each module:attribute is a click command or group). A tuple
# of groups is served as one group holding the commands of each (a group several modules add to).
OPTIONAL_COMMANDS: dict[str, str | tuple[str, ...]] = {
    "notes": "oversight.cli.notes:notes",
    "refinements": "oversight.cli.refinements:refinements",
    "mine": "oversight.cli.mine:mine",
    "patterns": "oversight.cli.patterns:patterns",
    "report": "oversight.cli.report:report",
    "audit": "oversight.cli.audit:audit",
    "interventions": "oversight.cli.intervene:interventions",
    "serve": "oversight.cli.serve:serve",
    "users": "oversight.cli.users:users",
    "calibration": "oversight.cli.calibration:calibration",
    "trainers": ("oversight.cli.trainers:trainers", "oversight.cli.standing:standing"),
    "experiment": "oversight.cli.experiment:experiment",
    "gold": "oversight.cli.gold:gold",
}

SHORT_HELP: dict[str, str] = {
    "init": "Create oversight.toml and the database here.",
    "tasks": "Import and list tasks.",
    "draft": "Draft and critique every pending task, up to the human pause.",
    "review": "Refine drafts in the terminal: accept, edit, rewrite, reject, skip.",
    "status": "Counts of tasks by state.",
    "export": "Export refinements (JSONL, CSV, Parquet) or training data (--as sft|preference|kto).",
    "demo": "Run the whole loop on bundled real tasks with the embedded model.",
    "model": "The embedded default model (serve it, show where it is).",
    "notes": "Import failure notes from existing review data.",
    "refinements": "Import post-edits (model output and its correction) as refinements.",
    "mine": "Cluster failure notes into named patterns.",
    "patterns": "List failure patterns.",
    "report": "Write the leads' failure-pattern report.",
    "audit": "Audit judgments for style bias, agreement and blind spots.",
    "interventions": "Targeted changes for failure patterns and the lead's decisions on them.",
    "serve": "Serve the review page (trainers refine, leads read patterns and decide).",
    "users": "Accounts of the review page: trainers and leads.",
    "calibration": "Calibration items with an expert's refinement, and trainers' agreement.",
    "trainers": "Trainers' judgment on hidden gold items (profiles with intervals), pause, resume, assessments.",
    "experiment": "Declared experiments: conditions, simulated reviewers, effects with intervals.",
    "gold": "Gold items hidden in the review queue: planted errors and expert answers.",
}


def available_commands() -> list[str]:
    """The commands this installation has, in help order."""
    return list(COMMANDS) + [n for n in OPTIONAL_COMMANDS if _available(n)]


def _available(name: str) -> bool:
    if name in COMMANDS:
        return True
    target = OPTIONAL_COMMANDS.get(name, "")
    module = (target if isinstance(target, str) else target[0]).split(":")[0]
    if not module:
        return False
    return importlib.util.find_spec(module) is not None


