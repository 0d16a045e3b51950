"""One message in, one Analysis out: what kind of message it is, who failed, and why."""

from __future__ import annotations

import email
import re
from email.message import Message
from email.utils import getaddresses, parseaddr

from reputation.bounce import dsn, freetext, links, mime, reasons, ses, smtptext
from reputation.bounce.model import Analysis, Failure
from reputation.bounce.reading import Input
from reputation.bounce.sender import find as find_sender

# RFC 3834 §5: Auto-Submitted; the other headers and subjects are what common responders write.
_AUTO_SUBMITTED = re.compile(r"^\s*auto-(?:replied|generated|notified)", re.I)
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|respons)|out of (?:the )?office|"
    r"away from|abwesenheit|absence|vacation|autorespons|auto:|réponse automatique)",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|fail|notification|has failed)|returned mail|"
    r"failure notice|mail delivery|delivery failure|could not be delivered|failed delivery|"
    r"mail system error|nondeliver|non remis|nicht zustellbar|退信|系统退信|error report|"
    r"warning: message|delayed mail|mail failure|failure delivery|delivery error",
    re.I,
)
# What a report says when a delivery failed, in the words of the common MTAs' templates.
_FAILURE_TEXT = re.compile(
    r"could not be delivered|unable to deliver|undeliverable|delivery (?:has )?failed|"
    r"was not delivered|wasn.t delivered|not be delivered|could not deliver|cannot be delivered|"
    r"failed permanently|permanent error|delivery failure|returned mail|mailbox is full|"
    r"送信できませんでした|配信できませんでした|无法投递|退信",
    re.I,
)
_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery (?:subsystem|system)|bounce", re.I)


def analyse(item: Input) -> Analysis:
    result = Analysis(file=item.name, error=item.error)
    if item.message is None:
        return result
    if item.defects:
        result.notes.append("damaged MIME structure: " + ", ".join(item.defects))
    message = item.message
    text = mime.body_text(message)
    returned = _returned(message, text)
    notice = ses.read(text) if "notificationType" in text else None
    if notice is not None:
        _read_ses(notice, result)
    elif _is_feedback(message, text):
        result.kind = "feedback"
        result.recipients = _feedback_recipients(message, text)
    elif _is_autoreply(message):
        result.kind = "autoreply"
        replier = parseaddr(mime.header(message, "From"))[1]
        result.recipients = [Failure(address=replier, reason="vacation", side="")]
    else:
        _read_bounce(message, text, returned, result)
    if result.recipients and all(f.reason == "delivered" for f in result.recipients):
        result.kind = "other"  # a delivery report (RFC 3464 Action: delivered), not a bounce
    result.sender = find_sender(message, returned, result.recipients)
    for failure in result.recipients:
        links.annotate(failure, result.sender)
    return result


# ---------------------------------------------------------------------------------------------
# Kinds of message
# ---------------------------------------------------------------------------------------------


def _is_feedback(message: Message, text: str) -> bool:
    if mime.feedback_part(message) is not None:
        return True
    kind = message.get("Content-Type", "")
    return "feedback-report" in kind.lower() or bool(
        re.search(r"^Feedback-Type:\s*\w", text, re.M | re.I)
    )


def _is_autoreply(message: Message) -> bool:
    if mime.report_parts(message):
        return False
    if _AUTO_SUBMITTED.match(mime.header(message, "Auto-Submitted")):
        return not _looks_like_bounce(message)
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if mime.header(message, "Precedence").strip().lower() == "auto_reply":
        return True
    return bool(_AUTOREPLY_SUBJECT.match(mime.header(message, "Subject")))


def _looks_like_bounce(message: Message) -> bool:
    return bool(
        _BOUNCE_SUBJECT.search(mime.header(message, "Subject"))
        or _DAEMON.search(mime.header(message, "From"))
    )


def _feedback_recipients(message: Message, text: str) -> list[Failure]:
    """One record per complained-about recipient (RFC 5965 Original-Rcpt-To, repeatable; or
    Removal-Recipient; or the returned message's To), "" when the report names none."""
    part = mime.feedback_part(message)
    fields = mime.part_text(part) if part is not None else text
    if part is not None and isinstance(part.get_payload(), list):
        fields = "\n".join(f"{k}: {v}" for block in part.get_payload() for k, v in block.items())
    addresses: list[str] = []
    for name in ("Original-Rcpt-To", "Removal-Recipient"):
        addresses = re.findall(rf"^{name}:\s*<?([^>\s]+@[^>\s]+)", fields, re.M | re.I)
        if addresses:
            break
    if not addresses:
        returned = mime.returned_message(message)
        to = parseaddr(mime.header(returned, "To"))[1] if returned is not None else ""
        addresses = [to if "@" in to else ""]
    found = re.search(r"^Feedback-Type:\s*([\w-]+)", fields, re.M | re.I)
    kind = found.group(1).lower() if found else "abuse"
    return [
        Failure(address=address, reason="feedback", diagnostic=f"feedback report: {kind}")
        for address in dict.fromkeys(addresses)
    ]


# ---------------------------------------------------------------------------------------------
# Bounces
# ---------------------------------------------------------------------------------------------


def _read_bounce(message: Message, text: str, returned: Message | None, result: Analysis) -> None:
    subject = mime.header(message, "Subject")
    fmt = freetext.detect(mime.header(message, "From"), subject, text)
    result.mta = fmt.name if fmt else ""
    section = freetext.report_section(text, fmt)
    exclude = _senders(message, returned)
    own = {a.lower() for _, a in getaddresses(mime.headers(message, "From")) if "@" in a}
    found = freetext.recipients(section, fmt, exclude, own)
    in_text = {r.address.lower(): r.text for r in found}
    parts = mime.report_parts(message)
    reports = [dsn.parse(part) for part in parts]
    if not parts and re.search(r"^Final-Recipient:", text, re.M | re.I):
        reports = [dsn.parse_text(text)]
        parts = [message] if reports[0].recipients else []
    spare = [
        a for a in in_text if a not in {e.address.lower() for r in reports for e in r.recipients}
    ]
    for report in reports:
        for entry in report.recipients:
            if not freetext.clean_address(entry.address) and spare:
                entry.address = spare.pop(0)  # e.g. a bare source route "@relay"
            block = in_text.get(entry.address.lower(), "")
            result.recipients.append(_from_dsn(entry, block, section))
    if not result.recipients:
        result.recipients = _from_text(message, returned, section, in_text, fmt)
    if (
        parts
        or fmt
        or (result.recipients and _looks_like_bounce(message))
        or (result.recipients and _has_smtp_failure(section))
    ):
        result.kind = "bounce"
    else:
        result.kind, result.recipients = "other", []


def _read_ses(notice: ses.Notice, result: Analysis) -> None:
    result.mta = "Amazon SES"
    if notice.kind == "Complaint":
        result.kind = "feedback"
        result.recipients = [
            Failure(address=r.address, reason="feedback", diagnostic="feedback report: abuse")
            for r in notice.recipients
        ]
        return
    result.kind = "bounce" if notice.kind == "Bounce" else "other"
    result.recipients = [_from_dsn(entry, "", "") for entry in notice.recipients]


def _has_smtp_failure(text: str) -> bool:
    codes = re.search(r"(?<!\d)[45]\d\d[ -]|#?[45]\.\d{1,3}\.\d{1,3}", text)
    return bool(codes or _FAILURE_TEXT.search(text))


def _from_dsn(entry: dsn.DsnRecipient, block: str, section: str) -> Failure:
    diagnostic = entry.diagnostic or _diagnostic_text(block) or _diagnostic_text(section)
    reply = smtptext.reply_code(entry.diagnostic) or smtptext.reply_code(diagnostic)
    status = smtptext.prefer_status(entry.status, diagnostic, reply)
    command = smtptext.command(block or diagnostic)
    failure = Failure(
        address=entry.address,
        action=entry.action,
        status=status,
        reply_code=reply,
        remote_mta=entry.remote_mta.lower() or smtptext.remote_host(diagnostic),
        diagnostic=diagnostic[: freetext.MAX_DIAGNOSTIC],
        command=command,
    )
    failure.reason = reasons.classify(diagnostic, status, entry.action, command, block or section)
    return failure


def _from_text(
    message: Message,
    returned: Message | None,
    section: str,
    in_text: dict[str, str],
    fmt: freetext.Format | None,
) -> list[Failure]:
    blocks = dict(in_text)
    if not blocks:
        for address in _failed_header(message) or _returned_to(returned):
            blocks[address.lower()] = section
    failures = []
    for address, block in blocks.items():
        wrapped = fmt.diagnostic.search(block) if fmt and fmt.diagnostic else None
        diagnostic = mime.unfold(wrapped.group("text")) if wrapped else ""
        diagnostic = diagnostic or _diagnostic_text(block) or _diagnostic_text(section)
        reply = smtptext.reply_code(diagnostic)
        status = smtptext.prefer_status("", diagnostic, reply)
        if not status and len(blocks) == 1:  # the one recipient: the report's code is its own
            reply = reply or smtptext.reply_code(section)
            status = smtptext.prefer_status("", section, reply)
        command = smtptext.command(block) or (fmt.command if fmt else "")
        action = "delayed" if re.search(r"\bdelay|will be retried|warning", section, re.I) else ""
        failure = Failure(
            address=address,
            action=action or "failed",
            status=status,
            reply_code=reply,
            remote_mta=smtptext.remote_host(block),
            diagnostic=diagnostic[: freetext.MAX_DIAGNOSTIC],
            command=command,
        )
        failure.reason = reasons.classify(diagnostic, status, action, command, section)
        if fmt and fmt.reason and failure.reason in ("onhold", "undefined"):
            failure.reason = fmt.reason
        failures.append(failure)
    return failures


def _diagnostic_text(block: str) -> str:
    """The part of a recipient's text that carries the error, whitespace collapsed."""
    lines = [line for line in block.splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    address = freetext.ADDRESS.search(first)
    if address and len(first.strip()) <= address.end() - address.start() + 6:
        lines = lines[1:]
    return mime.unfold("\n".join(lines))


def _failed_header(message: Message) -> list[str]:
    value = ",".join(mime.headers(message, "X-Failed-Recipients"))
    return [a for _, a in getaddresses([value]) if "@" in a]


def _returned_to(returned: Message | None) -> list[str]:
    if returned is None:
        return []
    found = [a for _, a in getaddresses(mime.headers(returned, "To")) if "@" in a]
    return found[:1] if len(found) == 1 else []


def _returned(message: Message, text: str) -> Message | None:
    """The returned message: an attached part, or the text after the report's end marker."""
    attached = mime.returned_message(message)
    if attached is not None:
        return attached
    rest = text[len(freetext.report_section(text, None)) :].lstrip()
    if not _HEADER_LINE.match(rest):  # skip the marker line ("--- Below this line ...")
        rest = rest.split("\n", 1)[-1].lstrip("\n")
    return email.message_from_string(rest) if _HEADER_LINE.match(rest) else None


def _senders(message: Message, returned: Message | None) -> set[str]:
    """Addresses that are the bounce's own or the original sender's: never failed recipients."""
    values = [
        *mime.headers(message, "From"),
        *mime.headers(message, "To"),
        *mime.headers(message, "Return-Path"),
    ]
    if returned is not None:
        values += mime.headers(returned, "From") + mime.headers(returned, "Return-Path")
        values += mime.headers(returned, "Sender")
    return {a.lower() for _, a in getaddresses(values) if "@" in a}
