"""`reputation demo`: a sample world on the lab DNS server, and checks run against it."""

from __future__ import annotations

import time
from collections.abc import Sequence

import typer

from reputation import session
from reputation.blocklists import Blocklist, load_catalog, point_name
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.render import Format, render
from reputation.render.json_render import dumps

SAMPLE_WORLD = """
; a clean sender: registered, delegated, PTR = HELO = forward DNS, working MX
good-sender.net       NS    ns1.good-sender.net.
good-sender.net       MX    10 mail.good-sender.net.
good-sender.net       TXT   "v=spf1 mx -all"
_dmarc.good-sender.net TXT  "v=DMARC1; p=reject; rua=mailto:dmarc@good-sender.net"
default._domainkey.good-sender.net TXT "v=DKIM1; k=ed25519; p=rJYabG/us/1IXO5VzAClTE8JwhgdZt1hJK4EhU9Jz2s="
mail.good-sender.net  A     81.2.69.142
142.69.2.81.in-addr.arpa PTR mail.good-sender.net.

; an address without PTR
no-ptr.org            NS    ns1.no-ptr.org.
no-ptr.org            MX    10 mx.no-ptr.org.
mx.no-ptr.org         A     81.2.69.160

; a home connection: dynamic-looking PTR, and a domain that cannot receive bounces
home-office.info      NS    ns1.home-office.info.
15.107.99.88.in-addr.arpa PTR 88-99-107-15.dyn.pool.cablenet.de.
88-99-107-15.dyn.pool.cablenet.de A 88.99.107.15

; a domain that declares it accepts no mail (null MX, RFC 7505)
no-mail.biz           NS    ns1.no-mail.biz.
no-mail.biz           MX    0 .
"""

SAMPLE_LISTINGS = """
; a spammer's address on Spamhaus SBL and SpamCop
2.73.113.45.zen.spamhaus.org A 127.0.0.2
2.73.113.45.zen.spamhaus.org TXT "https://check.spamhaus.org/sbl/query/SBL000000 (sample)"
2.73.113.45.bl.spamcop.net A 127.0.0.2
bulk-blaster.shop NS ns1.bulk-blaster.shop.
bulk-blaster.shop MX 10 mail.bulk-blaster.shop.
mail.bulk-blaster.shop A 45.113.73.2
2.73.113.45.in-addr.arpa PTR mail.bulk-blaster.shop.
bulk-blaster.shop.dbl.spamhaus.org A 127.0.1.2
"""

SCENARIOS = [
    ("A clean sender", "good-sender.net", "81.2.69.142", "mail.good-sender.net"),
    ("A server without PTR", "no-ptr.org", "81.2.69.160", "mx.no-ptr.org"),
    (
        "A home connection greeting as localhost",
        "home-office.info",
        "88.99.107.15",
        "localhost.localdomain",
    ),
    ("A null-MX domain sending from a private address", "no-mail.biz", "192.168.1.20", None),
    ("A listed spammer", "bulk-blaster.shop", "45.113.73.2", "mail.bulk-blaster.shop"),
]


def world() -> LabWorld:
    return LabWorld.from_text(SAMPLE_WORLD + blocklist_test_points() + SAMPLE_LISTINGS)


def blocklist_test_points(lists: Sequence[Blocklist] | None = None) -> str:
    """Zone text for working blocklists: each lists its RFC 5782 positive test point.

    Without it a lab world's lists would look empty, and the checker rightly refuses to call
    an answer from an empty list "clean".
    """
    lines = []
    for entry in lists if lists is not None else load_catalog().default():
        if entry.test_listed:
            lines.append(f"{point_name(entry.test_listed, entry.zone)} A {listing_value(entry)}")
    return "\n" + "\n".join(lines) + "\n"


def listing_value(entry: Blocklist) -> str:
    """An A value that means "listed, blocking" on this list."""
    if entry.match == "bitmask" and entry.bits:
        blocking = [b for b in entry.bits if b.severity == "block"] or list(entry.bits)
        return f"127.0.0.{blocking[0].bit}"
    blocking = [c for c in entry.codes if c.severity == "block"] or list(entry.codes)
    return blocking[0].value.split("-")[0] if blocking else "127.0.0.2"


def run(fmt: Format, colour: bool, serve: bool) -> None:
    with LabDNSServer(world()) as server:
        if serve:
            _serve(server)
            return
        reports = [
            (
                title,
                domain,
                ip,
                helo,
                session.check(
                    domain, ip, helo, nameservers=[server.address], timeout=2.0, rdap=False
                ),
            )
            for title, domain, ip, helo in SCENARIOS
        ]
    if fmt is Format.JSON:  # one JSON document: an array of reports
        typer.echo(dumps([report.to_dict() for *_, report in reports]))
        return
    for title, domain, ip, helo, report in reports:
        if fmt is Format.TABLE:
            typer.echo(
                f"== {title}\n   reputation check {domain} {ip}"
                + (f" --helo {helo}" if helo else "")
            )
        typer.echo(render(report, fmt, colour))
        typer.echo("")


def _serve(server: LabDNSServer) -> None:
    typer.echo(f"Sample DNS world on {server.address} (UDP and TCP). Try, in another terminal:")
    for _, domain, ip, helo in SCENARIOS:
        helo_flag = f" --helo {helo}" if helo else ""
        typer.echo(
            f"  reputation check {domain} {ip}{helo_flag} --nameserver {server.address} --no-rdap"
        )
    typer.echo("Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
