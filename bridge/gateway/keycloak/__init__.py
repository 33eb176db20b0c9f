"""The only place that speaks to Keycloak, one class per credential:

- `StudentsGateway` (students.py): the web bridge's service account; the student pages.
- `StaffGateway`, `AuditReader` (staff.py, audit.py): the staff console's service account;
  `StaffSignIn` (staff.py): the staff member's own sign-in, which carries no admin right.
- `ProvisioningGateway` (provisioning.py): the jobs' service account.
- `RealmSetup` (realm_setup.py): an administrator, once per realm.
- `SelfService` (self_service.py): the student's own access token (the portal's), against
  Keycloak's Account REST API: the account page (docs/account-page.md).

mapping.py holds the vocabulary (fields, attributes, required actions), errors.py turns
Keycloak's failures into the domain's errors, base.py what the credentials share.
Nothing above this package sees a Keycloak word.
"""

from bridge.gateway.keycloak.audit import AuditReader, HistoryEntry
from bridge.gateway.keycloak.provisioning import Imported, NewAccount, ProvisioningGateway
from bridge.gateway.keycloak.realm_setup import RealmSetup
from bridge.gateway.keycloak.self_service import SelfService
from bridge.gateway.keycloak.staff import StaffGateway, StaffIdentity, StaffSignIn
from bridge.gateway.keycloak.students import StudentsGateway

__all__ = [
    "AuditReader",
    "HistoryEntry",
    "Imported",
    "NewAccount",
    "ProvisioningGateway",
    "RealmSetup",
    "SelfService",
    "StaffGateway",
    "StaffIdentity",
    "StaffSignIn",
    "StudentsGateway",
]
