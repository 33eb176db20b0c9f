"""What earlier `provision` runs applied, so that a re-run goes to Keycloak only for the rows
that changed since (the nightly run over an unchanged export then takes seconds, not the
half hour that reading 100,000 accounts back from Keycloak's admin API costs).

A SQLite file (stdlib, one writer: the job), kept by the operator next to the job:
- `applied`: student number -> fingerprint of the SIS row last written to Keycloak, the
  account's id and INE. A row is recorded only after Keycloak confirmed its write, so a
  crash leaves rows unrecorded, and the next run checks those against Keycloak again: never
  a row recorded but not applied. The id lets a changed row be read by id (a primary-key
  read) instead of searched by attribute (a scan of the attribute table: ~40 ms at 10,000
  accounts on PostgreSQL, ~240 ms on H2, growing with the realm).
- `identifiers`: every identifier the job handed out, so that one is never handed out again
  even if its account was deleted by hand meanwhile.
- `meta.realm`: the realm the file belongs to; a file is refused for another realm.

The file is trusted only for rows it knows with the same fingerprint. What changed in
Keycloak behind the job's back (an admin editing a name) is put right by `--full`, which
checks every row against Keycloak (docs/lifecycle.md: weekly).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bridge.domain.errors import InvalidInput


class StateError(InvalidInput):
    code = "provision.state"


class ProvisionState:
    def __init__(self, path: Path, realm: str) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level="DEFERRED")
            self._db.executescript(
                """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS applied (
                    student_number TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    ine TEXT
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS applied_ine ON applied (ine);
                CREATE TABLE IF NOT EXISTS identifiers (username TEXT PRIMARY KEY) WITHOUT ROWID;
                """
            )
        except sqlite3.DatabaseError as error:
            raise StateError(f"{path}: not a provisioning state file ({error})") from error
        row = self._db.execute("SELECT value FROM meta WHERE key = 'realm'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('realm', ?)", (realm,))
            self._db.commit()
        elif row[0] != realm:
            self._db.close()
            raise StateError(
                f"{path} records the runs against {row[0]}, not {realm}: "
                "give this realm its own --state file"
            )

    def applied_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM applied").fetchone()[0])

    def fingerprint(self, student_number: str) -> str | None:
        row = self._db.execute(
            "SELECT fingerprint FROM applied WHERE student_number = ?", (student_number,)
        ).fetchone()
        return str(row[0]) if row else None

    def account_of(self, student_number: str) -> str | None:
        """The id of the account this student number was last applied to."""
        row = self._db.execute(
            "SELECT user_id FROM applied WHERE student_number = ?", (student_number,)
        ).fetchone()
        return str(row[0]) if row else None

    def account_with_ine(self, ine: str) -> str | None:
        row = self._db.execute("SELECT user_id FROM applied WHERE ine = ?", (ine,)).fetchone()
        return str(row[0]) if row else None

    def record(self, student_number: str, fingerprint: str, user_id: str, ine: str | None) -> None:
        self._db.execute(
            "INSERT INTO applied VALUES (?, ?, ?, ?) ON CONFLICT (student_number) "
            "DO UPDATE SET fingerprint = excluded.fingerprint, user_id = excluded.user_id, "
            "ine = excluded.ine",
            (student_number, fingerprint, user_id, ine),
        )

    def handed_out(self, username: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO identifiers VALUES (?)", (username,))

    def identifiers(self) -> list[str]:
        return [str(row[0]) for row in self._db.execute("SELECT username FROM identifiers")]

    def identifiers_with_prefix(self, prefix: str) -> list[str]:
        # A range scan on the primary key: every identifier starting with `prefix`.
        rows = self._db.execute(
            "SELECT username FROM identifiers WHERE username >= ? AND username < ?",
            (prefix, prefix + "\U0010ffff"),
        )
        return [str(row[0]) for row in rows]

    def forget(self) -> None:
        """Drop every fingerprint (identifiers stay): the next run checks every row."""
        self._db.execute("DELETE FROM applied")
        self._db.commit()

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.commit()
        self._db.close()
