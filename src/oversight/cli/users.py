"""`oversight users`: the review page's accounts, trainers and leads."""

from __future__ import annotations

import click

from oversight.cli._common import emit_json, err, store_from, visible

__all__ = ["users"]


@click.group()
def users() -> None:
    """Accounts of the review page: trainers and leads."""


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

    with store_from(ctx) as store:
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

    with store_from(ctx, create=False) as store:
        token = reissue_token(store, name)
    err(f"new token for {visible(name)}; the old one no longer works")
    click.echo(token)


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@click.pass_context
def disable(ctx: click.Context, name: str, enable: bool) -> None:
    """Disable an account: its sessions end at once and its token stops working."""
    with store_from(ctx, create=False) as store:
        store.set_user_disabled(name, not enable)
    click.echo(f"{'enabled' if enable else 'disabled'} {visible(name)}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> None:
    """The accounts (never their tokens)."""
    with store_from(ctx, create=False) as store:
        found = store.users()
    if as_json:
        emit_json([u.model_dump(mode="json") for u in found])
        return
    for u in found:
        click.echo(f"{visible(u.name):<24} {u.role:<8} {'disabled' if u.disabled else 'active':<9} "
                   f"since {u.created_at:%Y-%m-%d}")
    err(f"{len(found)} account(s)")
