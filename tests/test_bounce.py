"""`reputation bounce`: reading every kind of input, the MTA formats, and the origin FAQ's table."""

from __future__ import annotations

import io
import json
import mailbox
from pathlib import Path

import pytest

from reputation.bounce.analyse import analyse
from reputation.bounce.model import Analysis
from reputation.bounce.reading import read_paths
from tests import bounce_samples as samples
from tests.test_cli import reputation_cli

# The origin FAQ's table (reference/origin-faq.md): each bounce text and the cause it states,
# as a reason name, plus the blocklist it names where it names one.
FAQ_TABLE = [
    ("Try send out of range, no more information", "expired", None),
    ("505 Your domain has not DNS/MX entries", "requireptr", None),
    ("505 Your domain has not MX entries or DNS record error. more info ...", "requireptr", None),
    ("550 invalid address (#5.5.0)", "userunknown", None),
    ("Invalid spool file", "notcompliantrfc", None),
    ("554 IP is Hangup, too much auth error, ...", "blocked", None),
    ("554 Hi [x.x.x.x], unresolvable address: <x@x.x>, ...", "userunknown", None),
    (
        "554 Please visit http://antispam.sina.com.cn/denyip.php?IP=x.x.x.x (#5.7.1)",
        "blocked",
        None,
    ),
    (
        "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - "
        "mta113.mail.dcn.yahoo.com",
        "userunknown",
        None,
    ),
    ("550 abtpvvnu@263.net:user not exist", "userunknown", None),
    ("550 This account is not allowed...x@x.com", "userunknown", None),
    ("550 Requested action not taken: mailbox unavailable", "userunknown", None),
    ("553 Sorry!This user does not exist in this system.", "userunknown", None),
    (
        "554 EMail from mailserver at x.x.x.x is refused. See http://spamblock.outblaze.com/x.x.x.x .",
        "blocked",
        "spamblock.outblaze.com",
    ),
    ("550 5.2.1 <x@x.x>... Mailbox disabled for this recipient.", "suspend", None),
    ("550 <jing825cn> is now disabled with MTA service.", "suspend", None),
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "norelaying", None),
    ("553 Spam Mail http://mail.sina.com.cn/FAQ.html", "blocked", None),
    ("554 5.7.1 Rejected x.x.x.x found in dnsbl.sorbs.net", "blocked", "dnsbl.sorbs.net"),
]


def one(data: bytes, name: str = "test.eml") -> Analysis:
    items = list(read_paths(["-"], io.BytesIO(data)))
    assert len(items) == 1
    return analyse(items[0])


@pytest.mark.parametrize(("text", "reason", "blocklist"), FAQ_TABLE)
@pytest.mark.parametrize("wrap", [samples.postfix_dsn, samples.eyoumail])
def test_every_bounce_text_of_the_origin_faq_gives_its_cause(wrap, text, reason, blocklist) -> None:
    result = one(wrap(text))
    assert result.kind == "bounce"
    [failure] = result.recipients
    assert failure.address == "someone@example.org"
    assert failure.reason == reason
    if blocklist:
        assert failure.blocklist is not None and failure.blocklist["zone"] == blocklist
        assert failure.side == "sender"


def test_postfix_dsn_fields_are_read() -> None:
    result = one(samples.postfix_dsn("550 5.1.1 <someone@example.org>: User unknown"))
    [failure] = result.recipients
    assert (failure.action, failure.status, failure.reply_code) == ("failed", "5.1.1", "550")
    assert failure.remote_mta == "mx.example.org"
    assert failure.reason == "userunknown" and failure.side == "recipient"
    assert result.sender.domain == "clean.net"
    assert result.sender.ip == samples.SENDER_IP


@pytest.mark.parametrize(
    ("data", "address", "reason", "status"),
    [
        (samples.EXIM, "gone@example.org", "userunknown", "5.1.1"),
        (samples.QMAIL, "full@example.org", "mailboxfull", "5.2.2"),
        (samples.EXCHANGE, "nobody@example.org", "userunknown", "5.1.10"),
        (samples.GMAIL, "nodomain@no-such-domain.example", "hostunknown", ""),
        (
            samples.eyoumail("550 invalid address (#5.5.0)"),
            "someone@example.org",
            "userunknown",
            "5.5.0",
        ),
    ],
    ids=["exim", "qmail", "exchange", "gmail", "eyoumail"],
)
def test_free_text_bounces_name_recipient_reason_and_status(data, address, reason, status) -> None:
    result = one(data)
    assert result.kind == "bounce"
    assert [f.address for f in result.recipients] == [address]
    assert result.recipients[0].reason == reason
    assert result.recipients[0].status == status
    if data is not samples.eyoumail("550 invalid address (#5.5.0)"):
        # the returned copy (attached or after the MTA's marker) names the sender
        assert result.sender.domain == "clean.net"


@pytest.mark.parametrize(
    ("diagnostic", "command", "reason"),
    [
        ("550 User unknown", "RCPT TO", "userunknown"),
        ("550 User unknown", "end of DATA", "filtered"),
        ("550 5.7.1 User unknown", "RCPT TO", "userunknown"),
        ("550 5.1.8 Domain of sender address does not exist", "MAIL FROM", "rejected"),
        ("550 5.7.1 Access denied", "MAIL FROM", "rejected"),
        ("550 5.7.1 Access denied", "RCPT TO", "blocked"),
        ("452 4.4.5 Insufficient disk space; try again later", "MAIL FROM", "systemfull"),
    ],
)
def test_the_smtp_command_answered_decides_between_neighbour_reasons(
    diagnostic: str, command: str, reason: str
) -> None:
    """An unknown user at DATA is the recipient's filter; refusals at MAIL FROM are the sender's."""
    result = one(samples.postfix_dsn(diagnostic, command=command))
    assert result.recipients[0].reason == reason


def test_amazon_ses_json_notification_is_read_field_by_field() -> None:
    result = one(samples.SES_BOUNCE)
    assert (result.kind, result.mta) == ("bounce", "Amazon SES")
    [failure] = result.recipients
    assert (failure.address, failure.status, failure.reply_code) == (
        "gone@example.org",
        "5.1.1",
        "550",
    )
    assert failure.diagnostic == "550 5.1.1 user unknown"
    assert failure.remote_mta == "a1-2.smtp-out.amazonses.com"
    assert failure.reason == "userunknown"


def test_an_ordinary_message_and_a_delivery_report_are_not_bounces() -> None:
    ordinary = one(b"From: a@example.org\nTo: b@example.org\nSubject: lunch\n\nSee you at 12.\n")
    assert (ordinary.kind, ordinary.is_bounce, ordinary.recipients) == ("other", False, [])
    delivered = samples.postfix_dsn("250 2.0.0 Ok: queued as 1234", status="2.0.0")
    report = one(delivered.replace(b"Action: failed", b"Action: delivered"))
    assert (report.kind, report.recipients[0].reason) == ("other", "delivered")


def test_feedback_report_and_auto_reply_are_not_bounces() -> None:
    feedback = one(samples.ARF)
    assert (feedback.kind, feedback.is_bounce) == ("feedback", False)
    assert feedback.recipients[0].address == "complainer@example.net"
    assert feedback.recipients[0].reason == "feedback"
    auto = one(samples.AUTOREPLY)
    assert (auto.kind, auto.recipients[0].reason) == ("autoreply", "vacation")


def test_the_sending_ip_is_never_the_remote_hosts_own() -> None:
    # qmail names the remote host's address; the sender's comes from the returned copy
    result = one(samples.QMAIL)
    assert result.sender.ip == samples.SENDER_IP
    assert result.sender.ip_source == "Received header of the returned message"
    assert result.sender.helo == "mail.clean.net"


def test_a_retired_list_is_named_as_retired_with_the_receiver_misconfigured() -> None:
    result = one(samples.postfix_dsn("554 5.7.1 Rejected 81.2.69.142 found in dnsbl.sorbs.net"))
    [failure] = result.recipients
    assert failure.blocklist["status"] == "retired"
    assert "misconfigured" in failure.blocklist["note"]
    assert failure.check == "blocklists"
    assert result.sender.ip == "81.2.69.142"


def test_a_documented_provider_reply_names_its_rule_and_every_check_it_reads() -> None:
    gmail_dmarc = (
        "550 5.7.26 Unauthenticated email from clean.net is not accepted due to domain's DMARC "
        "policy. Contact the administrator of clean.net domain if this was legitimate email."
    )
    result = one(samples.postfix_dsn(gmail_dmarc, recipient="someone@gmail.com"))
    [failure] = result.recipients
    assert (failure.provider, failure.reason, failure.side) == ("gmail", "authfailure", "sender")
    assert failure.rule in ("dmarc-reject", "dmarc-reject-softfail-unsigned")
    assert set(failure.checks_needed) == {"spf", "dmarc", "dkim"}


def test_broken_mime_and_unknown_charset_are_read_with_a_note() -> None:
    result = one(samples.BROKEN_MIME)
    assert result.error == ""
    assert result.recipients[0].address == "someone@example.org"
    assert result.notes and "damaged MIME" in result.notes[0]


def test_empty_binary_and_huge_files_are_reported_and_never_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "binary.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with (tmp_path / "huge.eml").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (tmp_path / "good.eml").write_bytes(samples.QMAIL)
    found = {Path(i.name).name: i for i in read_paths([str(tmp_path)], io.BytesIO())}
    assert "empty" in found["empty.eml"].error
    assert "binary" in found["binary.eml"].error
    assert "larger than" in found["huge.eml"].error
    assert found["good.eml"].error == "" and found["good.eml"].message is not None


def test_mbox_and_maildir_name_the_mailbox_and_the_message(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "box.mbox")
    for data in (samples.QMAIL, samples.EXIM):
        box.add(data)
    box.flush()
    names = [i.name for i in read_paths([str(tmp_path / "box.mbox")], io.BytesIO())]
    assert names == [f"{tmp_path / 'box.mbox'}#1", f"{tmp_path / 'box.mbox'}#2"]
    folder = mailbox.Maildir(tmp_path / "Maildir")
    key = folder.add(samples.GMAIL)
    [item] = read_paths([str(tmp_path / "Maildir")], io.BytesIO())
    assert item.name.startswith(f"{tmp_path / 'Maildir'}#new/{key}")
    assert analyse(item).recipients[0].reason == "hostunknown"


def test_cli_json_is_an_array_and_exit_65_when_something_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(samples.QMAIL)
    (tmp_path / "b.eml").write_bytes(b"")
    done = reputation_cli("bounce", str(tmp_path / "a.eml"), str(tmp_path / "b.eml"), "-f", "json")
    assert done.returncode == 65
    data = json.loads(done.stdout)
    assert [d["is_bounce"] for d in data] == [True, False]
    assert "empty" in data[1]["error"] and "b.eml" in done.stderr
    fields = set(data[0]["recipients"][0])
    assert {
        "address",
        "action",
        "status",
        "reply_code",
        "remote_mta",
        "diagnostic",
        "reason",
        "blocklist",
        "provider",
        "rule",
        "side",
        "check",
        "remedy",
        "still_holds",
    } <= fields
    done = reputation_cli("bounce", str(tmp_path / "a.eml"), "-f", "markdown")
    assert done.returncode == 0 and "| reason | mailboxfull (recipient) |" in done.stdout


def test_cli_bad_usage_exits_64() -> None:
    assert reputation_cli("bounce", "x.eml", "--ip", "not-an-ip").returncode == 64
    assert reputation_cli("bounce", "--no-such-flag", "x.eml").returncode == 64
