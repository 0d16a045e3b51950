"""The checks, one module each, all of the same shape: ID and `async def run(ctx) -> CheckResult`."""

from reputation.checks import dkim, dmarc, helo_ptr, legit_domain, mx, spf, static_ip

CHECKS = (legit_domain, static_ip, helo_ptr, mx, spf, dmarc, dkim)
