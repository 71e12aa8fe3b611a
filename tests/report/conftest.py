"""A mined store of real critique data (TTCW explanations), shared by the report tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mine"


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(store, result) after importing 120 TTCW explanations and mining them with keyword names."""
    from oversight.embed import get_embedder
    from oversight.mine.miner import mine
    from oversight.mine.note_files import load_note_file
    from oversight.store import Store

    store = Store.open(tmp_path_factory.mktemp("report") / "r.db")
    notes = load_note_file(FIXTURES / "creativity_eval" / "ttcw_no_sample.jsonl", text_field="explanation",
                           id_field="id", meta_fields=["category", "story_id"])
    store.save_notes(notes)
    # a module-scoped fixture runs outside the tests' event loops: it starts its own
    result = asyncio.run(mine(store, names="keywords", embedder=get_embedder()))
    yield store, result
    store.close()


def report(store: Any, fmt: str, extra_sections: Any = ()) -> str:
    """The report of the store's last run, as the CLI builds it (the caller fetches the run and notes)."""
    from oversight.mine.miner import current
    from oversight.report import build_report

    notes = {n.id: n for n in store.notes()}
    return build_report(current(store), notes, fmt, extra_sections=extra_sections)
