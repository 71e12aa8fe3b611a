"""The mine graph for LangGraph Studio / Server: failure notes -> named, counted patterns.

Compiled without a checkpointer: it has no human pause, and its state is plain JSON. A run
that brings no project in its context works on the default project, opened from oversight.toml
and OVERSIGHT_* variables by the first node that needs it, not at import
(``oversight.pipelines.context``). Start a run with {"names": "keywords"} (no model) or
{"names": "llm"}, and as with `oversight mine` optionally "top_level" (themes, default 10),
"abstract" and "wait" (true/false).
"""

from oversight.pipelines.mine import build_mine_graph

graph = build_mine_graph().compile(name="mine")
