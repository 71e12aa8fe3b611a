"""Fixtures shared with the mining tests: the real default embedder, loaded once."""

from tests.mine.conftest import embedder  # noqa: F401
