"""`oversight serve`: the review page."""

from __future__ import annotations

import os

import click

from oversight.cli._common import err, settings_from

__all__ = ["serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface; put a reverse proxy with TLS in front).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes. Several need a database they can share: PostgreSQL, or one SQLite file.")
@click.option("--proxy-headers/--no-proxy-headers", default=True, show_default=True,
              help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips (a reverse proxy's https).")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Proxies whose X-Forwarded-* headers are trusted.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, proxy_headers: bool, forwarded_allow_ips: str,
          log_level: str) -> None:
    """Serve the review page: trainers refine drafts in the browser, leads read patterns and decide.

    The database is the global --db (or OVERSIGHT_DB, or oversight.toml): a SQLite file for one
    machine, a PostgreSQL URL for a team (e.g. --db postgresql://oversight@db/oversight). Add
    accounts first with `oversight users add NAME --role trainer|lead`; each prints its token once.
    The page never calls a model: drafting runs apart (`oversight draft`), so a provider outage
    does not stop review.
    """
    import uvicorn

    from oversight.project import open_store

    settings = settings_from(ctx)
    with open_store(settings) as store:  # create and migrate once, before the workers start
        users = store.users()
    if not users:
        err("oversight: no accounts yet: add one with `oversight users add NAME --role lead`")
    root = ctx.find_root().obj or {}
    if root.get("db"):
        os.environ["OVERSIGHT_DB"] = root["db"]
    if root.get("config_path"):
        os.environ["OVERSIGHT_CONFIG"] = str(root["config_path"])
    err(f"oversight: serving the review page on http://{host}:{port} ({workers} worker(s)); Ctrl+C stops it")
    # its log lines pass through the CLI's escaping writer (a request path is anyone's text): no colour codes
    uvicorn.run("oversight.web.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips, log_level=log_level,
                use_colors=False)
