"""Run the intervene graph to the lead's pause, or resume it, in a process of its own.

    python -m tests.support.intervene_thread start PATTERN_ID THREAD_ID
    python -m tests.support.intervene_thread resume THREAD_ID DECISIONS_JSON

Settings (database, model) come from OVERSIGHT_* variables. Prints one JSON object: the
pause's payload after ``start``, the final state after ``resume``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


async def main(argv: list[str]) -> dict[str, Any]:
    from langgraph.types import Command

    from oversight.config import load_settings
    from oversight.pipelines.context import PipelineContext
    from oversight.pipelines.intervene import intervene_graph
    from oversight.project import Project

    with Project.open(load_settings(), create=False) as project:
        context = PipelineContext(project=project)
        async with intervene_graph(project) as graph:
            if argv[0] == "start":
                config = {"configurable": {"thread_id": argv[2]}}
                state = await graph.ainvoke({"pattern_id": argv[1]}, config, context=context)
            else:
                config = {"configurable": {"thread_id": argv[1]}}
                state = await graph.ainvoke(Command(resume=json.loads(argv[2])), config, context=context)
            paused = state.get("__interrupt__")
            if paused:
                return {"paused": True, "payload": paused[0].value}
            return {"paused": False, "state": {k: v for k, v in state.items() if k != "__interrupt__"}}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:])), default=str))
