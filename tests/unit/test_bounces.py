"""The DSN parser (bridge.domain.bounces) on returned mails as real MTAs write them
(Postfix, Exim, Gmail, Outlook), on delays and on junk; the bounce Maildir; the sink's
DSN."""

from __future__ import annotations

import datetime as dt
import mailbox
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar

import pytest

from bridge.domain.bounces import Bounce, parse_bounce, permanent_failures
from bridge.flows.bounces import process_bounces
from bridge.gateway.bounce_mailbox import MaildirBox, open_mailbox
from devstack.mailsink import delivery_status_notification, start_mail_sink

SAMPLES = Path(__file__).parent / "bounce_samples"
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes().replace(b"\n", b"\r\n")


def postfix(recipients: list[str]) -> bytes:
    return delivery_status_notification(
        "bounces@umontpellier.example", recipients, b"From: x\r\nTo: y\r\n\r\nbody"
    )


def test_postfix_dsn_names_each_failed_recipient_lowercased() -> None:
    assert parse_bounce(postfix(["Jeanne.Dupont@Example.net", "p@example.org"])) == [
        Bounce("jeanne.dupont@example.net", "5.1.1", True),
        Bounce("p@example.org", "5.1.1", True),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("exim.eml", ["jeanne.dupont@example.net"]),
        ("gmail.eml", ["pierre.martin@gmail.com"]),
        ("outlook.eml", ["lucie.bernard@outlook.fr"]),
    ],
)
def test_real_mtas_bounces(name: str, expected: list[str]) -> None:
    assert permanent_failures(sample(name)) == expected


def test_a_delay_warning_is_no_refusal() -> None:
    assert parse_bounce(sample("postfix_delayed.eml")) == []
    assert permanent_failures(sample("postfix_delayed.eml")) == []


def test_a_temporary_failure_is_not_permanent() -> None:
    raw = postfix(["full@example.org"]).replace(b"Status: 5.1.1", b"Status: 4.2.2")
    assert parse_bounce(raw) == [Bounce("full@example.org", "4.2.2", False)]
    assert permanent_failures(raw) == []


def test_only_failed_blocks_count() -> None:
    raw = postfix(["a@example.org", "b@example.org"])
    first = raw.index(b"Action: failed")
    raw = raw[:first] + b"Action: delivered" + raw[first + len(b"Action: failed") :]
    assert permanent_failures(raw) == ["b@example.org"]


JUNK = [
    b"",
    b"\x00\xff\xfe garbage \r\n\r\n\x00",
    b"From: someone@example.org\r\nSubject: Re: votre compte\r\n\r\nMerci !",
    # An auto-reply with X-Failed-Recipients but not from a mailer daemon.
    b"From: someone@example.org\r\nReturn-Path: <someone@example.org>\r\n"
    b"X-Failed-Recipients: victim@example.org\r\n\r\nhello",
    # A report whose recipient is not an rfc822 address, or not an address at all.
    postfix(["x@example.org"])
    .replace(b"Final-Recipient: rfc822; x@example.org", b"Final-Recipient: x400; c=FR")
    .replace(
        b"Original-Recipient: rfc822;x@example.org", b"Original-Recipient: rfc822;not an address"
    ),
    # A truncated report.
    postfix(["y@example.org"])[:300],
    b"Content-Type: multipart/report; boundary=x\r\n\r\n"
    b"--x\r\nContent-Type: message/delivery-status\r\n\r\n",
]


@pytest.mark.parametrize("raw", JUNK)
def test_junk_yields_nothing_and_never_raises(raw: bytes) -> None:
    assert permanent_failures(raw) == []


def test_header_injection_in_the_recipient_is_not_an_address() -> None:
    raw = (
        postfix(["z@example.org"])
        .replace(
            b"Final-Recipient: rfc822; z@example.org",
            b"Final-Recipient: rfc822; z@example.org, other@example.org",
        )
        .replace(b"Original-Recipient: rfc822;z@example.org", b"Original-Recipient: rfc822;<a\r\n")
    )
    assert permanent_failures(raw) == []


def test_one_report_flags_at_most_twenty_addresses() -> None:
    raw = postfix([f"u{n}@example.org" for n in range(50)])
    assert len(permanent_failures(raw)) == 20


def test_a_huge_message_is_not_read() -> None:
    raw = postfix(["big@example.org"]) + b"x" * 2_000_001
    assert permanent_failures(raw) == []


def test_a_maildir_gives_each_message_once(tmp_path: Path) -> None:
    box = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    box.add(postfix(["a@example.org"]))
    box.add(b"junk")
    box.close()
    first = MaildirBox(tmp_path / "bounces")
    seen = [key for key, _ in first.messages()]
    assert len(seen) == 2
    first.done(seen[0])
    assert [key for key, _ in first.messages()] == seen[1:]
    first.done(seen[1])
    assert list(MaildirBox(tmp_path / "bounces").messages()) == []
    assert len(list((tmp_path / "bounces" / "cur").iterdir())) == 2  # kept, marked seen


def test_no_mailbox_configured_is_an_error() -> None:
    with pytest.raises(ValueError, match="UM_BOUNCE_IMAP_URL"):
        open_mailbox(None, None)
    with pytest.raises(ValueError, match="imaps://"):
        open_mailbox("https://example.org/", None)


class Flagger:
    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.calls: list[str] = []

    async def flag_rescue_bounced(self, address: str, when: dt.datetime) -> list[str]:
        self.calls.append(address)
        return ["someone"] if address in self.known else []


@pytest.mark.anyio
async def test_the_flow_flags_the_permanent_failures_and_marks_every_message(
    tmp_path: Path,
) -> None:
    box = mailbox.Maildir(str(tmp_path / "b"), create=True)
    for raw in (
        postfix(["known@example.org", "old@example.org"]),
        b"junk",
        sample("postfix_delayed.eml"),
    ):
        box.add(raw)
    box.close()
    flagger = Flagger({"known@example.org"})
    summary = await process_bounces(MaildirBox(tmp_path / "b"), flagger, NOW)
    assert sorted(flagger.calls) == ["known@example.org", "old@example.org"]
    assert summary.as_dict() == {
        "messages": 3, "permanent": 2, "ignored": 2, "flagged": 1, "unmatched": 1
    }  # fmt: skip
    assert list(MaildirBox(tmp_path / "b").messages()) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send(port: int, sender: str, to: str) -> None:
    message = EmailMessage()
    message["From"] = "ne-pas-repondre@umontpellier.example"
    message["To"] = to
    message["Subject"] = "Lien"
    message.set_content("Bonjour")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message, from_addr=sender)


def test_the_sink_bounces_refusing_domains_to_the_bounce_address_only(tmp_path: Path) -> None:
    port = _free_port()
    sink = start_mail_sink(
        tmp_path / "mail",
        port=port,
        bounce_maildir=tmp_path / "bounces",
        bounce_address="bounces@umontpellier.example",
    )
    try:
        _send(port, "bounces@umontpellier.example", "gone@bounce.test")
        _send(port, "bounces@umontpellier.example", "fine@example.org")
        _send(port, "ne-pas-repondre@umontpellier.example", "other@bounce.test")
    finally:
        sink.stop()
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3  # all accepted
    returned = [raw for _, raw in MaildirBox(tmp_path / "bounces").messages()]
    assert [permanent_failures(raw) for raw in returned] == [["gone@bounce.test"]]


# --- the flag on the account -----------------------------------------------------------


def test_the_flag_is_read_and_a_refused_address_is_as_good_as_none() -> None:
    from bridge.domain.activation import Branch, branch_for
    from bridge.gateway.keycloak.mapping import account_from_representation

    rep = {
        "id": "1",
        "username": "jdupont001",
        "enabled": True,
        "email": "j@example.net",
        "attributes": {"umRescueBounced": [NOW.isoformat()]},
    }
    account = account_from_representation(rep)
    assert account.rescue_email_bounced == NOW
    assert branch_for(account) is Branch.ASK_INE
    rep["attributes"] = {"umRescueBounced": ["not a time"]}
    assert branch_for(account_from_representation(rep)) is Branch.SEND_MAIL


def test_a_different_address_clears_the_flag_the_same_one_keeps_it() -> None:
    from bridge.gateway.keycloak.mapping import changed_rescue_email

    def rep() -> dict[str, object]:
        return {"email": "j@example.net", "attributes": {"umRescueBounced": [NOW.isoformat()]}}

    same = rep()
    changed_rescue_email(same, "J@Example.net", verified=False)
    assert same["attributes"] == {"umRescueBounced": [NOW.isoformat()]}
    other = rep()
    changed_rescue_email(other, "new@example.org", verified=False)
    assert other["attributes"] == {}
    assert other["email"] == "new@example.org"


# --- IMAP (production's mailbox): imaplib's server side played by a stand-in -----------


class FakeImap:
    """What imaplib.IMAP4_SSL answers a client, for two unseen messages."""

    instances: ClassVar[list[FakeImap]] = []

    def __init__(self, host: str, port: int, **options: object) -> None:
        self.address = (host, port)
        self.calls: list[tuple[str, ...]] = []
        self.seen: set[str] = set()
        FakeImap.instances.append(self)

    def login(self, user: str, password: str) -> tuple[str, list[bytes]]:
        self.calls.append(("LOGIN", user, password))
        return "OK", [b"logged in"]

    def select(self, folder: str) -> tuple[str, list[bytes]]:
        self.calls.append(("SELECT", folder))
        return "OK", [b"2"]

    def uid(self, command: str, *args: str) -> tuple[str, list[object]]:
        self.calls.append((command, *args))
        if command == "SEARCH":
            return "OK", [b" ".join(u for u in (b"7", b"9") if u.decode() not in self.seen)]
        if command == "FETCH":
            raw = postfix([f"u{args[0]}@example.org"])
            return "OK", [(f"{args[0]} (UID {args[0]} BODY[] {{{len(raw)}}}".encode(), raw), b")"]
        if command == "STORE":
            self.seen.add(args[0])
            return "OK", []
        raise AssertionError(command)

    def close(self) -> None: ...

    def logout(self) -> None: ...


def test_imap_reads_unseen_messages_without_marking_them_then_flags_each_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import imaplib

    FakeImap.instances.clear()
    monkeypatch.setattr(imaplib, "IMAP4_SSL", FakeImap)
    box = open_mailbox("imaps://bounces%40univ.example:p%40ss@imap.univ.example/Bounces", None)
    [imap] = FakeImap.instances
    assert imap.address == ("imap.univ.example", 993)
    assert ("LOGIN", "bounces@univ.example", "p@ss") in imap.calls
    assert ("SELECT", '"Bounces"') in imap.calls
    read = list(box.messages())
    assert [key for key, _ in read] == ["7", "9"]
    assert [permanent_failures(raw) for _, raw in read] == [["u7@example.org"], ["u9@example.org"]]
    assert ("FETCH", "7", "(BODY.PEEK[])") in imap.calls  # reading marks nothing
    box.done("7")
    assert ("STORE", "7", "+FLAGS", "(\\Seen)") in imap.calls
    assert [key for key, _ in box.messages()] == ["9"]
    box.close()


def test_an_imap_failure_is_unavailable_and_never_shows_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import imaplib

    from bridge.domain.errors import ServiceUnavailable

    class Refusing(FakeImap):
        def login(self, user: str, password: str) -> tuple[str, list[bytes]]:
            raise imaplib.IMAP4.error(f"LOGIN failed for {user} {password}")

    monkeypatch.setattr(imaplib, "IMAP4_SSL", Refusing)
    with pytest.raises(ServiceUnavailable) as caught:
        open_mailbox("imaps://bounces:s3cret@imap.univ.example/INBOX", None)
    assert "s3cret" not in str(caught.value)
