"""The intervene graph for LangGraph Studio / `langgraph dev`: suggest -> lead decision -> validate.

Compiled without a checkpointer: the LangGraph server supplies its own. Settings come from
oversight.toml and OVERSIGHT_* variables, read on the first run, not at import. Start a thread
with {"pattern_id": "..."}; it pauses at lead_decision with the proposals; resume it with
{"decisions": {"iv_...": {"decision": "accepted", "reason": "..."}}}.
"""

import tenacity  # noqa: F401  (imported here, at server start, not inside a running node)

from oversight.config import load_settings
from oversight.pipelines.intervene import build_intervene_graph
from oversight.project import Project

graph = build_intervene_graph(lambda: Project.open(load_settings())).compile(name="intervene")
