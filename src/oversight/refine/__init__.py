"""The refine stages, below the pipelines, in data-flow order.

- ``tasks``: tasks in from JSONL/CSV, each bad row named by file, line and field.
- ``drafting``: a model's draft of a task, paid once (an existing draft is reused).
- ``critique``: the AI reviewer's findings and the grounding rule that drops what the
  draft does not say.
- ``answers``: a trainer's answer checked (``check_answer``) and turned into a refinement,
  with its word diff.
- ``critic_quality``: how often the critic's findings were grounded and, of those shown,
  confirmed by trainers.
- ``export``: refinements out as JSONL, CSV or Parquet, streamed a chunk at a time.
- ``training``: refinements out as training data (TRL's sft, preference and kto formats).
- ``post_edits``: edits made elsewhere (a draft and its post-edit) in as tasks, drafts and
  refinements.

Importing the package loads none of them: each stage is imported by name.
"""
