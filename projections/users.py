"""Users, API keys, contacts and notification rules, for authentication and /api/users.

A user's integer API id is the global position of its ``user-registered`` event: unique,
known the moment the append returns, and identical after a rebuild. Deleted users keep
their row (``deleted_at`` set) so history can still name them, but lose their API keys, and
every lookup here skips them unless asked.

No unique constraints on email or username: the API checks them before appending, and a
constraint that a racing duplicate broke would stop the projection for good.

Contacts and notification rules are keyed by the user's API id and the item's per-user id
(``user_contacts``, ``user_notification_rules``); notifying reads them, so a deleted
user's are removed with the user.

Password hashes live in ``user_passwords``, apart from ``users``: every ``SELECT u.*`` (the
caller's row, each answer about a user) stays free of them, and only ``password_login``
reads one.

Profile fields that no lookup needs (position, department, region, shiftColor, and any
added later to ``domain.user.Profile``) are kept together in ``details`` (jsonb), so a new
field needs no edit here.
"""

from __future__ import annotations

from dataclasses import fields

import asyncpg
import orjson

from eventstore import RecordedEvent
from ilertd.domain.user import Profile

from .base import Projection

Db = asyncpg.Connection | asyncpg.Pool

#: the profile fields with a column of their own (looked up, ordered or compared in SQL)
COLUMNS = frozenset(
    {"email", "first_name", "last_name", "username", "role", "timezone", "language", "muted_until"}
)
#: every other profile field, with its default (events written before it existed lack it)
DETAILS = {f.name: f.default for f in fields(Profile) if f.name not in COLUMNS}


def _details(data: dict) -> str:
    return orjson.dumps(
        {name: data.get(name, default) for name, default in DETAILS.items()}
    ).decode()


class UsersProjection(Projection):
    name = "users"
    version = 5
    tables = ("user_passwords", "user_notification_rules", "user_contacts", "api_keys", "users")
    event_types = frozenset(
        {
            "user-registered",
            "user-updated",
            "user-deleted",
            "user-api-key-issued",
            "user-api-key-revoked",
            "user-password-set",
            "user-contact-added",
            "user-contact-changed",
            "user-contact-removed",
            "user-notification-rule-added",
            "user-notification-rule-changed",
            "user-notification-rule-removed",
        }
    )

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS users (
                id          bigint      PRIMARY KEY,
                stream_id   uuid        NOT NULL UNIQUE,
                username    text        NOT NULL,
                email       text        NOT NULL,
                first_name  text        NOT NULL,
                last_name   text        NOT NULL,
                role        text        NOT NULL,
                timezone    text        NOT NULL,
                language    text        NOT NULL,
                muted_until timestamptz,
                details     jsonb       NOT NULL,
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL,
                deleted_at  timestamptz
            );
            CREATE INDEX IF NOT EXISTS users_email ON users (lower(email))
                WHERE deleted_at IS NULL;
            CREATE INDEX IF NOT EXISTS users_username ON users (lower(username))
                WHERE deleted_at IS NULL;
            CREATE TABLE IF NOT EXISTS api_keys (
                key_hash    text        PRIMARY KEY,
                key_id      uuid        NOT NULL UNIQUE,
                user_id     bigint      NOT NULL REFERENCES users (id),
                label       text        NOT NULL,
                created_at  timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id);
            CREATE TABLE IF NOT EXISTS user_passwords (
                user_id       bigint    PRIMARY KEY REFERENCES users (id),
                password_hash text      NOT NULL
            );
            CREATE TABLE IF NOT EXISTS user_contacts (
                user_id     bigint      NOT NULL,
                contact_id  integer     NOT NULL,
                channel     text        NOT NULL,
                target      text        NOT NULL,
                region_code text,
                is_primary  boolean     NOT NULL DEFAULT false,
                PRIMARY KEY (user_id, contact_id)
            );
            CREATE TABLE IF NOT EXISTS user_notification_rules (
                user_id       bigint    NOT NULL,
                rule_id       integer   NOT NULL,
                kind          text      NOT NULL,
                method        text      NOT NULL,
                contact_id    integer,
                delay_min     integer,
                priority_type text,
                before_min    integer,
                update_type   text,
                PRIMARY KEY (user_id, rule_id)
            );
            """
        )

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        data = event.data
        if event.type == "user-registered":
            await self._registered(conn, event, data)
        elif event.type == "user-updated":
            await self._updated(conn, event, data)
        elif event.type == "user-deleted":
            await conn.execute(
                """
                WITH gone AS (
                    UPDATE users SET deleted_at = $1, updated_at = $1
                    WHERE stream_id = $2 RETURNING id
                ), keys AS (
                    DELETE FROM api_keys WHERE user_id IN (SELECT id FROM gone)
                ), passwords AS (
                    DELETE FROM user_passwords WHERE user_id IN (SELECT id FROM gone)
                ), rules AS (
                    DELETE FROM user_notification_rules WHERE user_id IN (SELECT id FROM gone)
                )
                DELETE FROM user_contacts WHERE user_id IN (SELECT id FROM gone)
                """,
                event.recorded_at,
                event.stream_id,
            )
        elif event.type == "user-api-key-issued":
            await conn.execute(
                """
                INSERT INTO api_keys (key_hash, key_id, user_id, label, created_at)
                SELECT $1, $2, id, $3, $4 FROM users WHERE stream_id = $5
                """,
                data["key_hash"],
                data["key_id"],
                data["label"],
                event.recorded_at,
                event.stream_id,
            )
        elif event.type == "user-api-key-revoked":
            await conn.execute("DELETE FROM api_keys WHERE key_id = $1", data["key_id"])
        elif event.type == "user-password-set":
            await conn.execute(
                """
                INSERT INTO user_passwords (user_id, password_hash)
                SELECT id, $2 FROM users WHERE stream_id = $1
                ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash
                """,
                event.stream_id,
                data["password_hash"],
            )
        elif event.type in ("user-contact-added", "user-contact-changed"):
            await self._contact_set(conn, event, data)
        elif event.type == "user-contact-removed":
            await conn.execute(
                """
                DELETE FROM user_contacts
                WHERE user_id = (SELECT id FROM users WHERE stream_id = $1) AND contact_id = $2
                """,
                event.stream_id,
                data["contact_id"],
            )
        elif event.type in ("user-notification-rule-added", "user-notification-rule-changed"):
            await self._rule_set(conn, event, data)
        elif event.type == "user-notification-rule-removed":
            await conn.execute(
                """
                DELETE FROM user_notification_rules
                WHERE user_id = (SELECT id FROM users WHERE stream_id = $1) AND rule_id = $2
                """,
                event.stream_id,
                data["rule_id"],
            )

    async def _contact_set(
        self, conn: asyncpg.Connection, event: RecordedEvent, data: dict
    ) -> None:
        """Insert or replace a contact; a primary one demotes its channel's other primary,
        as the aggregate's handler does."""
        if data["primary"]:
            await conn.execute(
                """
                UPDATE user_contacts SET is_primary = false
                WHERE user_id = (SELECT id FROM users WHERE stream_id = $1)
                  AND channel = $2 AND contact_id <> $3 AND is_primary
                """,
                event.stream_id,
                data["channel"],
                data["contact_id"],
            )
        await conn.execute(
            """
            INSERT INTO user_contacts (user_id, contact_id, channel, target, region_code,
                                       is_primary)
            SELECT id, $2, $3, $4, $5, $6 FROM users WHERE stream_id = $1
            ON CONFLICT (user_id, contact_id) DO UPDATE SET
                channel = EXCLUDED.channel, target = EXCLUDED.target,
                region_code = EXCLUDED.region_code, is_primary = EXCLUDED.is_primary
            """,
            event.stream_id,
            data["contact_id"],
            data["channel"],
            data["target"],
            data["region_code"],
            data["primary"],
        )

    async def _rule_set(self, conn: asyncpg.Connection, event: RecordedEvent, data: dict) -> None:
        await conn.execute(
            """
            INSERT INTO user_notification_rules (user_id, rule_id, kind, method, contact_id,
                                                 delay_min, priority_type, before_min,
                                                 update_type)
            SELECT id, $2, $3, $4, $5, $6, $7, $8, $9 FROM users WHERE stream_id = $1
            ON CONFLICT (user_id, rule_id) DO UPDATE SET
                kind = EXCLUDED.kind, method = EXCLUDED.method,
                contact_id = EXCLUDED.contact_id, delay_min = EXCLUDED.delay_min,
                priority_type = EXCLUDED.priority_type, before_min = EXCLUDED.before_min,
                update_type = EXCLUDED.update_type
            """,
            event.stream_id,
            data["rule_id"],
            data["kind"],
            data["method"],
            data["contact_id"],
            data["delay_min"],
            data["priority_type"],
            data["before_min"],
            data["update_type"],
        )

    async def _registered(self, conn: asyncpg.Connection, event: RecordedEvent, data: dict) -> None:
        await conn.execute(
            """
            INSERT INTO users (id, stream_id, username, email, first_name, last_name, role,
                               timezone, language, muted_until, details, created_at,
                               updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::timestamptz, $11::jsonb,
                    $12, $12)
            """,
            event.position,
            event.stream_id,
            data["username"],
            data["email"],
            data.get("first_name", ""),
            data.get("last_name", ""),
            data["role"],
            data.get("timezone", "UTC"),
            data.get("language", "en"),
            data.get("muted_until"),  # absent in events written before mutedUntil existed
            _details(data),
            event.recorded_at,
        )

    async def _updated(self, conn: asyncpg.Connection, event: RecordedEvent, data: dict) -> None:
        await conn.execute(
            """
            UPDATE users SET username = $2, email = $3, first_name = $4, last_name = $5,
                             role = $6, timezone = $7, language = $8,
                             muted_until = $9::text::timestamptz, details = $10::jsonb,
                             updated_at = $11
            WHERE stream_id = $1
            """,
            event.stream_id,
            data["username"],
            data["email"],
            data["first_name"],
            data["last_name"],
            data["role"],
            data["timezone"],
            data["language"],
            data["muted_until"],
            _details(data),
            event.recorded_at,
        )


async def user_by_key_hash(conn: Db, key_hash: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT u.* FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.key_hash = $1 AND u.deleted_at IS NULL
        """,
        key_hash,
    )


async def password_login(conn: Db, name: str) -> asyncpg.Record | None:
    """``user_id`` and ``password_hash`` of the live user with a password whose username
    or email is ``name`` (ignoring case); a username match wins over an email match."""
    return await conn.fetchrow(
        """
        SELECT p.user_id, p.password_hash
        FROM user_passwords p JOIN users u ON u.id = p.user_id
        WHERE u.deleted_at IS NULL
          AND (lower(u.username) = lower($1) OR lower(u.email) = lower($1))
        ORDER BY lower(u.username) = lower($1) DESC, u.id
        LIMIT 1
        """,
        name,
    )


async def user_by_id(
    conn: Db, user_id: int, *, include_deleted: bool = False
) -> asyncpg.Record | None:
    """A live user; ``include_deleted`` also finds deleted ones (to name them in history)."""
    return await conn.fetchrow(
        "SELECT * FROM users WHERE id = $1 AND ($2 OR deleted_at IS NULL)",
        user_id,
        include_deleted,
    )


async def user_by_name(
    conn: Db, *, username: str | None = None, email: str | None = None
) -> asyncpg.Record | None:
    """The live user with this username or email, ignoring case (as uniqueness does)."""
    return await conn.fetchrow(
        """
        SELECT * FROM users
        WHERE deleted_at IS NULL AND (lower(username) = lower($1) OR lower(email) = lower($2))
        ORDER BY id LIMIT 1
        """,
        username,
        email,
    )


async def count_users(conn: Db) -> int:
    return await conn.fetchval("SELECT count(*) FROM users WHERE deleted_at IS NULL")


async def list_users(conn: Db, offset: int, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM users WHERE deleted_at IS NULL ORDER BY id OFFSET $1 LIMIT $2",
        offset,
        limit,
    )


async def taken_by(
    conn: Db, *, email: str, username: str, except_id: int | None = None
) -> str | None:
    """``"email"`` or ``"username"`` if another live user has it (ignoring case), else None."""
    row = await conn.fetchrow(
        """
        SELECT lower(email) = lower($1) AS email, lower(username) = lower($2) AS username
        FROM users
        WHERE deleted_at IS NULL AND id IS DISTINCT FROM $3
          AND (lower(email) = lower($1) OR lower(username) = lower($2))
        ORDER BY 1 DESC LIMIT 1
        """,
        email,
        username,
        except_id,
    )
    if row is None:
        return None
    return "email" if row["email"] else "username"


async def count_admins(conn: Db, *, except_id: int | None = None) -> int:
    """Live ADMINs, leaving out ``except_id``: the last-admin guard's input."""
    return await conn.fetchval(
        """
        SELECT count(*) FROM users
        WHERE role = 'ADMIN' AND deleted_at IS NULL AND id IS DISTINCT FROM $1
        """,
        except_id,
    )


async def api_keys_of(conn: Db, user_id: int) -> list[asyncpg.Record]:
    """Key ids, labels and creation times; never the hashes."""
    return await conn.fetch(
        "SELECT key_id, label, created_at FROM api_keys WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )


async def api_key_of(conn: Db, user_id: int, key_id: object) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT key_id, label, created_at FROM api_keys WHERE user_id = $1 AND key_id = $2",
        user_id,
        key_id,
    )


# --- contacts and notification rules ------------------------------------------------------


async def contacts_of(conn: Db, user_id: int, channel: str) -> list[asyncpg.Record]:
    """A user's contacts of one channel (EMAIL, PHONE), oldest first."""
    return await conn.fetch(
        "SELECT * FROM user_contacts WHERE user_id = $1 AND channel = $2 ORDER BY contact_id",
        user_id,
        channel,
    )


async def contact_of(
    conn: Db, user_id: int, contact_id: int, channel: str
) -> asyncpg.Record | None:
    """One contact, only if it is of ``channel`` (an email id on the phone path is a 404)."""
    return await conn.fetchrow(
        """
        SELECT * FROM user_contacts
        WHERE user_id = $1 AND contact_id = $2 AND channel = $3
        """,
        user_id,
        contact_id,
        channel,
    )


_RULES = """
    SELECT r.*, c.target, c.channel
    FROM user_notification_rules r
    LEFT JOIN user_contacts c ON c.user_id = r.user_id AND c.contact_id = r.contact_id
"""


async def notification_rules(conn: Db, user_id: int, kind: str) -> list[asyncpg.Record]:
    """A user's rules of one kind (``alerts``, ``duties``, ``updates``), each with its
    contact's ``target`` and ``channel`` (NULL for PUSH), in the order they fire: by
    ``delay_min`` (alerts) or ``before_min`` (duties), then by id."""
    return await conn.fetch(
        _RULES
        + """
        WHERE r.user_id = $1 AND r.kind = $2
        ORDER BY r.delay_min, r.before_min, r.rule_id
        """,
        user_id,
        kind,
    )


async def notification_rules_of(
    conn: Db, user_ids: list[int], kinds: tuple[str, ...]
) -> dict[tuple[int, str], list[asyncpg.Record]]:
    """As ``notification_rules`` for many users and kinds in one query, by (user, kind)."""
    found: dict[tuple[int, str], list[asyncpg.Record]] = {}
    for row in await conn.fetch(
        _RULES
        + """
        WHERE r.user_id = ANY($1::bigint[]) AND r.kind = ANY($2::text[])
        ORDER BY r.user_id, r.delay_min, r.before_min, r.rule_id
        """,
        user_ids,
        list(kinds),
    ):
        found.setdefault((row["user_id"], row["kind"]), []).append(row)
    return found


async def notification_rule(
    conn: Db, user_id: int, rule_id: int, kind: str
) -> asyncpg.Record | None:
    """One rule with its contact, only if it is of ``kind``."""
    return await conn.fetchrow(
        _RULES + " WHERE r.user_id = $1 AND r.rule_id = $2 AND r.kind = $3",
        user_id,
        rule_id,
        kind,
    )
