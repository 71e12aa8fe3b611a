"""The LLM door over recorded real HTTP: retries, structured output, embeddings.

The retry cassette was recorded through tests/support/fault_proxy.py on 127.0.0.1:8766, a
proxy in front of the embedded model server that answered the first request with a real
429 (Retry-After: 1) and the second with a 500, then passed the third to the model. The
embedding cassettes (here and in tests/mine/test_embed.py) were recorded from llama-cpp-python's
server serving the embedded SmolLM2 GGUF on 127.0.0.1:8765 with ``--embedding true``. Its CLI
has no ``--pooling_type`` and the GGUF names none, so it answers with one vector per token;
for one vector per text the server was started with mean pooling through a launcher::

    import runpy, llama_cpp
    init = llama_cpp.Llama.__init__
    llama_cpp.Llama.__init__ = lambda self, *a, **k: init(
        self, *a, **{"pooling_type": llama_cpp.LLAMA_POOLING_TYPE_MEAN, **k})
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)

run as ``python launcher.py --model <gguf> --model_alias smollm2-135m-instruct --port 8765
--embedding true``, then ``pytest --record-mode=once`` on the embedding tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from oversight.llm import LLM
from oversight.schemas import CritiqueFindings

PROXY = "http://127.0.0.1:8766/v1"


@pytest.mark.vcr
async def test_retries_a_recorded_429_and_500_then_answers(retry_waits: list[float], vcr) -> None:
    llm = LLM("openai/smollm2-135m-instruct", api_base=PROXY, api_key="sk-local", max_attempts=4)
    result = await llm.complete([{"role": "user", "content": "Name one planet."}], max_tokens=20, temperature=0)
    assert result.attempts == 3 and result.text
    assert [r["status"]["code"] for r in vcr.responses] == [429, 500, 200]
    assert retry_waits[0] >= 1.0  # waited at least the Retry-After of the 429
    assert len(retry_waits) == 2


@pytest.mark.vcr
async def test_structured_output_over_the_wire(recorded_llm) -> None:
    value, completion = await recorded_llm.structured(
        [{"role": "user", "content": "Review this answer: 'The sun orbits the earth.' List problems as JSON."}],
        CritiqueFindings,
        max_tokens=200,
        temperature=0,
    )
    assert value == CritiqueFindings(findings=[], summary="The sun orbits the earth.")  # the recorded JSON, validated
    assert completion.usage.completion_tokens > 0


@pytest.mark.vcr
async def test_embed_over_the_wire(recorded_llm) -> None:
    texts = ["The ending felt rushed.", "The story ends too abruptly.", "Bananas are rich in potassium."]
    result = await recorded_llm.embed(texts)
    vectors = np.asarray(result.vectors, dtype=np.float64)
    assert vectors.shape == (3, 576)  # SmolLM2-135M's hidden size
    assert result.model == recorded_llm.model and result.usage.prompt_tokens > 0
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    assert cosine[0, 1] < 0.9999 and cosine[0, 2] < 0.9999  # three different vectors
    assert cosine[0, 1] > max(cosine[0, 2], cosine[1, 2])  # the paraphrases are closest (0.92 vs 0.71)
