"""The partners' digest: select the stories, render them, deliver them by SMTP.

A stage: it never touches the store; the app gathers its inputs (stories, the send log) and
records its outcomes, one transaction per partner.
"""

from ..models import SourceProblem
from .message import Outgoing, as_bytes, build_message, mail_domain, message_id, outgoing
from .render import RenderedDigest, Renderer, german_date
from .select import Candidate, build_issue, current_period, next_slot, period_key, prepare, shorten
from .smtp import Mailer

__all__ = [
    "Candidate",
    "Mailer",
    "Outgoing",
    "RenderedDigest",
    "Renderer",
    "SourceProblem",
    "as_bytes",
    "build_issue",
    "build_message",
    "current_period",
    "german_date",
    "mail_domain",
    "message_id",
    "next_slot",
    "outgoing",
    "period_key",
    "prepare",
    "shorten",
]
