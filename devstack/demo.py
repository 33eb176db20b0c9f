"""Demo data for `make dev`: the students of demo/students.csv, one per case of the seeds,
and one staff member. A minimal loader: it creates what is missing and never updates.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bridge.domain.accounts import StudentRecord
from bridge.domain.ine import parse_ine
from bridge.domain.lifecycle import is_expired, valid_until
from bridge.domain.supann import principal_name
from bridge.flows.activation_keys import KEY_ACTIONS
from devstack.admin import DevAdmin

DEMO_CSV = Path(__file__).resolve().parents[1] / "demo" / "students.csv"
# Demo secrets, printed by `make dev`: they exist only in the local dev realm.
DEMO_PASSWORD = "Campus-2026!"  # noqa: S105
DEMO_ACTIVATION_KEY = "K7PX-M9QA-R4TD"
STAFF = StudentRecord(
    username="agent.k103",
    first_name="Camille",
    last_name="Guichet",
    student_number="",
    rescue_email=None,
    institutional_email="camille.guichet@umontpellier.example",
    affiliations=("staff", "employee"),
)
STAFF_PASSWORD = "Guichet-K103!"  # noqa: S105
# A staff administrator (realm role `staff-admin`): may also anonymise, in the console, an
# account expired for the retention period (docs/console.md, "Administrators"). Same
# authenticator key as the staff member above, in the dev stack only.
ADMIN = StudentRecord(
    username="admin.dpo",
    first_name="Dominique",
    last_name="Protection",
    student_number="",
    rescue_email=None,
    institutional_email="dominique.protection@umontpellier.example",
    affiliations=("staff", "employee"),
)
ADMIN_PASSWORD = "Protection-DPO-2026!"  # noqa: S105
ADMIN_ROLE = "staff-admin"

STATES = ("pending", "activated", "expired", "activation_key", "suspended")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    state: str
    secret: str | None
    note: str


def read_demo_csv(path: Path = DEMO_CSV) -> list[tuple[StudentRecord, str]]:
    rows = []
    with path.open(newline="", encoding="utf-8") as stream:
        for line, row in enumerate(csv.DictReader(stream), start=2):
            state = row["demo_state"].strip()
            if state not in STATES:
                raise ValueError(f"{path.name}:{line}: unknown demo_state {state!r}")
            record = StudentRecord(
                username=row["username"].strip(),
                # What provisioning writes (bridge.flows.provisioning), with the default domain.
                principal_name=principal_name(row["username"].strip(), "umontpellier.fr"),
                first_name=row["first_name"].strip(),
                last_name=row["last_name"].strip(),
                student_number=row["student_number"].strip(),
                ine=parse_ine(row["ine"]).value if row["ine"].strip() else None,
                rescue_email=row["rescue_email"].strip() or None,
                institutional_email=row["institutional_email"].strip() or None,
                last_enrollment_year=int(row["last_enrollment_year"]),
            )
            rows.append((record, state))
    return rows


async def load_demo(
    gateway: DevAdmin,
    today: dt.date,
    path: Path = DEMO_CSV,
    staff_otp_secret: str | None = None,
) -> list[DemoAccount]:
    """`staff_otp_secret`: the demo staff member's authenticator key (base32), enrolled
    whether the account is new or not (the realm's flow asks staff for a code;
    docs/security.md, "Staff second factor"). Without it, the console's first sign-in
    asks to set up an app."""
    loaded: list[DemoAccount] = []
    for record, state in read_demo_csv(path):
        assert record.last_enrollment_year is not None
        expired = is_expired(valid_until(record.last_enrollment_year), today)
        suspended = state == "suspended"  # disabled by hand while still enrolled
        account, created = await gateway.provision_account(
            record, enabled=not (expired or suspended)
        )
        secret: str | None = None
        if state in ("activated", "expired", "suspended"):
            secret = DEMO_PASSWORD
            if created:
                await gateway.set_password(account.id, DEMO_PASSWORD, temporary=False)
        elif state == "activation_key":
            secret = DEMO_ACTIVATION_KEY
            if created:
                await gateway.set_activation_key(account, DEMO_ACTIVATION_KEY, KEY_ACTIONS)
        notes = {
            "pending": "à activer, adresse de secours connue"
            if record.rescue_email
            else "à activer, sans adresse de secours (INE demandé)",
            "activated": "compte déjà activé",
            "expired": f"expiré depuis le {valid_until(record.last_enrollment_year):%d/%m/%Y}",
            "activation_key": "clé d'activation (mot de passe temporaire)",
            "suspended": "désactivé mais inscrit (la console peut le réactiver)",
        }
        loaded.append(DemoAccount(record.username, state, secret, notes[state]))
    staff, created = await gateway.provision_account(STAFF, groups=("staff",))
    if created:
        await gateway.set_password(staff.id, STAFF_PASSWORD, temporary=False)
    if staff_otp_secret:
        await gateway.enroll_totp(staff.id, staff_otp_secret)
    note = "personnel (console ; code à usage unique : ci-dessous)"
    loaded.append(DemoAccount(STAFF.username, "staff", STAFF_PASSWORD, note))
    admin, created = await gateway.provision_account(ADMIN, groups=("staff",))
    if created:
        await gateway.set_password(admin.id, ADMIN_PASSWORD, temporary=False)
    await gateway.grant_realm_role(admin.id, ADMIN_ROLE)
    if staff_otp_secret:
        await gateway.enroll_totp(admin.id, staff_otp_secret)
    note = "administrateur du personnel (anonymisation ; même code que agent.k103)"
    loaded.append(DemoAccount(ADMIN.username, "staff", ADMIN_PASSWORD, note))
    return loaded
