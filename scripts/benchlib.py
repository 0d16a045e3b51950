"""Reusable parts of the benchmarks: a generated world of senders and listed IPs, served by NSD.

    from benchlib import BenchWorld, Nsd
    world = BenchWorld.generate(ips=2000, senders=200)
    with Nsd(world) as nsd:          # NSD on 127.0.0.1:<free port>, rrl-ratelimit: 0
        ...  nsd.address  ("127.0.0.1:PORT"), nsd.port

The world holds, for every default IPv4 blocklist of the catalog, a planted share of listed IPs
(with a return code the list documents), its RFC 5782 test points, and sender domains with
MX, SPF, DMARC, A and PTR records, each sending from its own listed-or-clean IP. Everything is
generated from a seed, so two runs see the same world. NSD is the Debian package `nsd`.
"""

from __future__ import annotations

import ipaddress
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from reputation import blocklists

SENDER_SUFFIX = "bench-mail.net"  # each sender is <name>.bench-mail.net's sibling: sN-mail.net


@dataclass(frozen=True)
class Sender:
    domain: str
    ip: str
    helo: str


@dataclass
class BenchWorld:
    lists: list[blocklists.Blocklist]
    ips: list[str]
    listed: dict[str, set[str]]  # zone -> listed IPs
    senders: list[Sender]
    records: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def generate(
        cls, ips: int = 2000, senders: int = 200, listed_share: float = 0.1, seed: int = 9
    ) -> BenchWorld:
        rng = random.Random(seed)
        lists = ipv4_lists()
        addresses = _addresses(rng, ips + senders)
        world = cls(lists, addresses[:ips], {}, [])
        for blocklist in lists:
            listed = {ip for ip in addresses if rng.random() < listed_share}
            world.listed[blocklist.zone] = listed
            code = _listing_code(blocklist)
            for ip in listed:
                world.add(blocklist.zone, f"{_reverse(ip)}.{blocklist.zone}", "A", code)
            _test_points(world, blocklist, code)
        for blocklist in _domain_lists():  # full checks ask them about the sender's domain
            _test_points(world, blocklist, _listing_code(blocklist))
            world.add(blocklist.zone, f"bench.{blocklist.zone}", "TXT", '"bench"')
        for index, ip in enumerate(addresses[ips:]):
            world.senders.append(_sender(world, index, ip))
        return world

    def add(self, zone: str, name: str, rdtype: str, value: str) -> None:
        self.records[zone].append(f"{name}. 300 IN {rdtype} {value}")

    def zone_files(self, directory: Path) -> dict[str, Path]:
        files = {}
        for zone, lines in self.records.items():
            path = directory / f"{zone}.zone"
            soa = f"{zone}. 300 IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 300"
            ns = f"{zone}. 300 IN NS ns.{zone}.\nns.{zone}. 300 IN A 127.0.0.1"
            path.write_text("\n".join([soa, ns, *lines]) + "\n")
            files[zone] = path
        return files

    def a_names(self) -> list[str]:
        """Every blocklist question of the IPs (what a raw sender or dnsperf asks)."""
        return [f"{_reverse(ip)}.{b.zone}" for ip in self.ips for b in self.lists]


def ipv4_lists() -> list[blocklists.Blocklist]:
    """The catalog's default lists that take IPv4 addresses and need no key."""
    catalog = blocklists.load_catalog(None)
    return [b for b in catalog.default() if "ip4" in b.subject and not b.requires_key]


def _domain_lists() -> list[blocklists.Blocklist]:
    catalog = blocklists.load_catalog(None)
    return [b for b in catalog.default() if "ip4" not in b.subject]


def _addresses(rng: random.Random, count: int) -> list[str]:
    network = ipaddress.IPv4Network("81.2.0.0/16")  # routable-looking, never special-use
    picked = rng.sample(range(1, network.num_addresses - 1), count)
    return [str(network[i]) for i in picked]


def _reverse(ip: str) -> str:
    return ".".join(reversed(ip.split(".")))


def _listing_code(blocklist: blocklists.Blocklist) -> str:
    # 127.0.0.1 is never read as a listing (RFC 5782 §5), even where a list documents it.
    for code in blocklist.codes:
        if (
            code.low == code.high
            and blocklist.error_for(code.low) is None
            and str(code.low) != "127.0.0.1"
        ):
            return str(code.low)
    return "127.0.0.2"


def _test_points(world: BenchWorld, blocklist: blocklists.Blocklist, code: str) -> None:
    if blocklist.test_listed:
        point = blocklists.point_name(blocklist.test_listed, blocklist.zone)
        world.add(blocklist.zone, point, "A", code)
    # The negative test point (127.0.0.1) is simply absent: NXDOMAIN.


def _sender(world: BenchWorld, index: int, ip: str) -> Sender:
    domain = f"s{index}-mail.net"
    helo = f"mail.{domain}"
    zone = domain
    world.add(zone, domain, "MX", f"10 {helo}.")
    world.add(zone, domain, "TXT", f'"v=spf1 ip4:{ip} -all"')
    world.add(zone, f"_dmarc.{domain}", "TXT", f'"v=DMARC1; p=reject; rua=mailto:d@{domain}"')
    world.add(zone, helo, "A", ip)
    world.add("in-addr.arpa", f"{_reverse(ip)}.in-addr.arpa", "PTR", f"{helo}.")
    return Sender(domain, ip, helo)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (NSD binds both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class Nsd:
    """NSD serving a BenchWorld on 127.0.0.1, UDP and TCP, without rate limiting."""

    def __init__(self, world: BenchWorld, servers: int = 1) -> None:
        if shutil.which("nsd") is None and not Path("/usr/sbin/nsd").exists():
            raise RuntimeError("nsd is not installed: apt-get install nsd")
        self.world = world
        self.servers = servers
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="bench-nsd-"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nsd:
        for _ in range(5):  # another process may take the port between choosing and binding
            try:
                return self._start()
            except RuntimeError:
                self.stop(remove=False)
                self.port = free_port()
                self.address = f"127.0.0.1:{self.port}"
        return self._start()

    def _start(self) -> Nsd:
        files = self.world.zone_files(self._dir)
        zones = "".join(f"zone:\n  name: {z}\n  zonefile: {p}\n" for z, p in files.items())
        conf = self._dir / "nsd.conf"
        conf.write_text(
            "server:\n"
            f"  ip-address: 127.0.0.1@{self.port}\n  port: {self.port}\n  do-ip6: no\n"
            f"  server-count: {self.servers}\n  rrl-ratelimit: 0\n  verbosity: 0\n"
            f'  database: ""\n  username: ""\n  chroot: ""\n  zonesdir: "{self._dir}"\n'
            f'  pidfile: "{self._dir}/nsd.pid"\n  logfile: "{self._dir}/nsd.log"\n'
            f'  zonelistfile: "{self._dir}/zone.list"\n  xfrdfile: "{self._dir}/xfrd.state"\n'
            f'  xfrdir: "{self._dir}"\n  hide-version: yes\n'
            "remote-control:\n  control-enable: no\n" + zones
        )
        nsd = shutil.which("nsd") or "/usr/sbin/nsd"
        self._process = subprocess.Popen([nsd, "-d", "-c", str(conf)], stderr=subprocess.DEVNULL)
        self._wait_until_answering()
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def _wait_until_answering(self) -> None:
        probe = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(0.2)
            for _ in range(150):
                assert self._process is not None
                if self._process.poll() is not None:
                    log = self._dir / "nsd.log"
                    raise RuntimeError(f"nsd exited: {log.read_text() if log.exists() else ''}")
                udp.sendto(probe, ("127.0.0.1", self.port))
                try:
                    udp.recv(512)
                    return
                except OSError:
                    time.sleep(0.1)
        raise RuntimeError("nsd did not answer within 15 s")

    def stop(self, remove: bool = True) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if remove:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Nsd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
