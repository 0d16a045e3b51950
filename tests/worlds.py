"""Zone data for the check tests: one small internet with a sender for every branch."""

from __future__ import annotations

from reputation.demo import blocklist_test_points

ED25519_KEY = "rJYabG/us/1IXO5VzAClTE8JwhgdZt1hJK4EhU9Jz2s="


def authenticated(domain: str, spf: str = "v=spf1 mx -all", dmarc: str = "p=reject") -> str:
    """SPF, DMARC and a DKIM key at a common selector, as a well-run sender publishes them."""
    return f"""
{domain} TXT "{spf}"
_dmarc.{domain} TXT "v=DMARC1; {dmarc}; rua=mailto:dmarc@{domain}"
default._domainkey.{domain} TXT "v=DKIM1; k=ed25519; p={ED25519_KEY}"
"""


PRECONDITIONS_ZONES = """
; a clean sender
clean.net                NS    ns1.clean.net.
clean.net                MX    10 mail.clean.net.
mail.clean.net           A     81.2.69.142
other.clean.net          A     81.2.69.142
elsewhere.clean.net      A     81.2.69.99
142.69.2.81.in-addr.arpa PTR   mail.clean.net.

; PTR that does not resolve back
144.69.2.81.in-addr.arpa PTR   mail.unconfirmed.net.
mail.unconfirmed.net     A     81.2.69.200

; two PTRs
145.69.2.81.in-addr.arpa PTR   a.multi.net.
145.69.2.81.in-addr.arpa PTR   b.multi.net.
a.multi.net              A     81.2.69.145
b.multi.net              A     81.2.69.145

; dynamic-looking and generic PTRs (both forward-confirmed)
146.69.2.81.in-addr.arpa PTR   146-69-2-81.dsl.dynamic.isp-cable.net.
146-69-2-81.dsl.dynamic.isp-cable.net A 81.2.69.146
147.69.2.81.in-addr.arpa PTR   ip-81-2-69-147.provider.net.
ip-81-2-69-147.provider.net A  81.2.69.147

; RFC 2317 classless delegation: the PTR lives behind a CNAME
170.69.2.81.in-addr.arpa CNAME 170.128/26.69.2.81.in-addr.arpa.
170.128/26.69.2.81.in-addr.arpa PTR mail.classless.net.
classless.net            NS    ns1.classless.net.
classless.net            MX    10 mail.classless.net.
mail.classless.net       A     81.2.69.170

; IPv6 sender
v6.net                   NS    ns1.v6.net.
v6.net                   MX    10 mail.v6.net.
mail.v6.net              AAAA  2a01:4f8:c0c:1234::2
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.3.2.1.c.0.c.0.8.f.4.0.1.0.a.2.ip6.arpa PTR mail.v6.net.

; MX variants
nomx.net                 NS    ns1.nomx.net.
nullmx.net               NS    ns1.nullmx.net.
nullmx.net               MX    0 .
implicit.net             NS    ns1.implicit.net.
implicit.net             A     81.2.69.150
cname-mx.net             NS    ns1.cname-mx.net.
cname-mx.net             MX    10 alias.cname-mx.net.
alias.cname-mx.net       CNAME real.cname-mx.net.
real.cname-mx.net        A     81.2.69.151
half-mx.net              NS    ns1.half-mx.net.
half-mx.net              MX    10 gone.half-mx.net.
half-mx.net              MX    20 mail.clean.net.
dead-mx.net              NS    ns1.dead-mx.net.
dead-mx.net              MX    10 gone.dead-mx.net.
private-mx.net           NS    ns1.private-mx.net.
private-mx.net           MX    10 mx.private-mx.net.
mx.private-mx.net        A     10.0.0.25

; a domain with records but no delegation
undelegated.net          MX    10 mail.clean.net.
"""

# Every default blocklist alive (listing its RFC 5782 test point) and listing nobody else.
WORKING_LISTS = blocklist_test_points()

PRECONDITIONS_ZONES += (
    authenticated("clean.net") + authenticated("v6.net") + authenticated("classless.net")
)

# Edge cases found in review: a second, stray PTR; an IDN sender; MX oddities; a subdomain sender.
EDGES = """
10.69.2.81.in-addr.arpa  PTR   mail.two-ptr.net.
10.69.2.81.in-addr.arpa  PTR   old.two-ptr.net.
mail.two-ptr.net         A     81.2.69.10
xn--bcher-kva.net        NS    ns1.xn--bcher-kva.net.
xn--bcher-kva.net        MX    10 mail.xn--bcher-kva.net.
mail.xn--bcher-kva.net   A     81.2.69.81
81.69.2.81.in-addr.arpa  PTR   mail.xn--bcher-kva.net.
literal-mx.net           NS    ns1.literal-mx.net.
literal-mx.net           MX    10 81.2.69.142.
mixed-null.net           NS    ns1.mixed-null.net.
mixed-null.net           MX    0 .
mixed-null.net           MX    10 mail.clean.net.
"""

PRECONDITIONS = PRECONDITIONS_ZONES + EDGES + WORKING_LISTS
