"""The checks, one module each, all of the same shape: `CHECK` (its description, see
descriptor.py) and `async def run(ctx) -> CheckResult`. Adding a check is one module here."""

from reputation.checks import dkim, dmarc, helo_ptr, legit_domain, mx, spf, static_ip
from reputation.checks.descriptor import Check

CHECKS = (legit_domain, static_ip, helo_ptr, mx, spf, dmarc, dkim)
DESCRIPTIONS: tuple[Check, ...] = tuple(module.CHECK for module in CHECKS)
