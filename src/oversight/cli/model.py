"""`oversight model serve|where`: the embedded default model."""

from __future__ import annotations

import time

import click

from oversight.cli._common import err


@click.group()
def model() -> None:
    """The embedded default model (SmolLM2-135M-Instruct via llama-cpp-python)."""


@model.command()
def where() -> None:
    """Print the path of the embedded model's GGUF file."""
    from oversight.local import gguf_path

    click.echo(str(gguf_path()))


@model.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1.")
def serve(port: int) -> None:
    """Serve the embedded model as an OpenAI-compatible server until Ctrl-C.

    Use it with --model openai/smollm2-135m-instruct --api-base http://127.0.0.1:PORT/v1
    (this is also how cassettes are recorded).
    """
    from oversight.local import EMBEDDED_MODEL, LocalModelServer

    with LocalModelServer(port=port) as server:
        err(f"serving {EMBEDDED_MODEL} at {server.api_base} (Ctrl-C stops)")
        click.echo(server.api_base)
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
