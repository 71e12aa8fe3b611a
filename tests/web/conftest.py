"""A real review page on a real uvicorn server (127.0.0.1, a free port), around a Project on a temp database.

No model is called: items are seeded with the drafts and critiques a run would have made
(tests/support/review_seed.py), and the drafter points at a port where nothing listens, so
any call to a model would fail the test loudly.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from oversight.config import load_settings
from oversight.project import Project
from oversight.review.accounts import add_user
from oversight.schemas import Task
from oversight.web.app import create_app
from tests.support.review_seed import finding, seed_items

XSS_DRAFT = 'Paris.<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> done'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    """A running review page: its base URL, project and the accounts' tokens."""

    url: str
    project: Project
    tokens: dict[str, str]
    app: Any = None  # the FastAPI app the server runs (its state holds e.g. the sign-in throttle)

    def client(self, user: str | None = None) -> httpx.Client:
        """An HTTP client, signed in as ``user`` when given."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        if user is not None:
            sign_in(client, self.tokens[user])
        return client


def sign_in(client: httpx.Client, token: str) -> httpx.Response:
    form = client.get("/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"token": token, "nonce": nonce, "next": "/"})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def serve(project: Project) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(project), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review page did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def default_items() -> list[tuple[Task, str, list[Any]]]:
    return [
        (Task(id="cap-fr", prompt="What is the capital of France? Answer with one word.", domain="geo"),
         "The capital of France is Paris, a city on the Seine.",
         [finding("a city on the Seine", "Adds detail the one-word instruction forbids.", severity="medium",
                  category="instruction-violation")]),
        (Task(id="xss", prompt="Say hello <b>bold</b>", domain="web"), XSS_DRAFT, []),
        (Task(id="cap-td", prompt="What is the capital of Chad? Answer with one word.", domain="geo"),
         "N'Djamena is the capital.", []),
    ]


@pytest.fixture
def site_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[uvicorn.Server, threading.Thread, Project]] = []

    def make(items: list[tuple[Task, str, list[Any]]] | None = None, *, db: str | None = None,
             users: dict[str, str] | None = None, **settings: Any) -> Site:
        config = load_settings(db=db or str(tmp_path / "review.db"), model="openai/drafter",
                               api_base="http://127.0.0.1:9/v1", api_key="sk-test", **settings)
        project = Project.open(config)
        seed_items(project, items if items is not None else default_items(), source="batch-1")
        tokens = {}
        for name, role in (users or {"ana": "trainer", "ben": "trainer", "lea": "lead"}).items():
            tokens[name] = add_user(project.store, name, role)[1]  # type: ignore[arg-type]
        url, server, thread = serve(project)
        started.append((server, thread, project))
        return Site(url, project, tokens, server.config.app)

    yield make
    for server, thread, project in started:
        server.should_exit = True
        thread.join(10)
        project.close()


@pytest.fixture
def site(site_factory: Any) -> Site:
    return site_factory()  # type: ignore[no-any-return]
