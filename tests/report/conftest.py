"""A mined store of real critique data (TTCW explanations), shared by the report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mine"


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(store, result) after importing 120 TTCW explanations and mining them with keyword names."""
    from oversight.mine.miner import mine
    from oversight.mine.notes import load_note_file
    from oversight.mine.storage import save_notes
    from oversight.store import Store

    store = Store.open(tmp_path_factory.mktemp("report") / "r.db")
    notes = load_note_file(FIXTURES / "creativity_eval" / "ttcw_no_sample.jsonl", text_field="explanation",
                           id_field="id", meta_fields=["category", "story_id"])
    save_notes(store, notes)
    result = mine(store)
    yield store, result
    store.close()
