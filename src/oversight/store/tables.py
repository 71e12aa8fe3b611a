"""Every table oversight keeps today, on one ``metadata``, for every dialect (SQLite, PostgreSQL).

Each record is kept whole as JSON in ``data``; the columns beside it are the ones
queries filter, join or claim on. Tables are grouped by the stage that writes them;
only ``store/`` defines or touches them.

This is what the queries read, not how a database gets there: ``store.migrations`` creates and
changes each table as of its own time, and tests/store/test_migrations.py checks that a migrated
database ends with exactly this schema. A change here needs a migration that makes it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

# -- the refine loop (m001) ----------------------------------------------------------------

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("domain", String(200)),
    Column("kind", String(200)),
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("task_id", String(200), nullable=False),
    Column("model", String(300), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    # m014: what `status` sums, beside the record (so it reads an index, not 100k records)
    Column("tokens", Integer),
    Column("cost_usd", Float),
    Index("ix_drafts_task", "task_id"),
)

critiques = Table(
    "critiques",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("draft_id", String(64), nullable=False),
    Column("task_id", String(200), nullable=False),
    Column("model", String(300), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    # m014: what `status` sums per critic (model, prompt, whether findings were checked)
    Column("prompt_name", String(200)),
    Column("prompt_version", String(64)),
    Column("checked", Boolean),
    Column("shown", Integer),  # the critic model's findings shown to the trainer (checks' not counted)
    Column("dropped", Integer),  # the critic model's findings held back by the grounding check
    Column("drop_reasons", String(500)),  # {"reason": count, ...} of those, as JSON text ('' if none)
    Column("tokens", Integer),
    Column("cost_usd", Float),
    Index("ix_critiques_draft", "draft_id"),
)

refinements = Table(
    "refinements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("task_id", String(200), nullable=False),
    Column("draft_id", String(64), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("seconds_spent", Float, nullable=False, default=0.0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    # m014: the trainer's verdicts on the critique's shown findings, for the critics' precision
    Column("critique_id", String(64)),
    Column("verdicts_right", Integer),
    Column("verdicts_wrong", Integer),
    Index("ix_refinements_draft", "draft_id"),
    Index("ix_refinements_task", "task_id"),
)

# One row per task: where it stands (the one source of truth that `status`, `review`,
# `draft` and the graph read), and who holds it while it is being drafted.
task_states = Table(
    "task_states",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("state", String(20), nullable=False),  # see oversight.store.TASK_STATES
    Column("thread_id", String(300)),
    Column("draft_id", String(64)),
    Column("critique_id", String(64)),
    Column("error", Text),
    Column("claim", String(300)),  # host/pid/token of the worker holding it (drafting)
    Column("lease_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # m010: the trainer holding it on the review page (awaiting_review), until review_lease_until
    Column("reviewer", String(100)),
    Column("review_claimed_at", DateTime(timezone=True)),
    Column("review_lease_until", DateTime(timezone=True)),
    Index("ix_task_states_state", "state"),
)

# -- audits (m002) ---------------------------------------------------------------------------

judgments = Table(
    "judgments",
    metadata,
    Column("id", String(64), primary_key=True),  # hash of (kind, item, annotator, order or row id)
    Column("item_id", String(300), nullable=False),
    Column("annotator", String(300), nullable=False),
    Column("kind", String(20), nullable=False),  # pairwise | pointwise
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("position", Integer, nullable=False),  # order within its import, so files read back in order
    Column("data", JSON, nullable=False),
    Index("ix_judgments_item", "item_id"),
    Index("ix_judgments_annotator", "annotator"),
)

# -- failure patterns (m003) ------------------------------------------------------------------

failure_notes = Table(
    "failure_notes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(20), nullable=False),
    Column("refinement_id", String(64)),
    Column("task_id", String(200)),
    Column("external_id", String(300)),
    Column("import_source", Text),
    Column("text_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_failure_notes_refinement", "refinement_id"),
)

# Vectors are cached by (model, text hash): the same sentence is embedded once per model.
embeddings = Table(
    "embeddings",
    metadata,
    Column("model", String(300), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
)

patterns = Table(
    "patterns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("size", Integer, nullable=False),
    Column("prevalence", Float, nullable=False),
    Column("last_run_id", String(64), nullable=False),
    Column("centroid", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

pattern_members = Table(
    "pattern_members",
    metadata,
    Column("pattern_id", String(64), primary_key=True),
    Column("note_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("similarity", Float, nullable=False),
    Index("ix_pattern_members_note", "note_id"),
)

mining_runs = Table(
    "mining_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

# -- small named documents (m005): the audit's routing rule that the review queue reads -----

documents = Table(
    "documents",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# -- paid edit explanations (m006): a mining run killed half way asks the model only for the rest --

# One model sentence per (model, edit_note prompt version, draft text, edit), kept as it arrives.
edit_explanations = Table(
    "edit_explanations",
    metadata,
    Column("model", String(300), primary_key=True),
    Column("prompt_version", String(64), primary_key=True),
    Column("draft_hash", String(64), primary_key=True),  # text_hash of the draft text
    Column("edit_hash", String(64), primary_key=True),  # text_hash of the edit's op, before and after
    Column("sentence", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# -- paid note abstractions (m007): each note restated as a topic-free failure, asked once per model --

note_abstractions = Table(
    "note_abstractions",
    metadata,
    Column("model", String(300), primary_key=True),
    Column("prompt_version", String(64), primary_key=True),
    Column("text_hash", String(64), primary_key=True),  # text_hash of the note's text
    Column("statement", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# -- interventions (m008): a targeted change for a pattern, the lead's decision and its validations --

interventions = Table(
    "interventions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pattern_id", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("status", String(30), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_interventions_pattern", "pattern_id"),
)


# -- paid judge verdicts (m009): a validation decided by an LLM judge asks it once per draft --

judge_verdicts = Table(
    "judge_verdicts",
    metadata,
    Column("model", String(300), primary_key=True),
    Column("prompt_version", String(64), primary_key=True),
    Column("input_hash", String(64), primary_key=True),  # text_hash of the failure, request and response judged
    Column("present", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# -- the review page (m010): who signs in, their sessions, calibration items and answers ---------

users = Table(
    "users",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(128), nullable=False),  # only the hash of a sign-in token is kept
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_users_token_hash", "token_hash", unique=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(128), primary_key=True),  # hash of the session cookie
    Column("user_name", String(100), nullable=False),
    Column("csrf", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_web_sessions_expires", "expires_at"),
    Index("ix_web_sessions_user", "user_name"),
)

calibration_items = Table(
    "calibration_items",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("draft_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

calibration_answers = Table(
    "calibration_answers",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("reviewer", String(100), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_calibration_answers_reviewer", "reviewer"),
)

# when the review page first served a calibration item to a trainer (m012): their time on it runs from there
calibration_serves = Table(
    "calibration_serves",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("reviewer", String(100), primary_key=True),
    Column("served_at", DateTime(timezone=True), nullable=False),
)

experiment_items = Table(
    "experiment_items",
    metadata,
    Column("item_id", String(200), primary_key=True),  # its task in the review queue
    Column("experiment", String(64), nullable=False),
    Column("key", String(16), nullable=False),  # Experiment.key: a changed declaration makes new items
    Column("task_id", String(200), nullable=False),  # the source task
    Column("condition", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_experiment_items_experiment", "experiment", "key"),
)

# -- judgment quality (m016): gold items hidden in the queue, the copies that carry them, answers --------

gold_items = Table(
    "gold_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("domain", String(200)),
    Column("made_by", String(100), nullable=False),
    Column("retired", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

# one gold item served to one trainer: its own task in the queue, never claimed by anyone else
gold_copies = Table(
    "gold_copies",
    metadata,
    Column("task_id", String(200), primary_key=True),
    Column("gold_id", String(64), nullable=False),
    Column("reviewer", String(100), nullable=False),
    Column("assessment", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_gold_copies_reviewer", "reviewer", "gold_id", unique=True),
)

gold_answers = Table(
    "gold_answers",
    metadata,
    Column("task_id", String(200), primary_key=True),  # the copy: one answer each
    Column("gold_id", String(64), nullable=False),
    Column("reviewer", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("assessment", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_gold_answers_reviewer", "reviewer", "created_at"),
)

trainer_standing = Table(
    "trainer_standing",
    metadata,
    Column("reviewer", String(100), primary_key=True),
    Column("paused", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

assessments = Table("assessments", metadata, Column("name", String(64), primary_key=True),
                    Column("created_at", DateTime(timezone=True), nullable=False), Column("data", JSON, nullable=False))

assessment_results = Table(
    "assessment_results",
    metadata,
    Column("assessment", String(64), primary_key=True),
    Column("reviewer", String(100), primary_key=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
)

# -- run locks (m013): one `oversight mine` at a time per database ----------------------------------

# A named lock row: who holds it (host/pid/token), since when, and until when unless renewed. A
# holder that dies stops renewing; its lease runs out and the next run takes the lock.
run_locks = Table(
    "run_locks",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(300), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=False),
)

# What the review page reads by (m010 creates them). Covering, so that counting and paging 100k
# queued tasks reads indexes, not rows.
REVIEW_INDEXES: list[Index] = [
    # the queue in its order; draft_id for the model filter
    Index("ix_task_states_review", task_states.c.state, task_states.c.updated_at, task_states.c.task_id,
          task_states.c.draft_id),
    # is it queued, and where: for the batch and domain filters (from tasks), the model filter (from drafts)
    Index("ix_task_states_task_state", task_states.c.task_id, task_states.c.state, task_states.c.updated_at),
    Index("ix_task_states_draft_state", task_states.c.draft_id, task_states.c.state, task_states.c.updated_at,
          task_states.c.task_id),
    # a trainer's own leases, in queue order
    Index("ix_task_states_reviewer", task_states.c.reviewer, task_states.c.state, task_states.c.updated_at,
          task_states.c.task_id),
    Index("ix_tasks_source", tasks.c.source, tasks.c.id),
    Index("ix_tasks_domain", tasks.c.domain, tasks.c.id),
    Index("ix_drafts_model", drafts.c.model, drafts.c.id),
    Index("ix_refinements_reviewer", refinements.c.reviewer, refinements.c.created_at),  # a trainer's progress
]


# What `status` and the lead hub read (m014 adds them and fills the columns they cover): counting
# and summing 100k drafted tasks reads these indexes whole, never a record.
STATUS_INDEXES: list[Index] = [
    Index("ix_drafts_usage", drafts.c.tokens, drafts.c.cost_usd),
    Index("ix_critiques_critic", critiques.c.model, critiques.c.prompt_name, critiques.c.prompt_version,
          critiques.c.checked, critiques.c.drop_reasons, critiques.c.shown, critiques.c.dropped,
          critiques.c.tokens, critiques.c.cost_usd),
    Index("ix_refinements_verdicts", refinements.c.critique_id, refinements.c.verdicts_right,
          refinements.c.verdicts_wrong),
]


# What `oversight export` pages by (m015): refinements oldest first, a chunk after the last (created_at, id)
# read, each chunk a seek into this index instead of a scan and sort of every refinement.
EXPORT_INDEXES: list[Index] = [
    Index("ix_refinements_created", refinements.c.created_at, refinements.c.id),
]
