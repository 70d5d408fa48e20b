"""The partners' digest: select the stories, render them, deliver them by SMTP.

A stage: it never touches the store; the app gathers its inputs (stories, the send log) and
records its outcomes, one transaction per partner.
"""

from ..models import SourceProblem
from .message import as_bytes, build_message, from_bytes, mail_domain, message_id
from .render import RenderedDigest, Renderer, german_date
from .select import Candidate, build_issue, current_period, next_slot, period_key, prepare, shorten
from .smtp import Mailer

__all__ = [
    "Candidate",
    "Mailer",
    "RenderedDigest",
    "Renderer",
    "SourceProblem",
    "as_bytes",
    "build_issue",
    "build_message",
    "current_period",
    "from_bytes",
    "german_date",
    "mail_domain",
    "message_id",
    "next_slot",
    "period_key",
    "prepare",
    "shorten",
]
