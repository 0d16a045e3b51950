"""Messages for the message tests: signed for real with dkimpy, keys generated here."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BOUNDARY_IP = "81.2.69.160"
BOUNDARY_HELO = "o1.mail-service.net"


@dataclass(frozen=True)
class Key:
    private_pem: bytes
    public_b64: str

    def txt(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_b64}"


@cache
def rsa_key(bits: int = 2048) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Key(pem, base64.b64encode(der).decode("ascii"))


def key_record(name: str, key: Key) -> str:
    """A zone line with the key split into 255-byte strings, as TXT requires."""
    text = key.txt()
    chunks = " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))
    return f"{name} TXT {chunks}\n"


GMAIL_STYLE_RECEIVED = [
    "by 2002:a05:7300:c10c:b0:12b:1234:5678 with SMTP id abc123;\r\n"
    "        Sat, 5 Dec 2026 10:00:03 -0800 (PST)",
    "from mx.google.com (mx.google.com [10.1.2.3]) by smtp.google.com with ESMTPS id x1;"
    " Sat, 5 Dec 2026 10:00:02 -0800 (PST)",
    f"from {BOUNDARY_HELO} ({BOUNDARY_HELO}. [{BOUNDARY_IP}])\r\n"
    "        by mx.google.com with ESMTPS id y2si123.2026.12.05.10.00.01\r\n"
    "        for <someone@gmail.com>\r\n"
    "        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n"
    "        Sat, 5 Dec 2026 10:00:01 -0800 (PST)",
    "from worker-7.internal.mail-service.net (localhost [127.0.0.1]) by o1.mail-service.net"
    " (Postfix) with ESMTP id 4F; Sat, 5 Dec 2026 18:00:00 +0000 (UTC)",
    "from app.brand.net (unknown [192.168.10.5]) by worker-7.internal.mail-service.net"
    " with HTTP; Sat, 5 Dec 2026 17:59:59 +0000 (UTC)",
]


def build(
    *,
    from_addr: str = "News <news@brand.net>",
    return_path: str = "<bounces+123@mail-service.net>",
    received: list[str] | None = None,
    extra: list[str] | None = None,
    body: str = "Hello,\r\nthis is the news.\r\n",
    message_id: str = "<20261205.1@brand.net>",
) -> bytes:
    lines = [f"Return-Path: {return_path}"] if return_path else []
    lines += [f"Received: {value}" for value in (received or GMAIL_STYLE_RECEIVED)]
    lines += [
        f"From: {from_addr}",
        "To: someone@gmail.com",
        "Subject: The news",
        "Date: Sat, 05 Dec 2026 18:00:00 +0000",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


def sign(message: bytes, domain: str, selector: str, key: Key, **options: object) -> bytes:
    """The message with a DKIM-Signature prepended: signed after the Received fields were
    written, so it is put just below them, where the signer would have added it."""
    header_end = message.index(b"\r\n\r\n")
    head, body = message[:header_end], message[header_end:]
    lines = head.split(b"\r\n")
    # Sign what the sender's server sent: the fields below the trace fields it had not yet seen.
    signature = dkim.sign(
        message, selector.encode(), domain.encode(), key.private_pem,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id",
                         b"list-unsubscribe", b"list-unsubscribe-post"],
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    first_own = next(i for i, line in enumerate(lines) if line.lower().startswith(b"from:"))
    lines.insert(first_own, signature.rstrip(b"\r\n"))
    return b"\r\n".join(lines) + body


def world(key: Key, *, selector: str | None = "s1", extra: str = "") -> str:
    """An email service (mail-service.net) sending for a brand (brand.net): the service's SPF
    authorises the address, the brand publishes the DKIM key and DMARC."""
    from tests.worlds import WORKING_LISTS

    return (
        f"""
brand.net                  NS    ns1.brand.net.
brand.net                  MX    10 mx.brand.net.
mx.brand.net               A     81.2.69.150
brand.net                  TXT   "v=spf1 -all"
_dmarc.brand.net           TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@brand.net"
mail-service.net           NS    ns1.mail-service.net.
mail-service.net           MX    10 mx.mail-service.net.
mx.mail-service.net        A     81.2.69.151
mail-service.net           TXT   "v=spf1 ip4:81.2.69.160/28 -all"
o1.mail-service.net        A     {BOUNDARY_IP}
160.69.2.81.in-addr.arpa   PTR   o1.mail-service.net.
"""
        + (key_record(f"{selector}._domainkey.brand.net", key) if selector else "")
        + extra
        + WORKING_LISTS
    )
