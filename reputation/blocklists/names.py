"""The names a list is asked: reversed octets, reversed nibbles, or the domain, before the zone."""

from __future__ import annotations

import functools
import ipaddress

import dns.name


@functools.lru_cache(maxsize=4096)  # every list asks about the same few addresses
def query_name(ip_or_domain: str, subject: str) -> str:
    """The name to put before the zone: reversed octets, reversed nibbles, or the domain."""
    if subject == "domain":
        return ascii_domain(ip_or_domain)
    if subject not in ("ip", "ip4", "ip6"):
        raise ValueError(f"unknown subject {subject!r}")
    address = ipaddress.ip_address(ip_or_domain.strip().strip("[]"))
    if subject != "ip" and subject != f"ip{address.version}":
        raise ValueError(f"{ip_or_domain!r} is not an {subject} address")
    if address.version == 4:
        return ".".join(reversed(str(address).split(".")))
    return ".".join(reversed(address.exploded.replace(":", "")))


def ascii_domain(domain: str) -> str:
    text = domain.strip().rstrip(".")
    if text.isascii():
        return text.lower()
    name = dns.name.from_unicode(text, idna_codec=dns.name.IDNA_2008_Practical)
    return name.to_text(omit_final_dot=True).lower()


def normal_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def point_name(point: str, zone: str) -> str:
    """The full name of a test point (an IP address or a name) in `zone`."""
    return f"{query_name(point, 'ip' if is_ip(point) else 'domain')}.{zone}"
