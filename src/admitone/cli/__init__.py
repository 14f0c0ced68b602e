"""The ``admitone`` command: serve, worker, jobs, migrate, createuser, demo."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from admitone import postman, schema
from admitone.accounts import service as accounts_service
from admitone.accounts.models import Role
from admitone.app import openapi_document
from admitone.cli import jobs as jobs_cli
from admitone.config import ConfigurationError, Settings, load_settings
from admitone.core.actor import SYSTEM, acting_as
from admitone.core.errors import DomainError
from admitone.core.logs import configure_logging
from admitone.demo import DEMO_ACCOUNTS, seed_if_empty
from admitone.runtime import Runtime

app = typer.Typer(help="admitone: event ticketing.", no_args_is_help=True)
app.command()(jobs_cli.worker)
app.add_typer(jobs_cli.jobs_app, name="jobs")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        # An operator's configuration mistake: say which setting, not a traceback.
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    configure_logging(json=settings.json_logs, level=settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = _settings()

    async def run() -> None:
        runtime = Runtime.build(settings)
        try:
            await schema.upgrade(runtime.database)
            typer.echo(f"database migrated to {schema.head_revision()}")
        finally:
            await runtime.close()

    asyncio.run(run())


@app.command()
def createuser(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    role: Annotated[Role, typer.Option()] = Role.OWNER,
    password: Annotated[
        str | None, typer.Option(help="Read from a prompt when omitted (preferred).")
    ] = None,
) -> None:
    """Create a user; the first owner is made this way."""
    settings = _settings()
    secret = password or getpass.getpass("Password: ")

    async def run() -> None:
        runtime = Runtime.build(settings)
        try:
            await schema.ensure_current(runtime.database, auto_migrate=settings.should_auto_migrate)
            async with runtime.unit_of_work() as uow:
                with acting_as(SYSTEM):
                    user = await accounts_service.create_user(
                        uow, settings, email=email, name=name, password=secret, role=role
                    )
            typer.echo(f"created {user.role} {user.email} ({user.id})")
        finally:
            await runtime.close()

    try:
        asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def demo() -> None:
    """Migrate and create the demo accounts when the database is empty (development only)."""
    settings = _settings()
    if settings.env == "production":
        typer.echo("error: demo data is never created in production", err=True)
        raise typer.Exit(2)

    async def run() -> bool:
        runtime = Runtime.build(settings)
        try:
            await schema.ensure_current(runtime.database, auto_migrate=True)
            with acting_as(SYSTEM):
                return await seed_if_empty(runtime)
        finally:
            await runtime.close()

    created = asyncio.run(run())
    typer.echo(("created" if created else "kept existing") + " demo data; demo accounts:")
    for account in DEMO_ACCOUNTS:
        typer.echo(f"  {account.role.value:<10} {account.email}  /  {account.password}")


@app.command("postman")
def postman_collection(
    out: Annotated[Path, typer.Option(help="Directory to write the two files into.")] = Path(
        "postman"
    ),
) -> None:
    """Write the Postman collection and environment made from the OpenAPI document."""
    for path in postman.write(openapi_document(), out):
        typer.echo(f"wrote {path}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(min=1, help="HTTP worker processes.")] = 1,
) -> None:
    """Serve the API and web UI."""
    settings = _settings()
    if workers > 1 and settings.is_sqlite:
        typer.echo("error: several workers need PostgreSQL (ADMITONE_DATABASE_URL)", err=True)
        raise typer.Exit(2)

    async def check() -> None:
        runtime = Runtime.build(settings)
        try:
            await schema.ensure_current(runtime.database, auto_migrate=settings.should_auto_migrate)
        finally:
            await runtime.close()

    try:
        asyncio.run(check())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(f"admitone is serving on http://{bind_host}:{bind_port}")
    uvicorn.run(
        "admitone.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        access_log=False,
        # Open SSE streams would otherwise hold shutdown until every client hangs up.
        timeout_graceful_shutdown=5,
        log_level=settings.log_level.lower(),
    )
