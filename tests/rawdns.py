"""A raw-socket DNS server for tests, answering whatever a handler says: for the ways a real
resolver lies that the lab server, which answers from zone data, cannot (NXDOMAIN for every
name, say). UDP and TCP on one free loopback port; replies too big for UDP are truncated (TC)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

import dns.flags
import dns.message
import dns.rcode

Handler = Callable[[dns.message.Message], dns.message.Message | None]


def udp_and_tcp_on_one_port() -> tuple[socket.socket, socket.socket, int]:
    """A UDP and a listening TCP socket on the same free loopback port."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(16)
    return udp, tcp, port


class RawDNSServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.udp, self.tcp, self.port = udp_and_tcp_on_one_port()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> RawDNSServer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.udp.close()
        self.tcp.close()

    def _reply(self, data: bytes, limit: int) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except Exception:  # a test server ignores garbage
            return None
        response = self.handler(query)
        if response is None:
            return None
        wire = response.to_wire(max_size=65535)
        if len(wire) > limit:
            response.answer.clear()
            response.flags |= dns.flags.TC
            wire = response.to_wire()
        return wire

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            wire = self._reply(data, 1232)
            if wire is not None:
                self.udp.sendto(wire, peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_client, args=(conn,), daemon=True).start()

    def _tcp_client(self, conn: socket.socket) -> None:
        with conn:
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                (size,) = struct.unpack("!H", head)
                data = b""
                while len(data) < size:
                    chunk = conn.recv(size - len(data))
                    if not chunk:
                        return
                    data += chunk
                wire = self._reply(data, 65535)
                if wire is None:
                    return
                conn.sendall(struct.pack("!H", len(wire)) + wire)


def nxdomain_for_everything(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    response.set_rcode(dns.rcode.NXDOMAIN)
    return response
