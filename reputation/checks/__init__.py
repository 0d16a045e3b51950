"""The checks, one module each, all of the same shape: ID and `async def run(ctx) -> CheckResult`."""

from reputation.checks import helo_ptr, legit_domain, mx, static_ip

CHECKS = (legit_domain, static_ip, helo_ptr, mx)
