"""The mailbox of the bounce address (UM_BOUNCE_ADDRESS): where returned mails arrive.

Two kinds, the same interface (`messages()` then `done(key)` for each one handled):

- a Maildir (UM_BOUNCE_MAILDIR): the dev stack's and the tests' (the sink delivers its DSNs
  there), or a local MTA's delivery directory. A handled message moves to cur/ with the
  Seen flag: it is never read again, and stays there for an operator to look at.
- IMAP (UM_BOUNCE_IMAP_URL, imaps://user:password@host[:port]/FOLDER): production's. The
  unseen messages are read without marking them (BODY.PEEK); a handled one is flagged
  \\Seen, so the next run skips it, and kept for the postmaster.

A message not handled (Keycloak down in the middle of a run) stays unseen: the next run
reads it again; flagging an account twice writes the same mark again.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from bridge.domain.errors import ServiceUnavailable

# One run reads at most this many messages; the rest wait for the next run (a flood of
# junk must not keep the job, and its lock, for ever).
BATCH = 500


class BounceMailbox(Protocol):
    def messages(self) -> Iterator[tuple[str, bytes]]:
        """(key, raw message) for each message not yet handled, up to BATCH."""
        ...

    def done(self, key: str) -> None:
        """Never give this message again."""
        ...

    def close(self) -> None: ...


class MaildirBox:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # An existing empty directory (a fresh volume) is made a Maildir too.
            for sub in ("tmp", "new", "cur"):
                (path / sub).mkdir(parents=True, exist_ok=True)
            self._box = mailbox.Maildir(str(path), factory=None, create=True)
        except OSError as error:
            raise ServiceUnavailable(f"bounce Maildir: {type(error).__name__}") from error

    def messages(self) -> Iterator[tuple[str, bytes]]:
        count = 0
        for key in sorted(self._box.iterkeys()):
            if count >= BATCH:
                return
            try:
                message = self._box.get_message(key)
                if "S" in message.get_flags():
                    continue
                raw = self._box.get_bytes(key)
            except (KeyError, OSError):
                continue  # removed meanwhile (another reader): not ours any more
            count += 1
            yield key, raw

    def done(self, key: str) -> None:
        try:
            message = self._box.get_message(key)
        except KeyError:
            return
        message.set_subdir("cur")
        message.add_flag("S")
        self._box[key] = message

    def close(self) -> None:
        self._box.close()


class ImapBox:
    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("imaps", "imap") or not parts.hostname:
            raise ValueError("UM_BOUNCE_IMAP_URL: imaps://user:password@host[:port]/FOLDER")
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        context = ssl.create_default_context()
        try:
            self._imap: imaplib.IMAP4
            if parts.scheme == "imaps":
                self._imap = imaplib.IMAP4_SSL(
                    parts.hostname, parts.port or 993, ssl_context=context, timeout=timeout
                )
            else:
                # Plain IMAP only with STARTTLS: the password never crosses in clear.
                self._imap = imaplib.IMAP4(parts.hostname, parts.port or 143, timeout=timeout)
                self._imap.starttls(ssl_context=context)
            self._imap.login(user, password)
            status, _ = self._imap.select(self._quoted(self.folder))
            if status != "OK":
                raise imaplib.IMAP4.error(f"cannot select the folder ({status})")
        except (OSError, imaplib.IMAP4.error) as error:
            raise ServiceUnavailable(f"bounce mailbox (IMAP): {type(error).__name__}") from error

    @staticmethod
    def _quoted(folder: str) -> str:
        return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def messages(self) -> Iterator[tuple[str, bytes]]:
        try:
            status, data = self._imap.uid("SEARCH", "UNSEEN")
            if status != "OK":
                raise imaplib.IMAP4.error("SEARCH refused")
            uids = [bytes(u).decode() for u in (data[0] or b"").split()[:BATCH]]
            for uid in uids:
                status, fetched = self._imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(
                    (item[1] for item in fetched if isinstance(item, tuple) and len(item) > 1),
                    None,
                )
                if status == "OK" and isinstance(raw, bytes):
                    yield uid, raw
        except (OSError, imaplib.IMAP4.error) as error:
            raise ServiceUnavailable(f"bounce mailbox (IMAP): {type(error).__name__}") from error

    def done(self, key: str) -> None:
        try:
            self._imap.uid("STORE", key, "+FLAGS", "(\\Seen)")
        except (OSError, imaplib.IMAP4.error) as error:
            raise ServiceUnavailable(f"bounce mailbox (IMAP): {type(error).__name__}") from error

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self._imap.close()
            self._imap.logout()


def open_mailbox(imap_url: str | None, maildir: Path | None) -> BounceMailbox:
    """IMAP when its URL is set, else the Maildir; ValueError when neither is."""
    if imap_url:
        return ImapBox(imap_url)
    if maildir:
        return MaildirBox(maildir)
    raise ValueError("no bounce mailbox: set UM_BOUNCE_IMAP_URL (or UM_BOUNCE_MAILDIR)")
