"""The ``ilertd`` command: serve, migrate, check-config, replay, timeline, rebuild, secrets."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import orjson
import structlog

from eventstore import EventStore
from eventstore.migrations import apply_migrations
from projections import ProjectionRunner, all_projections

from . import event_loop
from .app import resolve_database
from .config import OPTIONS, Config, ConfigError, closest_option_env, load_config
from .logging import configure_logging

EXIT_CONFIG = 2


@contextlib.asynccontextmanager
async def open_store(config: Config) -> AsyncIterator[EventStore]:
    """A store for one-off commands; stops the embedded server only if it started it."""
    dsn, embedded = await resolve_database(config)
    store = await EventStore.open(dsn, pool_size=4)
    try:
        yield store
    finally:
        await store.close()
        if embedded is not None and not embedded.adopted:
            await asyncio.to_thread(embedded.stop)


async def _migrate(config: Config) -> int:
    dsn, embedded = await resolve_database(config)
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        applied = await apply_migrations(conn)
    finally:
        await conn.close()
        if embedded is not None and not embedded.adopted:
            await asyncio.to_thread(embedded.stop)
    for migration in applied:
        print(f"applied {migration.component} {migration.version}: {migration.name}")
    if not applied:
        print("schema is up to date")
    return 0


async def _replay(config: Config, stream: UUID | None, alert: str | None, as_json: bool) -> int:
    """One stream's events: named by its id, or by the alert's API id (``--alert``)."""
    async with open_store(config) as store:
        if alert is not None:
            stream = await _alert_stream(store, alert)
            if stream is None:
                print(f"no alert {alert}", file=sys.stderr)
                return 1
        assert stream is not None
        events = await store.read_stream(stream)
    if not events:
        print(f"no events in stream {stream}", file=sys.stderr)
        return 1
    for event in events:
        if as_json:
            sys.stdout.buffer.write(
                orjson.dumps(
                    {
                        "position": event.position,
                        "streamId": str(event.stream_id),
                        "streamType": event.stream_type,
                        "version": event.version,
                        "type": event.type,
                        "data": event.data,
                        "metadata": event.metadata,
                        "recordedAt": event.recorded_at,
                    }
                )
                + b"\n"
            )
        else:
            actor = event.metadata.get("actor", "-")
            print(
                f"{event.recorded_at.isoformat()}  v{event.version:<4} #{event.position:<8} "
                f"{event.type:<28} by {actor}"
            )
    return 0


async def _timeline(config: Config, alert: str, as_json: bool) -> int:
    """An alert's whole history from its events (not from any projection)."""
    from projections.alerts import describe_event, log_vars

    async with open_store(config) as store:
        stream = await _alert_stream(store, alert)
        events = await store.read_stream(stream) if stream else []
    if not events:
        print(f"no alert {alert}", file=sys.stderr)
        return 1
    for event in events:
        data = event.data
        kind = event.type.removeprefix("alert-")
        entry_type, text = describe_event(kind, data)
        if as_json:
            line = {
                "position": event.position,
                "streamId": str(event.stream_id),
                "version": event.version,
                "timestamp": data.get("timestamp"),
                "type": event.type,
                "logEntryType": entry_type,
                "text": text,
                "actor": data.get("actor"),
                "vars": log_vars(kind, data),
                "metadata": event.metadata,
            }
            sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
        else:
            print(f"{data.get('timestamp')}  v{event.version:<3} {event.type:<26} {text}")
    return 0


async def _alert_stream(store: EventStore, alert: str) -> UUID | None:
    """An alert's stream from its API id (the position of its alert-created event)."""
    try:
        return UUID(alert)
    except ValueError:
        pass
    try:
        position = int(alert)
    except ValueError:
        return None
    return await store.pool.fetchval(
        "SELECT stream_id FROM events WHERE position = $1 AND type = 'alert-created'", position
    )


async def _rebuild(config: Config, name: str) -> int:
    projections = {p.name: p for p in all_projections()}
    if name not in projections:
        print(
            f"unknown projection {name!r}; known: {', '.join(sorted(projections))}", file=sys.stderr
        )
        return EXIT_CONFIG
    async with open_store(config) as store:
        runner = ProjectionRunner(store, [projections[name]])
        await runner.prepare()
        if sys.stdout.isatty():
            from rich.progress import Progress

            with Progress() as bar:
                task = bar.add_task(f"rebuilding {name}", total=None)

                def progress(position: int, head: int) -> None:
                    bar.update(task, completed=position, total=head)

                final = await runner.rebuild(name, progress)
        else:
            final = await runner.rebuild(name)
    print(f"rebuilt {name} up to position {final}")
    return 0


async def _reset_admin_key(config: Config) -> int:
    from eventstore.mapping import EventMapper
    from eventstore.repository import Repository

    from .bootstrap import NoAdminError, reset_admin_key
    from .domain.registry import build_registry

    async with open_store(config) as store:
        try:
            key = await reset_admin_key(Repository(store, EventMapper(build_registry())))
        except NoAdminError:
            print("no admin user yet: start ilertd once (ilertd serve)", file=sys.stderr)
            return 1
    sys.stdout.write(
        "The admin user's API keys are revoked. Its new key, shown only this once:\n"
        f"\n    {key}\n\n"
    )
    return 0


def _secrets_rotate(config: Config) -> int:
    from .sealing import SealingError, rotate

    try:
        sys.stdout.write(rotate(config))
    except (SealingError, OSError) as exc:
        print(f"ilertd: {exc}", file=sys.stderr)
        return 1
    return 0


async def _secrets_status(config: Config) -> int:
    """How many sealed values each key opens; 1 when one opens none of them."""
    from .sealing import SealingError, census, load_sealer

    try:
        sealer = load_sealer(config, create=False)
    except SealingError as exc:
        print(f"ilertd: {exc}", file=sys.stderr)
        return 1
    async with open_store(config) as store:
        found = await census(sealer, store.pool)
    print(f"keys from {sealer.source} (the first seals):")
    for number, (name, opened) in enumerate(found["keys"], 1):
        print(f"  {number}. {name}  opens {opened} sealed value(s)")
    print(f"plaintext values (events from before sealing): {found['plaintext']}")
    for where in found["unopened"]:
        print(f"no key opens {where}", file=sys.stderr)
    return 1 if found["unopened"] else 0


def _check_config(config: Config) -> int:
    print(f"# source: {config.source or 'defaults and environment'}")
    for option in OPTIONS:
        value = config.masked()[option.key]
        print(f"{option.key} = {orjson.dumps(value).decode()}    # {option.env}")
    for name in config.unknown_env:
        hint = closest_option_env(name)
        print(
            f"# {name}: unknown variable, ignored" + (f" (did you mean {hint}?)" if hint else ""),
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ilertd", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML file (default /etc/ilertd/ilertd.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the daemon")
    sub.add_parser("engine", help="run only the engine (serve starts it: engine.process)")
    sub.add_parser("migrate", help="apply pending schema migrations")
    sub.add_parser("check-config", help="print the effective configuration, secrets masked")
    replay = sub.add_parser("replay", help="print one stream's events")
    named = replay.add_mutually_exclusive_group(required=True)
    named.add_argument("--stream", type=UUID, help="stream id (uuid; timeline --json shows it)")
    named.add_argument("--alert", help="an alert's id, as in the API")
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    timeline = sub.add_parser("timeline", help="print an alert's history from its events")
    timeline.add_argument("alert", help="alert id (as in the API) or stream uuid")
    timeline.add_argument("--json", action="store_true", help="one JSON object per line")
    admin = sub.add_parser("admin", help="administration of the installation")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    admin_sub.add_parser(
        "reset-key", help="revoke the admin user's API keys and print a new one (a lost key)"
    )
    secrets = sub.add_parser("secrets", help="the keys sealing connector and action secrets")
    secrets_sub = secrets.add_subparsers(dest="secrets_command", required=True)
    secrets_sub.add_parser(
        "rotate", help="put a new key in front (new writes use it; the old ones still open)"
    )
    secrets_sub.add_parser("status", help="how many sealed values each key opens")
    rebuild = sub.add_parser("rebuild", help="drop a projection and replay it from 0")
    rebuild.add_argument("name", help="projection name, e.g. users")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"ilertd: bad configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        return _check_config(config)
    configure_logging(config["log.format"], config["log.level"])
    for name in config.unknown_env:
        structlog.get_logger("ilertd.config").warning(
            "unknown ILERTD_ variable ignored", variable=name, did_you_mean=closest_option_env(name)
        )
    if args.command == "serve":
        from .serve import serve

        return event_loop.run(serve(config))
    if args.command == "engine":
        from .engine.process import engine_main

        return engine_main(config)
    if args.command == "migrate":
        return asyncio.run(_migrate(config))
    if args.command == "replay":
        return asyncio.run(_replay(config, args.stream, args.alert, args.json))
    if args.command == "timeline":
        return asyncio.run(_timeline(config, args.alert, args.json))
    if args.command == "rebuild":
        return asyncio.run(_rebuild(config, args.name))
    if args.command == "secrets" and args.secrets_command == "rotate":
        return _secrets_rotate(config)
    if args.command == "secrets" and args.secrets_command == "status":
        return asyncio.run(_secrets_status(config))
    if args.command == "admin" and args.admin_command == "reset-key":
        return asyncio.run(_reset_admin_key(config))
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
