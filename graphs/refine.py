"""The refine graph for LangGraph Studio / `langgraph dev`.

Compiled without a checkpointer: the LangGraph server supplies its own. A run that brings no
project in its context (the server never does) works on the default project, opened from
oversight.toml and OVERSIGHT_* variables by the first node that needs it, not at import
(``oversight.pipelines.context``). Start a thread with {"task_id": "..."}; it pauses at
human_refine with the task, draft and critique; resume it with a refinement such as
{"decision": "accept"}.
"""

import tenacity  # noqa: F401  (imported here, at server start, not inside a running node)

from oversight.pipelines import build_refine_graph

graph = build_refine_graph().compile(name="refine")
