"""`bridge bounces`: read the bounce mailbox and flag the accounts whose rescue address
was refused (scheduled every minute: deploy/cron/crontab; docs/operations.md).

It acts as the jobs' credential (the `provisioning` client): it can search and write
students only, which is all a rescue address flag concerns; the web bridge's credential
never reads mail. The mailbox is UM_BOUNCE_IMAP_URL (production) or UM_BOUNCE_MAILDIR.
"""

from __future__ import annotations

import datetime as dt

from bridge.flows.bounces import BounceSummary, process_bounces
from bridge.gateway.bounce_mailbox import BounceMailbox
from bridge.gateway.keycloak import ProvisioningGateway


async def bounces(
    gateway: ProvisioningGateway, mailbox: BounceMailbox, now: dt.datetime
) -> BounceSummary:
    await gateway.ensure_scoped()
    try:
        return await process_bounces(mailbox, gateway, now)
    finally:
        mailbox.close()
