"""Turn a fetched document into raw items; dispatches on the source's kind."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..models import FetchResult, ParsedDocument, SourceKind, SourceSpec
from .dates import parse_date
from .feed import parse_feed
from .html import parse_html

__all__ = ["parse", "parse_date"]


def parse(spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo) -> ParsedDocument:
    """Items of ``fetched`` as ``spec`` says to read them.

    Raises:
        ParseError: the document yielded no items it should have.
    """
    if spec.kind is SourceKind.HTML:
        assert spec.selectors is not None, "config validation guarantees selectors"
        return parse_html(spec.id, spec.selectors, fetched, now, tz)
    return parse_feed(spec.id, fetched, now, tz)
