"""What a check is, said once: its id, its finding codes and what it needs.

Every check module declares `CHECK = Check(...)`: the engine, the provider predictions and the
fix list read these declarations instead of lists of their own. A finding code is a literal
string declared here with its usual status, its remedy, and the findings that leave it
undecided (the lookup that would have produced it failed), so a search finds every use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field

from reputation.report import CheckResult, Finding, Status, problem_summary

# Findings the engine itself writes for any check.
ENGINE_CODES = ("not_requested", "reserved_name", "check_incomplete")


@dataclass(frozen=True)
class Code:
    """One finding code: the status it usually has, what to do about it, and what leaves it
    undecided (None: the check's default)."""

    status: Status
    remedy: str = ""
    undecided_by: tuple[str, ...] | None = None
    # A finding that only suggests what it names: it decides nothing unless `confirmed_by`
    # is also found; `why` says so in the prediction.
    confirmed_by: str = ""
    why: str = ""


@dataclass(frozen=True)
class Check:
    """A check's description.

    `table`: one finding code a line, its usual status, and optionally "undecided by" and the
    findings whose presence leaves it undecided (default: `undecided_by`, the check's lookups
    that failed). `remedies`: what to do, by code. `suggestive`: codes that only suggest what
    they name, with the finding that confirms one and why it is not decided without it.
    `asks_domain_dns`: it asks DNS about the sender domain (not done for a reserved name).
    `judges_address`: its fixes concern the sending address's DNS, moot when the address is not
    public. `reads_listings`: policy listings are folded into it. `judges_from_domain`: it
    judges the From domain (ctx.author, `--from`), not the envelope domain.
    """

    id: str
    table: str
    remedies: Mapping[str, str] = field(default_factory=dict)
    _: KW_ONLY
    undecided_by: tuple[str, ...] = ()
    suggestive: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    asks_domain_dns: bool = False
    judges_address: bool = False
    reads_listings: bool = False
    judges_from_domain: bool = False
    codes: Mapping[str, Code] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        codes = dict(_read_table(self.id, self.table, self.remedies, self.suggestive))
        for code in [*self.remedies, *self.suggestive, *self.undecided_by]:
            if code not in codes:
                raise ValueError(f"{self.id}: {code!r} is not in the check's table")
        object.__setattr__(self, "codes", codes)

    def finding(
        self,
        code: str,
        message: str,
        evidence: Iterable[str] = (),
        status: Status | None = None,
    ) -> Finding:
        """A finding with a declared code; its status is the code's usual one unless given."""
        declared = self.codes.get(code)
        if declared is None and code not in ENGINE_CODES:
            raise KeyError(f"{self.id}: finding code {code!r} is not declared")
        usual = declared.status if declared is not None else Status.SKIP
        return Finding(status or usual, message, list(evidence), code)

    def result(
        self,
        summary: str,
        findings: list[Finding],
        remedies: Mapping[str, str] | None = None,
    ) -> CheckResult:
        """The check's result: the worst finding's status; `remedies` overrides declared ones."""
        chosen = {**self.remedies, **(remedies or {})}
        return CheckResult.from_findings(self.id, summary, findings, chosen)

    def summarised(self, findings: list[Finding], fallback: str) -> CheckResult:
        """The result summarised by its worst problem, else by `fallback`."""
        return self.result(problem_summary(findings, fallback), findings)

    def undecided(self, code: str) -> frozenset[str]:
        """The findings of this check that leave `code` undecided."""
        own = self.codes[code].undecided_by
        return frozenset(self.undecided_by if own is None else own)


def _read_table(
    check_id: str,
    table: str,
    remedies: Mapping[str, str],
    suggestive: Mapping[str, tuple[str, str]],
) -> Iterator[tuple[str, Code]]:
    for line in table.strip().splitlines():
        code, status, *rest = line.split()
        undecided: tuple[str, ...] | None = None
        if rest:
            if rest[:2] != ["undecided", "by"] or len(rest) < 3:
                raise ValueError(f"{check_id}: cannot read {line.strip()!r}")
            undecided = tuple(rest[2:])
        confirmed_by, why = suggestive.get(code, ("", ""))
        yield code, Code(Status(status), remedies.get(code, ""), undecided, confirmed_by, why)
