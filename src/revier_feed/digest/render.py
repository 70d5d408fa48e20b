"""Digest -> subject, text/plain and HTML (Jinja2 templates, CSS inlined), and the archive page.

The built-in templates live in ``digest/templates/``; a file of the same name in the
configured templates folder replaces one of them. Item text reaches the templates as plain
text only and HTML templates autoescape it, so nothing a source writes becomes markup.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import jinja2
from jinja2 import meta, nodes

from .. import german
from ..exceptions import DigestError
from ..models import DigestIssue, DigestPeriod, SourceProblem
from .select import clean

#: What a partner's digest and the archive page of a period are given.
_ISSUE_NAMES = frozenset(
    {
        "subject",
        "site_title",
        "partner_name",
        "groups",
        "count",
        "count_text",
        "since",
        "until",
        "week",
        "year",
        "site_url",
        "archive_url",
        "unsubscribe_url",
        "unsubscribe_mailto",
    }
)
#: Wrapped teasers a renderer keeps (one digest run's, shared by its partners' digests).
WRAP_CACHE = 50_000

#: The names each template is given (kept beside the contexts below; a test holds them
#: together). A template another one includes or extends may read any of them.
GIVEN_NAMES = {
    "digest.txt.j2": _ISSUE_NAMES,
    "digest.html.j2": _ISSUE_NAMES,
    "archive.html.j2": _ISSUE_NAMES,
    "archive_index.html.j2": frozenset({"subject", "site_title", "site_url", "groups", "periods"}),
    "admin.txt.j2": frozenset({"subject", "site_title", "site_url", "problems", "sources"}),
    "admin.html.j2": frozenset({"subject", "site_title", "site_url", "problems", "sources"}),
}
_ANY_NAME = frozenset().union(*GIVEN_NAMES.values())

TEMPLATES = (
    "digest.txt.j2",
    "digest.html.j2",
    "archive.html.j2",
    "archive_index.html.j2",
    "admin.txt.j2",
    "admin.html.j2",
)


def german_date(moment: datetime, tz: ZoneInfo) -> str:
    """``10. Juni 2021``."""
    return german.day_text(moment.astimezone(tz).date())


def count_text(count: int) -> str:
    """``1 Meldung``, ``12 Meldungen``, ``keine neuen Meldungen``."""
    if count == 0:
        return "keine neuen Meldungen"
    return f"{count} Meldung" if count == 1 else f"{count} Meldungen"


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str  #: one line, control characters removed
    text: str
    html: str  #: CSS inlined


class Renderer:
    """Renders digests with the built-in templates, or the overrides in ``template_dir``.

    Args:
        site_title: the sender's name in the digest.
        public_base_url: the output folder on the web (archive links); ends with "/".
        subject: the subject template (``str.format`` fields: title, week, year, count,
            meldungen, partner).
        unsubscribe_url: with ``{partner}``; shown in the footer when set.
    """

    def __init__(
        self,
        *,
        template_dir: Path | None,
        tz: ZoneInfo,
        site_title: str,
        public_base_url: str,
        subject: str,
        unsubscribe_url: str | None = None,
        unsubscribe_mailto: str | None = None,
    ) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if template_dir is not None and template_dir.is_dir():
            loaders.append(jinja2.FileSystemLoader(template_dir))
        loaders.append(jinja2.PackageLoader("revier_feed.digest", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(["html.j2"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["german_date"] = lambda d: german_date(d, tz)
        # Cached per renderer, which is one digest run's: the same teaser appears in many
        # partners' digests of a run, but a cache kept for the process held every teaser
        # of months of digests (about 2,000 more a month in a worker).
        self._env.filters["wrap"] = functools.lru_cache(maxsize=WRAP_CACHE)(_wrap)
        self._tz = tz
        self._site_title = site_title
        self._base = public_base_url
        self._subject = subject
        self._unsubscribe_url = unsubscribe_url
        self._unsubscribe_mailto = unsubscribe_mailto

    def check(self) -> None:
        """Load and compile every template once (the built-in ones, the overrides and any
        file they include or extend, such as ``_layout.html.j2``), so a broken override is
        reported before anything is sent.

        Raises:
            DigestError: naming the template file and line.
        """
        names = set(TEMPLATES)
        try:
            names.update(self._env.list_templates(extensions=["j2"]))
        except (OSError, TypeError, jinja2.TemplateError) as e:
            raise DigestError(f"could not list the digest templates: {e}") from None
        for name in sorted(names):
            self._template(name)
            self._check_names(name)

    def _check_names(self, name: str) -> None:
        """A name the template reads that it is not given ("{{ partnr_name }}") fails only
        when a digest is rendered: reported now, with its line. A name the template asks
        about first (``is defined``) may be missing."""
        try:
            source, path, _ = self._env.loader.get_source(self._env, name)  # type: ignore[union-attr]
            tree = self._env.parse(source)
        except jinja2.TemplateError as e:
            raise DigestError(f"template {name}: {e}") from None
        given = GIVEN_NAMES.get(name, _ANY_NAME)
        unknown = meta.find_undeclared_variables(tree) - given - set(self._env.globals)
        unknown -= {
            test.node.name
            for test in tree.find_all(nodes.Test)
            if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name)
        }
        if unknown:
            first = min(
                (node.lineno, node.name)
                for node in tree.find_all(nodes.Name)
                if node.name in unknown and node.ctx == "load"
            )
            # The file's path, as a syntax error names it: an override or the built-in one.
            raise DigestError(
                f"template {path or name}, line {first[0]}: {first[1]!r} is no name this template "
                f"is given (it is given: {', '.join(sorted(given))})"
            )

    def subject(self, issue: DigestIssue) -> str:
        local = issue.period.slot_at.astimezone(self._tz)
        year, week, _ = local.isocalendar()
        count = len(issue.entries)
        text = self._subject.format(
            title=self._site_title,
            week=week,
            year=year,
            count=count,
            meldungen=count_text(count),
            partner=issue.partner.name if issue.partner else "",
        )
        return clean(text)

    def render(self, issue: DigestIssue, archive_path: str | None = None) -> RenderedDigest:
        """The partner's mail: subject, text and HTML part."""
        context = self._context(issue, archive_path)
        text = self._template("digest.txt.j2").render(context)
        html = self._template("digest.html.j2").render(context)
        return RenderedDigest(subject=context["subject"], text=text, html=_inline(html))

    def render_archive(self, issue: DigestIssue) -> str:
        """The period's web page (every story of the period; nothing about partners)."""
        return _inline(self._template("archive.html.j2").render(self._context(issue, None)))

    def render_archive_index(self, periods: Sequence[str]) -> str:
        """The page listing the archived periods (``2026-11-23T0700``), newest first; each
        links to ``<period>.html`` beside it."""
        entries = []
        for key in sorted(set(periods), reverse=True):
            local = datetime.strptime(key, "%Y-%m-%dT%H%M")
            year, week, _ = local.isocalendar()
            entries.append(
                {
                    "file": f"{key}.html",
                    "week": week,
                    "year": year,
                    "date": german.day_text(local.date()),
                }
            )
        context = {
            "subject": clean(f"{self._site_title}: Archiv der Wochenüberblicke"),
            "site_title": clean(self._site_title),
            "site_url": self._base,
            "groups": [],
            "periods": entries,
        }
        return _inline(self._template("archive_index.html.j2").render(context))

    def render_admin(
        self, problems: Sequence[SourceProblem], period: DigestPeriod, sources: int
    ) -> RenderedDigest:
        """The admin digest: sources with problems and their last errors."""
        local = period.slot_at.astimezone(self._tz)
        year, week, _ = local.isocalendar()
        subject = clean(
            f"{self._site_title}: Quellenbericht KW {week}/{year}: "
            + (
                f"{len(problems)} von {sources} Quellen mit Problemen"
                if problems
                else "alles in Ordnung"
            )
        )
        context = {
            "subject": subject,
            "site_title": clean(self._site_title),
            "site_url": self._base,
            "problems": [
                {
                    "name": clean(p.name),
                    "id": p.source_id,
                    "status": p.status,
                    "kind": p.error_kind or "",
                    "error": clean(p.error or ""),
                    "failures": p.failures,
                    "last_success": german_date(p.last_success_at, self._tz)
                    if p.last_success_at
                    else "nie",
                    "last_new": german_date(p.last_new_item_at, self._tz)
                    if p.last_new_item_at
                    else "nie",
                }
                for p in problems
            ],
            "sources": sources,
        }
        text = self._template("admin.txt.j2").render(context)
        html = self._template("admin.html.j2").render(context)
        return RenderedDigest(subject=subject, text=text, html=_inline(html))

    def _context(self, issue: DigestIssue, archive_path: str | None) -> dict[str, Any]:
        partner = issue.partner
        unsubscribe = None
        if partner is not None and self._unsubscribe_url:
            unsubscribe = self._unsubscribe_url.replace("{partner}", partner.id)
        local = issue.period.slot_at.astimezone(self._tz)
        year, week, _ = local.isocalendar()
        return {
            "subject": self.subject(issue),
            "site_title": clean(self._site_title),
            "partner_name": clean(partner.name) if partner else "",
            "groups": issue.groups,
            "count": len(issue.entries),
            "count_text": count_text(len(issue.entries)),
            "since": issue.period.shown_since or issue.period.since,
            "until": issue.period.until,
            "week": week,
            "year": year,
            "site_url": self._base,
            "archive_url": self._base + archive_path if archive_path else None,
            "unsubscribe_url": unsubscribe,
            "unsubscribe_mailto": self._unsubscribe_mailto,
        }

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateSyntaxError as e:
            raise DigestError(
                f"template {e.filename or name}, line {e.lineno}: {e.message}"
            ) from None
        except jinja2.TemplateError as e:
            raise DigestError(f"template {name}: {e}") from None


def _wrap(text: str, width: int = 72, indent: str = "  ") -> str:
    """``text`` as lines of at most ``width``, continuation lines indented."""
    # A word longer than a line (a URL in a teaser) stays whole on a line of its own: cut, a
    # mail client linked its first half only.
    return ("\n" + indent).join(
        textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
    )


#: Mail clients (Outlook, Gmail) drop <style> blocks; the rules go into style="".
#: keep_at_rules keeps the dark-mode media query for the clients that honour it. One inliner
#: for the process: it holds no state between documents.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _inline(html: str) -> str:
    return str(_INLINER.inline(html))
