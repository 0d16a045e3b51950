"""Finding the boundary hop in Received chains as real receivers write them."""

from __future__ import annotations

import ipaddress

import pytest

from reputation.message.received import NoBoundary, find_boundary, parse_hop


@pytest.mark.parametrize(
    ("value", "ip", "helo", "by"),
    [
        (  # Postfix
            "from mail.sender.net (mail.sender.net [81.2.69.142]) by mx.receiver.net (Postfix)"
            " with ESMTPS id 4Fx; Sat, 5 Dec 2026 10:00:00 +0000",
            "81.2.69.142",
            "mail.sender.net",
            "mx.receiver.net",
        ),
        (  # Postfix, no PTR, HELO differs
            "from helo.sender.net (unknown [81.2.69.143]) by mx.receiver.net (Postfix) with SMTP",
            "81.2.69.143",
            "helo.sender.net",
            "mx.receiver.net",
        ),
        (  # Exim: rDNS first, the HELO in the comment
            "from mail.sender.net ([81.2.69.144] helo=greeting.sender.net) by mx.receiver.net"
            " with esmtps (Exim 4.96) id 1a; Sat, 05 Dec 2026 10:00:00 +0000",
            "81.2.69.144",
            "greeting.sender.net",
            "mx.receiver.net",
        ),
        (  # Exim, address literal
            "from [81.2.69.145] (helo=box.sender.net) by mx.receiver.net with esmtp",
            "81.2.69.145",
            "box.sender.net",
            "mx.receiver.net",
        ),
        (  # Microsoft, IPv6
            "from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2100.outbound."
            "protection.outlook.com [2a01:111:f400:7e1b::100]) by mx.receiver.net with ESMTPS",
            "2a01:111:f400:7e1b::100",
            "eur05-am6-obe.outbound.protection.outlook.com",
            "mx.receiver.net",
        ),
        (  # qmail
            "from unknown (HELO mail.sender.net) (81.2.69.146) by mx.receiver.net with SMTP;"
            " 5 Dec 2026 10:00:00 -0000",
            "81.2.69.146",
            "mail.sender.net",
            "mx.receiver.net",
        ),
        (  # sendmail's nested comment
            "from mail.sender.net (host.sender.net [81.2.69.147] (may be forged)) by"
            " mx.receiver.net (8.17.1/8.17.1) with ESMTP id 5BA",
            "81.2.69.147",
            "mail.sender.net",
            "mx.receiver.net",
        ),
    ],
)
def test_received_formats(value: str, ip: str, helo: str, by: str) -> None:
    hop = parse_hop(value)
    assert (str(hop.ip), hop.helo, hop.by) == (ip, helo, by)


def test_microsoft_internal_hops_with_public_addresses_are_skipped() -> None:
    chain = [
        "from AM6PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:20b:1::12) by"
        " AM6PR02MB5678.eurprd02.prod.outlook.com with HTTPS; Sat, 5 Dec 2026 10:00:02 +0000",
        "from AM7EUR03FT010.eop-EUR03.prod.protection.outlook.com (2603:10a6:20b:2::34) by"
        " AM6PR02MB1234.eurprd02.prod.outlook.com (2603:10a6:20b:1::12) with ESMTPS",
        "from mail.sender.net (81.2.69.142) by AM7EUR03FT010.mail.protection.outlook.com"
        " (10.152.16.123) with Microsoft SMTP Server; Sat, 5 Dec 2026 10:00:00 +0000",
    ]
    boundary = find_boundary(chain)
    assert boundary.ip == ipaddress.ip_address("81.2.69.142")
    assert boundary.helo == "mail.sender.net"
    assert boundary.skipped == 2


def test_mail_within_one_provider_takes_the_lowest_public_hop() -> None:
    chain = [
        "by 2002:a05:7300:c10c::1 with SMTP id a1; Sat, 5 Dec 2026 10:00:01 -0800",
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by"
        " mx.google.com with SMTPS id b2; Sat, 5 Dec 2026 10:00:00 -0800",
        "by 2002:a17:906:1234::5 with SMTP id c3; Sat, 5 Dec 2026 09:59:59 -0800",
    ]
    boundary = find_boundary(chain)
    assert str(boundary.ip) == "209.85.220.41"
    assert boundary.helo == "mail-sor-f41.google.com"


def test_hops_the_sender_wrote_are_not_trusted() -> None:
    chain = [
        "from relay.sender.net (relay.sender.net [81.2.69.150]) by mx.receiver.net with ESMTPS",
        # Written by the sender's relay: a forged claim to have come from elsewhere.
        "from claimed.elsewhere.net (claimed.elsewhere.net [81.2.69.99]) by relay.sender.net",
    ]
    assert str(find_boundary(chain).ip) == "81.2.69.150"


def test_only_private_hops_is_no_boundary() -> None:
    chain = [
        "from app.internal (app.internal [10.0.0.5]) by mx.receiver.net with ESMTP",
        "from localhost (localhost [127.0.0.1]) by app.internal with ESMTP",
    ]
    with pytest.raises(NoBoundary, match="public address"):
        find_boundary(chain)


def test_cgnat_address_is_internal() -> None:
    chain = [
        "from edge.receiver.net (edge.receiver.net [100.64.1.2]) by mx.receiver.net",
        "from mail.sender.net (mail.sender.net [81.2.69.151]) by edge.receiver.net",
    ]
    boundary = find_boundary(chain)
    assert str(boundary.ip) == "81.2.69.151"
    assert boundary.received_by == "edge.receiver.net"


def test_no_received_header_naming_a_receiver() -> None:
    with pytest.raises(NoBoundary):
        find_boundary([])
