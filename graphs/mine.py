"""The mine graph for LangGraph Studio / Server: failure notes -> named, counted patterns.

Compiled without a checkpointer: it has no human pause, and its state is plain JSON.
Settings come from oversight.toml and OVERSIGHT_* variables, read on the first run, not
at import. Start a run with {"names": "keywords"} (no model) or {"names": "llm"}, and as with
`oversight mine` optionally "top_level" (themes, default 10), "abstract" and "wait" (true/false).
"""

from oversight.config import load_settings
from oversight.pipelines.mine import build_mine_graph
from oversight.project import Project

graph = build_mine_graph(lambda: Project.open(load_settings())).compile(name="mine")
