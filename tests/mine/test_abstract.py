"""Clio-style abstraction: notes restated as topic-free failures (cassette), paid once, used by mine."""

from __future__ import annotations

import pytest

from oversight.mine.abstract import ABSTRACT_PROMPT, FailureStatement, NoteAbstractor
from oversight.mine.miner import mine
from oversight.prompts import load_prompt
from oversight.schemas import FailureNote, text_hash


class NoCalls:
    """An LLM that must not be called: everything it would answer is already in the store."""

    def __init__(self, model: str) -> None:
        self.model = model

    async def structured(self, messages, schema, **params):
        raise AssertionError("asked the model again for a note it had already restated")


@pytest.mark.vcr
async def test_the_model_restates_notes_and_each_answer_is_paid_once(recorded_llm, tofu_rows, tmp_store) -> None:
    """Cassette: the embedded SmolLM2 restates four TofuEval explanations (one repeated)."""
    texts = [r["exp"] for r in tofu_rows if r["exp"].strip()][:3]
    texts.append(texts[0])
    prompt = load_prompt(ABSTRACT_PROMPT)
    abstractor = NoteAbstractor(recorded_llm, prompt, cache=tmp_store)
    statements = await abstractor(texts)
    assert len(statements) == 4 and statements[3] == statements[0]
    assert all(s.strip() for s in statements)
    kept = tmp_store.note_abstractions(recorded_llm.model, prompt.version, [text_hash(t) for t in texts])
    assert len(kept) == 3  # the repeated note was asked once
    assert all(s != t for s, t in zip(statements, texts, strict=True))
    again = await NoteAbstractor(NoCalls(recorded_llm.model), prompt, cache=tmp_store)(texts)
    assert again == statements


class Restater:
    """A stand-in model for the mining path (the wire is the cassette above): two kinds of failure."""

    model = "fake/restater"

    def __init__(self) -> None:
        self.calls = 0

    async def structured(self, messages, schema, **params):
        assert schema is FailureStatement
        self.calls += 1
        note = messages[-1]["content"]
        failure = ("Ends abruptly without resolving the plot." if "end" in note.lower()
                   else "Describes a character with clichés.")
        return FailureStatement(failure=failure), None


async def test_mine_clusters_the_restatements_and_records_who_wrote_them(tmp_store, embedder) -> None:
    topics = ["the lighthouse keeper", "the Martian colony", "the jazz trumpeter", "the orphaned dragon",
              "the Victorian detective", "the drowned village"]
    notes = []
    for i, topic in enumerate(topics):
        notes.append(FailureNote(id=f"e{i}", text=f"The story about {topic} just stops; the end resolves nothing.",
                                 source="import", metadata={"subject": f"s{i}"}))
        notes.append(FailureNote(id=f"c{i}", text=f"{topic.capitalize()} is a stock figure we have seen a hundred "
                                 "times.", source="import", metadata={"subject": f"s{i}"}))
    tmp_store.save_notes(notes)
    model = Restater()
    abstractor = NoteAbstractor(model, load_prompt(ABSTRACT_PROMPT))
    result = await mine(tmp_store, names="keywords", embedder=embedder, abstract=abstractor)
    assert model.calls == 12
    assert sorted(sorted(p.member_ids) for p in result.patterns) == [
        sorted(f"c{i}" for i in range(6)), sorted(f"e{i}" for i in range(6))]
    assert result.run.params["abstracted_by"] == abstractor.name
    names = {p.name for p in result.patterns}
    # named from the restatements (the failure), not the topics the notes were about
    assert names == {"abruptly / ends / plot", "character / describes"}, names  # equal scores: alphabetical

    again = await mine(tmp_store, names="keywords", embedder=embedder, abstract=abstractor)
    assert model.calls == 12  # every restatement came from the store
    assert [p.id for p in again.patterns] == [p.id for p in result.patterns]
