"""Reading an SMTP diagnostic: reply code, RFC 3463 status, remote host, failed command, IPs."""

from __future__ import annotations

import ipaddress
import re

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_REPLY = re.compile(r"(?<![\d.#\w-])([245][0-5]\d)(?=[ \-:;,)\]]|$)")
_HOST = re.compile(
    r"(?:host|server|mx|remote host|connect to)\s+([A-Za-z0-9.-]+\.[A-Za-z]{2,})\s*\[?", re.I
)
_HOST_IP = re.compile(
    r"(?:host|server|remote host)\s+([A-Za-z0-9.-]+)\s*\[([0-9a-fA-F:.]+)\]", re.I
)
_COMMAND = re.compile(
    r"(?:in reply to|after|did not like our|error following|response to)\s+"
    r"(?:the\s+)?(end of data|final data|rcpt to|mail from|data|ehlo|helo|initial connection)",
    re.I,
)
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
    match = _REPLY.search(text)
    return match.group(1) if match else ""


def prefer_status(field: str, text: str, reply: str) -> str:
    """The DSN's Status unless it is unspecific and the text has a specific code of its class.

    After sisimai's status.Prefer (reference/bounce.md §3.3).
    """
    in_text = [s for s in statuses(text) if not reply or s[0] == reply[0]] or statuses(text)
    if not field or not valid_status(field):
        return in_text[0] if in_text else ""
    specific = [s for s in in_text if s[0] == field[0] and not s.endswith(".0.0")]
    if field.endswith(".0.0") and specific:
        return specific[0]
    return field


def remote_host(text: str) -> str:
    match = _HOST.search(text)
    return match.group(1).lower() if match else ""


def command(text: str) -> str:
    match = _COMMAND.search(text)
    if not match:
        if re.search(r">>> DATA", text):
            return "DATA"
        return ""
    word = match.group(1).upper()
    return "DATA" if "DATA" in word else word


def public_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    return str(address) if address.is_global else ""


def quoted_ips(text: str) -> list[str]:
    """IPv4 addresses the text names, except the remote host's own ("host X[ip]")."""
    theirs = {m.group(2) for m in _HOST_IP.finditer(text)}
    return [ip for ip in _IPV4.findall(text) if ip not in theirs and _is_address(ip)]


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
