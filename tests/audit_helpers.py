"""What the audit tests share: a webhook receiver on 127.0.0.1, lab worlds, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reputation.blocklists import load_catalog
from reputation.demo import blocklist_test_points

ROOT = Path(__file__).resolve().parents[1]
AUDITED = "fleet-sender.net"


class Receiver:
    """A real HTTP server collecting the JSON bodies POSTed to it; it can fail on purpose."""

    def __init__(self, failing: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.failing = failing
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.attempts += 1
                if receiver.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def lists_world(list_ids: Sequence[str] | None = None) -> str:
    """Working blocklists (their RFC 5782 test points listed) and the audited domain."""
    catalog = load_catalog()
    lists = catalog.select(list_ids) if list_ids else catalog.default()
    return blocklist_test_points(lists) + f"\n{AUDITED} NS ns1.{AUDITED}.\n"


def reversed_ip(ip: str) -> str:
    return ".".join(reversed(ip.split(".")))


def audit_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reputation", *args],
        capture_output=True,
        text=True,
        env=cli_env(env),
        timeout=300,
    )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(extra or {})}
