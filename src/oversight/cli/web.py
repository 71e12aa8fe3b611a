"""`oversight serve`, `oversight users` and `oversight calibration`: the review page and who uses it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from oversight.cli._common import emit_json, err, settings_from, visible

__all__ = ["calibration", "serve", "users"]


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


@click.group()
def users() -> None:
    """Accounts of the review page: trainers and leads."""


def _store(ctx: click.Context, *, create: bool = True):  # type: ignore[no-untyped-def]
    from oversight.project import open_store

    return open_store(settings_from(ctx), create=create)


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["trainer", "lead"]), required=True, help="A trainer refines; a lead also "
              "reads the patterns, the audit and decides interventions.")
@click.pass_context
def add_user(ctx: click.Context, name: str, role: str) -> None:
    """Add an account and print its sign-in token, once (only its hash is kept)."""
    from pydantic import ValidationError

    from oversight.errors import ConfigError
    from oversight.review.accounts import add_user as add

    with _store(ctx) as store:
        try:
            user, token = add(store, name, role)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ConfigError(f"user name {name!r}: letters, digits and . _ @ - only, 1 to 100 characters") from exc
    err(f"added {user.role} {visible(user.name)}; the token below is shown once: give it to them privately")
    click.echo(token)


@users.command("token")
@click.argument("name")
@click.pass_context
def new_token(ctx: click.Context, name: str) -> None:
    """Issue a new token for an account (the old one stops working); printed once."""
    from oversight.review.accounts import reissue_token

    with _store(ctx, create=False) as store:
        token = reissue_token(store, name)
    err(f"new token for {visible(name)}; the old one no longer works")
    click.echo(token)


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_context
def disable(ctx: click.Context, name: str, enable: bool) -> None:
    """Disable an account: its sessions end at once and its token stops working."""
    with _store(ctx, create=False) as store:
        store.set_user_disabled(name, not enable)
    click.echo(f"{'enabled' if enable else 'disabled'} {visible(name)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """The accounts (never their tokens)."""
    with _store(ctx, create=False) as store:
        found = store.users()
    if as_json:
        emit_json([u.model_dump(mode="json") for u in found])
        return
    for u in found:
        click.echo(f"{visible(u.name):<24} {u.role:<8} {'disabled' if u.disabled else 'active':<9} "
                   f"since {u.created_at:%Y-%m-%d}")
    err(f"{len(found)} account(s)")


@click.group()
def calibration() -> None:
    """Calibration items: drafts with an expert's refinement that every trainer refines blind."""


@calibration.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expert", help="Name recorded as the expert on rows that name none.")
@click.pass_context
def add_items(ctx: click.Context, file: Path, expert: str | None) -> None:
    """Seed calibration items from a JSONL/CSV file of expert answers.

    Each row: task_id (a task with a draft), decision, refined_text (for edit/rewrite), tags,
    rationale, and expert (or --expert); draft_id is optional (default: the task's newest draft).
    The whole file is checked first: a bad row names its line and field, and nothing is added.
    """
    from oversight.review.calibration import read_items

    with _store(ctx, create=False) as store:
        items = read_items(store, file, expert=expert)
        for item in items:
            store.save_calibration_item(item)
    click.echo(f"{len(items)} calibration item(s) from {file}")


@calibration.command("report")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calibration_report(ctx: click.Context, as_json: bool) -> None:
    """Each trainer's agreement with the experts, and each pair's with each other."""
    from dataclasses import asdict

    from oversight.review.calibration import agreement

    with _store(ctx, create=False) as store:
        people, pairs = agreement(store)
    if as_json:
        emit_json({"trainers": [asdict(p) for p in people], "pairs": [asdict(p) for p in pairs]})
        return
    click.echo(f"{'TRAINER':<24} {'ITEMS':>5} {'DECISION':>9} {'TAGS':>6} {'WORDS':>6}")
    for p in people:
        click.echo(f"{visible(p.reviewer):<24} {p.answered:>5} {p.decision_agreement:>9.0%} {p.tag_overlap:>6.0%} "
                   f"{p.text_similarity:>6.0%}")
    for q in pairs:
        click.echo(f"{visible(q.a)} · {visible(q.b)}: {q.items} shared, same decision {q.decision_agreement:.0%}, "
                   f"tags {q.tag_overlap:.0%}, words {q.text_similarity:.0%}")
