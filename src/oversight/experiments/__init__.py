"""Declared oversight experiments for researchers: conditions, simulated reviewers, effects with intervals.

    from oversight.experiments import load_experiment, run, summary
    from oversight.llm import run_sync
    experiment = load_experiment("examples/experiments/assistance.yaml")
    with Project.open(load_settings()) as project:
        rows = run_sync(run(experiment, project))     # or `await run(...)` in async code
    print(summary(rows))                               # effects with confidence intervals

``run`` is async like every stage that calls a model (it runs under FastAPI and LangGraph's
server too); ``llm.run_sync`` is the sync facade for scripts and notebooks.

- ``declare``: the experiment as YAML (``schemas.Experiment`` is the object);
- ``plant``: known errors planted in drafts, and whether a reviewer caught them;
- ``reviewers``: scripted and LLM reviewers that answer through the review service;
- ``run``: items in the review queue, reviewers, rows (resumable from the store);
- ``analysis``: ``summary``, paired where the design is paired;
- ``triage``: which items need a human for a review budget, and the recall it buys.
"""

from oversight.errors import ExperimentError
from oversight.experiments.analysis import SUMMARY_COLUMNS, summary
from oversight.experiments.declare import load_experiment
from oversight.experiments.run import ROW_COLUMNS, rows, run

__all__ = ["ROW_COLUMNS", "SUMMARY_COLUMNS", "ExperimentError", "load_experiment", "rows", "run", "summary"]
