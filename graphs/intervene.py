"""The intervene graph for LangGraph Studio / `langgraph dev`: suggest -> lead decision -> validate.

Compiled without a checkpointer: the LangGraph server supplies its own. A run that brings no
project in its context works on the default project, opened from oversight.toml and
OVERSIGHT_* variables by the first node that needs it, not at import
(``oversight.pipelines.context``). Start a thread with {"pattern_id": "..."}; it pauses at
lead_decision with the proposals; resume it with
{"decisions": {"iv_...": {"decision": "accepted", "reason": "..."}}}.
"""

import tenacity  # noqa: F401  (imported here, at server start, not inside a running node)

from oversight.pipelines.intervene import build_intervene_graph

graph = build_intervene_graph().compile(name="intervene")
