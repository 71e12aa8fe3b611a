"""The mine graph for LangGraph Studio / Server: failure notes -> named, counted patterns.

Compiled without a checkpointer: it has no human pause, and its state is plain JSON.
"""

from oversight.mine.graph import build_mine_graph

graph = build_mine_graph().compile(name="mine")
