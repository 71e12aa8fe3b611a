"""The refine graph for LangGraph Studio / `langgraph dev`.

Compiled without a checkpointer: the LangGraph server supplies its own. Settings come
from oversight.toml and OVERSIGHT_* variables, read on the first run, not at import.
Start a thread with {"task_id": "..."}; it pauses at human_refine with the task, draft
and critique; resume it with a refinement such as {"decision": "accept"}.
"""

import tenacity  # noqa: F401  (imported here, at server start, not inside a running node)

from oversight.config import load_settings
from oversight.pipelines import build_refine_graph
from oversight.project import Project

graph = build_refine_graph(lambda: Project.open(load_settings())).compile(name="refine")
