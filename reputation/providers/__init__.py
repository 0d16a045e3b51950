"""Provider verdicts: which mailbox providers would refuse this sender, and what they would say.

The knowledge is data (data/providers.toml), read by rules.py; prediction.py evaluates the rules
against a finished report.
"""

from reputation.providers.prediction import (
    SUGGESTIVE,
    UNDECIDED_BY,
    Truth,
    condition_truth,
    evaluate,
)
from reputation.providers.rules import (
    CONFIDENCES,
    FINDING_CHECKS,
    OUTCOMES,
    SCOPES,
    Condition,
    Provider,
    ProviderDataError,
    Rule,
    condition_text,
    load_providers,
    parse_condition,
    select,
)

__all__ = [
    "CONFIDENCES",
    "FINDING_CHECKS",
    "OUTCOMES",
    "SCOPES",
    "SUGGESTIVE",
    "UNDECIDED_BY",
    "Condition",
    "Provider",
    "ProviderDataError",
    "Rule",
    "Truth",
    "condition_text",
    "condition_truth",
    "evaluate",
    "load_providers",
    "parse_condition",
    "select",
]
