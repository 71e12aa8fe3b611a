import asyncio
import pytest
from oversight.audit import compare_with_judge, judge_pairs
from oversight.prompts import load_prompt

@pytest.mark.vcr
def test_llm_judge_over_the_wire(recorded_llm, neighbor, ):
    shortest = sorted({j.id: j for j in neighbor}.values(), key=lambda j: len(j.prompt + j.response_a + j.response_b))
    humans = shortest[:3]
    judged = asyncio.run(judge_pairs(humans, recorded_llm, load_prompt("judge")))
    print([(j.id, j.shown_first, j.choice, j.gold, j.metadata["reason"]) for j in judged])
    print([(h.id, h.annotator, h.choice, h.gold) for h in humans])
    c = compare_with_judge(humans, judged)
    print(c.model_dump(exclude={"judge_features", "human_features"}))

@pytest.fixture(scope="module")
def vcr_cassette_dir():
    return "/work/main/cassettes/audit/test_judge"
