"""Shared fixtures: every test isolated (own home, cwd and database), retries that do not
sleep, cassettes under cassettes/<test path>/<test>.yaml with secrets filtered."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cassettes import MATCH_ON, llm_body_matcher
from tests.support.cassettes import SECRET_HEADERS as CASSETTE_SECRET_HEADERS

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
CASSETTES = ROOT / "cassettes"
FIXTURES = TESTS / "fixtures"

# The endpoint cassettes were recorded from: `oversight model serve --port 8765`
# (llama-cpp-python serving the embedded SmolLM2-135M-Instruct).
RECORDED_API_BASE = "http://127.0.0.1:8765/v1"
RECORDED_MODEL = "openai/smollm2-135m-instruct"
RECORDED_API_KEY = "sk-local"

SECRET_HEADERS = CASSETTE_SECRET_HEADERS


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Own HOME and cwd; no OVERSIGHT_* or provider keys leak in from the machine."""
    for name in list(os.environ):
        if name.startswith("OVERSIGHT_") and name != "OVERSIGHT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(autouse=True)
def _retries_do_not_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry policy records how long it would have waited instead of waiting."""
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("oversight.llm._default_sleep", no_sleep)
    return waits


@pytest.fixture(autouse=True)
def _graphs_run_with_their_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library runs every graph with its project in the run context; falling back to the default
    project from the settings (there for LangGraph's server) would be a run on the wrong database."""

    def refuse() -> None:
        raise AssertionError("a graph ran without a project in its context (context=PipelineContext(...))")

    monkeypatch.setattr("oversight.pipelines.context._open_default", refuse)
    monkeypatch.setattr("oversight.pipelines.context._default", None)


@pytest.fixture
def retry_waits(_retries_do_not_sleep: list[float]) -> list[float]:
    return _retries_do_not_sleep


# -- stores -------------------------------------------------------------------------


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[Any]:
    from oversight.store import Store

    with Store.open(tmp_path / "test.db") as store:
        yield store


def _postgres_url() -> str | None:
    return os.environ.get("OVERSIGHT_TEST_POSTGRES_URL") or None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = _postgres_url()
    if not base:
        pytest.skip("set OVERSIGHT_TEST_POSTGRES_URL to run PostgreSQL tests")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    from oversight.store import Store

    with Store.open(store_url) as opened:
        yield opened


# -- cassettes ----------------------------------------------------------------------


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    vcr.register_matcher("llm_body", llm_body_matcher)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [(h, None) for h in SECRET_HEADERS],
        "filter_query_parameters": ["key", "api_key"],
        "match_on": MATCH_ON,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    relative = Path(request.node.path).resolve().relative_to(TESTS).with_suffix("")
    return str(CASSETTES / relative)


@pytest.fixture
def recorded_llm() -> Any:
    """An LLM pointed at the endpoint the cassettes were recorded from."""
    from oversight.llm import LLM

    return LLM(RECORDED_MODEL, api_base=RECORDED_API_BASE, api_key=RECORDED_API_KEY, concurrency=2)


@pytest.fixture
def recorded_settings(tmp_path: Path) -> Any:
    """Settings that point the refine pipeline at the recorded endpoint."""
    from oversight.config import load_settings

    return load_settings(
        db=str(tmp_path / "oversight.db"),
        model=RECORDED_MODEL,
        api_base=RECORDED_API_BASE,
        api_key=RECORDED_API_KEY,
        concurrency=1,
    )
