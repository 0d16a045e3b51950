"""Reading an SMTP diagnostic: reply code, RFC 3463 status, remote host, failed command, IPs."""

from __future__ import annotations

import ipaddress
import re

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY = re.compile(r"(?<![\d.#\w-])([245][0-5]\d)(?=[ \-:;,)\]]|$)")
_SPOKEN = re.compile(r"(?<![\d.])[245]\d\d[ -]+[#('\"]?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_HOST = re.compile(
    r"(?:host|server|mx|remote host|connect to)\s+([A-Za-z0-9.-]+\.[A-Za-z]{2,})\s*\[?", re.I
)
_HOST_IP = re.compile(
    r"(?:host|server|remote host)\s+([A-Za-z0-9.-]+)\s*\[([0-9a-fA-F:.]+)\]", re.I
)
_COMMAND = re.compile(
    r"(?:in reply to|after|did not like our|error following|response to|smtp command:?)\s+"
    r"(?:the\s+)?(end of data|final data|rcpt(?: to)?|mail(?: from)?|data|ehlo|helo|"
    r"initial connection)\b",
    re.I,
)
# Other ways the common MTAs name the command (qmail, Yahoo, Exim transcripts).
_COMMAND_HINTS = (
    (re.compile(r"does not like recipient|\[RCPT_TO\]|RCPT command", re.I), "RCPT TO"),
    (re.compile(r"sender was rejected|\[MAIL_FROM\]|MAIL FROM command", re.I), "MAIL FROM"),
    (re.compile(r"\[DATA\]|DATA command|after end of data", re.I), "DATA"),
    (re.compile(r"my name was rejected", re.I), "EHLO"),
)
_REMOTE_BEFORE = re.compile(r"(?:host|connected to|server at|server|mx)\s*\[?$", re.I)
_REMOTE_AFTER = re.compile(r"\]?:?\s*(?:said|does not like)", re.I)
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*\d)")
_RECEIVED_FROM = re.compile(r"from\s+(?P<helo>[^\s()]+)?\s*\((?P<inner>[^)]*)\)", re.I | re.S)


def statuses(text: str) -> list[str]:
    found = []
    for match in _STATUS.finditer(text):
        code = ".".join(match.groups())
        if valid_status(code):
            found.append(code)
    return found


def valid_status(code: str) -> bool:
    parts = code.split(".")
    return len(parts) == 3 and parts[0] in "245" and int(parts[1]) <= 7


def reply_code(text: str) -> str:
    """The first failure reply code (4xx/5xx); a success code only when there is none."""
    codes = _REPLY.findall(text)
    return next((c for c in codes if c[0] in "45"), codes[0] if codes else "")


def prefer_status(field: str, text: str, reply: str) -> str:
    """The enhanced status to believe, after sisimai's status.Prefer (reference/bounce.md §3.3).

    The code the remote server put right after its reply code wins over the DSN's Status when
    that Status is unspecific (X.0.0) or ambiguous (4.4.7 expired, 4.7.0, X.3.x, X.5.x), and
    over a Status of another class than the reply code. Success codes in a failure transcript
    never count.
    """
    field = field if valid_status(field) else ""
    failing = (field[:1] or reply[:1] or "5") in "45"
    spoken = [c for c in _after_reply(text) if not failing or c[0] in "45"]
    loose = [c for c in statuses(text) if not failing or c[0] in "45"]
    same_class = [c for c in spoken if c[0] == reply[0]] if reply else spoken
    spoken = same_class or spoken
    if not field:
        return (spoken or loose or [""])[0]
    if reply and field[0] != reply[0] and same_class:
        return same_class[0]
    better = [c for c in spoken if c != field]
    if better and (_ambiguous(field) or field not in spoken):
        return better[0]
    if _ambiguous(field) and field.endswith(".0.0"):
        specific = [c for c in loose if c[0] == field[0] and not c.endswith(".0.0")]
        return specific[0] if specific else field
    return field


def _after_reply(text: str) -> list[str]:
    found = [".".join(m.groups()) for m in _SPOKEN.finditer(text)]
    return [c for c in found if valid_status(c)]


def _ambiguous(code: str) -> bool:
    parts = code.split(".")
    return code.endswith(".0.0") or code in ("4.4.7", "4.7.0") or parts[1] in ("3", "5")


def remote_host(text: str) -> str:
    match = _HOST.search(text)
    return match.group(1).lower() if match else ""


def command(text: str) -> str:
    """The SMTP command the failure answered (RCPT TO, MAIL FROM, DATA, ...), "" if not said."""
    match = _COMMAND.search(text)
    if match:
        return _command_name(match.group(1))
    transcript = re.findall(r">>> ?(RCPT TO|MAIL FROM|DATA|EHLO|HELO)\b", text, re.I)
    if transcript:
        return _command_name(transcript[-1])
    for pattern, name in _COMMAND_HINTS:
        if pattern.search(text):
            return name
    return ""


def _command_name(word: str) -> str:
    word = word.upper().replace("_", " ")
    if "DATA" in word:
        return "DATA"
    if word.startswith("RCPT"):
        return "RCPT TO"
    if word.startswith("MAIL"):
        return "MAIL FROM"
    return word


def public_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    return str(address) if address.is_global else ""


def quoted_ips(text: str) -> list[str]:
    """IPv4 addresses the text names as the client's: not the remote host's own ("host X[ip]",
    qmail's "remote host IP said", "Connected to IP", "IP does not like recipient")."""
    theirs = {m.group(2) for m in _HOST_IP.finditer(text)}
    found = []
    for match in _IPV4.finditer(text):
        ip = match.group(1)
        before = text[max(0, match.start() - 20) : match.start()]
        after = text[match.end() : match.end() + 20]
        if ip in theirs or _REMOTE_BEFORE.search(before) or _REMOTE_AFTER.match(after):
            continue
        if _is_address(ip):
            found.append(ip)
    return found


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def received_hop(value: str) -> tuple[str, str]:
    """(HELO name, client IP) of a Received header's from-part, "" where absent."""
    match = _RECEIVED_FROM.search(value)
    if not match:
        return "", ""
    inner = match.group("inner")
    ip = next((a for a in re.findall(r"\[(?:IPv6:)?([0-9a-fA-F:.]+)\]", inner)), "")
    if not ip:
        ip = next(iter(_IPV4.findall(inner)), "")
    helo = (match.group("helo") or "").strip("[]")
    return helo, ip
