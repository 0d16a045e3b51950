"""reputation: will the big mailbox providers accept mail from this domain and IP, and if not, why."""

from reputation.inputs import BadInput
from reputation.report import Report
from reputation.session import Session, check, check_async

__all__ = ["BadInput", "Report", "Session", "check", "check_async"]
__version__ = "0.1.0"
