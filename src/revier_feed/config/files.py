"""The other YAML files: ``sources.yaml``, ``tags.yaml``, ``districts.yaml``,
``channels.yaml`` and ``partners.yaml``."""

from __future__ import annotations

import ipaddress
import re
import warnings
from datetime import timedelta
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .._utils import is_secret_name, site_of, span
from .settings import CapitalsEnvName, CronText, Settings, check_user_agent
from .values import (
    _EMAIL_RE,
    Duration,
    Id,
    Interval,
    Language,
    Shown,
    Text,
    Title,
    Url,
    _Model,
)

# --- sources.yaml --------------------------------------------------------------------------


def _check_selector(value: str | None) -> str | None:
    """A CSS selector soupsieve can run, optionally with ``@attribute``."""
    if value is None:
        return None
    css = value.strip()
    if not css:
        raise ValueError("an empty selector would take the whole item; leave the key out")
    # As parse/html.py reads it: "@name" at the end is an attribute; an "@" inside the
    # selector ('a[title="x@y"]') is the selector's.
    if found := re.fullmatch(r"(.*?)@([A-Za-z_:][-A-Za-z0-9_:.]*)", css):
        css = found[1]
        if not css.strip():
            return value  # "@href": an attribute of the item element itself
    import soupsieve  # only configurations with html sources pay for it

    try:
        with warnings.catch_warnings():
            # ":contains" works, but is deprecated: said here, not as a warning on stderr.
            warnings.simplefilter("error", FutureWarning)
            soupsieve.compile(css)
    except FutureWarning as e:
        raise ValueError(f"{css!r}: {e}") from None
    except (soupsieve.SelectorSyntaxError, NotImplementedError) as e:
        if "@" in css and not found:  # "a@1href": meant as an attribute, most likely
            raise ValueError(
                f"{css.rpartition('@')[2]!r} after '@' is not an attribute name"
            ) from None
        first_line = str(e).splitlines()[0]
        raise ValueError(
            f"{css!r} is not a CSS selector revier-feed can use: {first_line}"
        ) from None
    return value


Selector = Annotated[str, AfterValidator(_check_selector)]


def _check_element_selector(value: str) -> str:
    """A selector of elements (``remove``): an ``@attribute`` takes no element out, and the
    whole page is no clutter."""
    if re.fullmatch(r"(.*?)@([A-Za-z_:][-A-Za-z0-9_:.]*)", value.strip()):
        raise ValueError(
            f"{value!r} selects an attribute; `remove` takes elements out: leave the @… out"
        )
    if any(part.strip().lower() in _WHOLE_PAGE for part in value.split(",")):
        raise ValueError(f"{value!r} would take out the whole page; name the clutter itself")
    return value


_WHOLE_PAGE = frozenset({"html", "body", ":root", "*", "html *", "body *"})


ElementSelector = Annotated[
    str, AfterValidator(_check_selector), AfterValidator(_check_element_selector)
]


def _check_host(value: str) -> str:
    ip6 = value.startswith("[")  # "[::1]" or "[::1]:8080"
    if ip6:
        host, closed, rest = value[1:].partition("]")
        has_port, port = rest[:1] == ":", rest[1:]
        valid = bool(closed) and (not rest or has_port)
    else:
        host, colon, port = value.partition(":")
        has_port, valid = bool(colon), bool(_HOST.fullmatch(host))
    if has_port and not (_PORT.fullmatch(port) and int(port) <= 65535):
        valid = False
    # Kept as links' sites are compared: lower-case, in IDNA ("xn--"), the usual ports out.
    site = site_of(f"{'https' if port == '443' else 'http'}://{value}/") if valid else None
    if site is None and ip6:
        raise ValueError(
            f"{value!r} is not an IPv6 address in brackets; write it like [2001:db8::1], or "
            "[2001:db8::1]:8080 for another port than http's and https's"
        )
    if site is None:
        raise ValueError(
            f"{value!r} is not a host name; write it like www.example.org, or "
            "www.example.org:8080 for another port than http's and https's (no scheme or "
            "path)"
        )
    return site


# Labels of letters, digits, "-" (and "_", which some hosts have), dot-separated.
_HOST = re.compile(r"(?=.{1,253}\Z)[\w-]+(?:\.[\w-]+)*\.?")
_PORT = re.compile(r"[1-9][0-9]{0,4}\Z")
HostName = Annotated[str, AfterValidator(_check_host)]


#: Listing pages an ``html`` source reads when it has a ``next`` selector and no ``max_pages``.
DEFAULT_MAX_PAGES = 3


class HtmlSelectorsModel(_Model):
    item: Selector
    title: Selector
    link: Selector | None = None
    date: Selector | None = None
    teaser: Selector | None = None
    image: Selector | None = None
    #: Links to an item's files (a press release's PDF), in the item and on followed pages.
    files: Selector | None = None
    #: Article text on followed pages; without it the main content is detected.
    content: Selector | None = None
    #: Link to the next listing page, e.g. ``a.next@href``.
    next: Selector | None = None
    #: An item is its match and the elements after it, up to the next match.
    item_until_next: bool = False
    follow: bool = False
    max_pages: int = Field(default=DEFAULT_MAX_PAGES, ge=1, le=50)
    #: Hosts besides the source's own that followed links may lead to.
    allow_hosts: list[HostName] = []


#: A dot path as :mod:`revier_feed.parse.json_api` reads it: keys (no dots, brackets or
#: blanks) and list positions, or "." for the whole document.
_JSON_PATH = re.compile(r"\.|(?:[^.\[\]\s]+|\[\d+\])(?:\.[^.\[\]\s]+|\[\d+\])*")
#: JSONPath's root and wildcards as whole steps ("$.data", "items.*", "*"), which name no
#: key (keys such as .NET's "$values" do), and a path of slashes.
_JSONPATH_STEP = re.compile(r"(?:^|\.)(?:\$|\*)(?:\.|$|\[)|\[\*\]|/")


def _check_json_path(value: str) -> str:
    """A dot path as :mod:`revier_feed.parse.json_api` reads it (not JSONPath's "$.",
    "*" or "..", nor a path of slashes, which would find nothing when the source runs)."""
    if not _JSON_PATH.fullmatch(value.strip()) or _JSONPATH_STEP.search(value.strip()):
        raise ValueError(
            f"{value!r} is not a dot path: keys joined by '.', list positions as numbers "
            "('data.news', 'title.rendered', 'media.0.url'), '.' for the whole document; "
            "a list is gone through without '*' or '[*]', and there is no '$'"
        )
    return value.strip()


JsonPath = Annotated[str, AfterValidator(_check_json_path)]


class JsonPathsModel(_Model):
    items: JsonPath
    title: JsonPath
    link: JsonPath | None = None
    date: JsonPath | None = None
    teaser: JsonPath | None = None
    content: JsonPath | None = None
    image: JsonPath | None = None
    id: JsonPath | None = None
    author: JsonPath | None = None
    categories: JsonPath | None = None
    #: On an HTML page, the ``<script>`` holding the JSON.
    script: Selector | None = None
    follow: bool = False
    #: Hosts besides the source's own that followed links may lead to.
    allow_hosts: list[HostName] = []

    @field_validator("title", "link", "date", "teaser", "content", "image", "id", "author")
    @classmethod
    def _within_an_item(cls, value: str | None) -> str | None:
        if value == ".":
            raise ValueError("'.' is the whole item: name the key of the field in it")
        return value


#: The keys of an html source's CSS selectors (also `sources test`'s options).
SELECTOR_KEYS = (
    "item",
    "title",
    "link",
    "date",
    "teaser",
    "image",
    "files",
    "content",
    "next",
)


class SourceModel(_Model):
    id: Id
    name: Title
    kind: Literal["feed", "html", "json"] = "feed"
    url: Url
    enabled: bool = True
    interval: Interval | None = None
    #: Bounds of the adaptive interval; default: fetch.min_interval / fetch.max_interval,
    #: widened to include ``interval``.
    min_interval: Interval | None = None
    max_interval: Interval | None = None
    priority: int = 0
    tags: list[Id] = []
    district: str | None = None
    #: Items of the first fetch published this recently count as news; older ones are backlog.
    backfill: Duration | None = None
    #: Only items this rule matches are collected.
    include: ItemRuleModel | None = None
    #: Items this rule matches are not collected.
    exclude: ItemRuleModel | None = None
    html: HtmlSelectorsModel | None = None
    json_: JsonPathsModel | None = Field(default=None, alias="json")
    #: TLS as the site needs it: its missing intermediate or own certificate trusted, or
    #: the TLS of before 1.2 allowed.
    tls: SourceTlsModel | None = None
    #: The login of a site that asks for one, from environment variables.
    auth: SourceAuthModel | None = None
    #: The User-Agent for this source's requests instead of ``fetch.user_agent``: a site
    #: that refuses programs it does not know. ``{version}``, ``{contact_url}`` filled in.
    user_agent: Annotated[str, AfterValidator(check_user_agent)] | None = None
    #: Elements taken out of what the source delivers before it is read (share buttons, a
    #: "Mehr News" box, a feed's "appeared first on" footer).
    remove: list[ElementSelector] = Field(default_factory=list, max_length=50)

    @field_validator("remove", mode="before")
    @classmethod
    def _one_selector(cls, remove: object) -> object:
        return [remove] if isinstance(remove, str) else remove  # `remove: .teilen`

    @field_validator("auth", mode="before")
    @classmethod
    def _login_given(cls, auth: object) -> object:
        if auth is None:  # "auth:" with nothing under it: taken for no login, silently
            raise ValueError(
                "auth is empty: give username_env and password_env, or token_env; or "
                "leave auth out"
            )
        return auth

    @field_validator("auth")
    @classmethod
    def _login_encrypted(
        cls, auth: SourceAuthModel | None, info: ValidationInfo
    ) -> SourceAuthModel | None:
        url = info.data.get("url")
        if auth is not None and url is not None and url.lower().startswith("http://"):
            host = urlsplit(url).hostname or ""
            if not _on_this_machine(host):
                raise ValueError(
                    f"the login would go to {host} unencrypted over http; use the site's "
                    "https address (a login over http is for a site on this machine only)"
                )
        return auth

    @model_validator(mode="after")
    def _selectors_match_kind(self) -> Self:
        if self.kind == "html" and self.html is None:
            raise ValueError("an html source needs an 'html:' block with at least item and title")
        if self.kind != "html" and self.html is not None:
            raise ValueError("'html:' selectors only apply to kind: html")
        if self.kind == "json" and self.json_ is None:
            raise ValueError("a json source needs a 'json:' block with at least items and title")
        if self.kind != "json" and self.json_ is not None:
            raise ValueError("'json:' paths only apply to kind: json")
        return self

    # Checked on the bounds' own keys (the first given one of each pair), so that the
    # message names their line, not the source's.
    @field_validator("min_interval")
    @classmethod
    def _low_bound(cls, low: timedelta | None, info: ValidationInfo) -> timedelta | None:
        interval = info.data.get("interval")
        if low is not None and interval is not None and interval < low:
            raise ValueError(
                f"interval ({span(interval)}) is shorter than min_interval ({span(low)})"
            )
        return low

    @field_validator("max_interval")
    @classmethod
    def _high_bound(cls, high: timedelta | None, info: ValidationInfo) -> timedelta | None:
        interval, low = info.data.get("interval"), info.data.get("min_interval")
        if high is not None and low is not None and low > high:
            raise ValueError(
                f"min_interval ({span(low)}) is longer than max_interval ({span(high)})"
            )
        if high is not None and interval is not None and interval > high:
            raise ValueError(
                f"interval ({span(interval)}) is longer than max_interval ({span(high)})"
            )
        return high


class SourcesFile(_Model):
    sources: list[SourceModel]


# --- tags.yaml, channels.yaml, partners.yaml ----------------------------------------------


def _check_term(value: str) -> str:
    """A tag or place term: words with optional ``*`` at either end, or ``re:<regex>``."""
    if value.startswith("re:"):
        import regex  # only configurations with such terms pay for it

        try:
            # As the tag stage compiles it (tag.compile_expression).
            expression = regex.compile(value[3:], regex.IGNORECASE | regex.V0)
        except (regex.error, OverflowError, RecursionError) as e:
            raise ValueError(f"{value!r} is not a valid regular expression: {e}") from None
        if expression.search("") is not None:
            raise ValueError(f"{value!r} matches an empty text, so every item")
    elif not re.search(r"\w", value):
        raise ValueError(f"{value!r} has no letters or digits to match")
    elif re.search(r"\*\s|\s\*", value.strip()):
        # "Schüler*innen" is a word (the text's "*" parts words as the term's does); a "*"
        # beside a blank would be a wildcard in the middle of a phrase, which terms lack.
        raise ValueError(
            f"{value!r} has a '*' beside a blank: a wildcard may only start or end a term "
            "(or write a regular expression: re:...)"
        )
    return value


TermText = Annotated[str, AfterValidator(_check_term)]


def _some_fields(fields: list[str]) -> list[str]:
    if not fields:
        raise ValueError(
            "name at least one of title, teaser, content (with none, the rule "
            "matches no item), or leave the key out for all three"
        )
    return fields


#: Where a rule looks: at least one field (none would match no item, silently).
Fields = Annotated[list[Literal["title", "teaser", "content"]], AfterValidator(_some_fields)]


class TagRule(_Model):
    id: Id
    label: Title
    any: list[TermText] = []
    all: list[TermText] = []
    none: list[TermText] = []
    fields: Fields = ["title", "teaser", "content"]


class TagsFile(_Model):
    tags: list[TagRule] = []


class ItemRuleModel(_Model):
    """A source's ``include`` or ``exclude`` rule: the terms of a tag rule."""

    any: list[TermText] = []
    all: list[TermText] = []
    none: list[TermText] = []
    fields: Fields = ["title", "teaser", "content"]

    @model_validator(mode="after")
    def _has_terms(self) -> Self:
        if not self.any and not self.all:
            raise ValueError(
                "a rule needs 'any' or 'all' terms (with only 'none' terms it matches no item)"
            )
        return self


class SourceTlsModel(_Model):
    """A source's ``tls`` block (see docs/config.md, "Sites with broken TLS")."""

    #: A PEM file of certificates trusted for this source besides the system's, relative
    #: to the configuration folder: a site's missing intermediate, or its own certificate.
    ca_file: Text | None = None
    #: Allow TLS 1.0 and 1.1, weak keys and ciphers, and the renegotiation of before 2010,
    #: for an old server that offers nothing else.
    legacy: bool = False


class SourceAuthModel(_Model):
    """A source's ``auth`` block: the names of the environment variables holding its login
    (docs/config.md, "Sources behind a login")."""

    #: HTTP Basic: both variables.
    username_env: CapitalsEnvName = None
    password_env: CapitalsEnvName = None
    #: Instead of a user name and password: a token, sent as ``Authorization: Bearer``.
    token_env: CapitalsEnvName = None

    @field_validator("password_env", "token_env")
    @classmethod
    def _masked_in_logs(cls, name: str | None) -> str | None:
        # Not repeated in the message: a secret written here by mistake can look like a name.
        if name is not None and not is_secret_name(name):
            raise ValueError(
                "the variable's name must say that it holds a secret, with PASSWORD, TOKEN or "
                "SECRET in it (such as KAMMER_PASSWORD, KAMMER_TOKEN), so that revier-feed "
                "masks its value wherever it might be logged"
            )
        return name

    @model_validator(mode="after")
    def _one_login(self) -> Self:
        basic = self.username_env is not None or self.password_env is not None
        if self.token_env is not None and basic:
            raise ValueError("give either token_env or username_env and password_env, not both")
        if self.token_env is None and (self.username_env is None or self.password_env is None):
            raise ValueError(
                "a login needs username_env and password_env (HTTP Basic), or token_env "
                "(a bearer token)"
            )
        return self


def _on_this_machine(host: str) -> bool:
    """Whether ``host`` is this machine: "localhost" or a loopback address."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SourceModel.model_rebuild()


class DistrictModel(_Model):
    id: Id
    #: Needed for a new district; for one of the gazetteer, its name is kept when omitted.
    name: Title | None = None
    terms: list[TermText] = []

    @field_validator("terms")
    @classmethod
    def _no_regex(cls, v: list[str]) -> list[str]:
        return _place_names(v)


def _place_names(terms: list[str]) -> list[str]:
    for term in terms:
        if term.startswith("re:"):
            raise ValueError(f"place names cannot be regular expressions: {term!r}")
    return terms


class DistrictsFile(_Model):
    districts: list[DistrictModel] = []
    #: Names that contain a place name of the region and are not in it ("Landsberg am
    #: Lech"): found, they give no district.
    elsewhere: list[TermText] = []

    @field_validator("elsewhere")
    @classmethod
    def _no_regex(cls, v: list[str]) -> list[str]:
        return _place_names(v)


class Filter(_Model):
    tags: list[str] = []  #: any of these
    all_tags: list[str] = []
    districts: list[str] = []
    sources: list[str] = []
    exclude_tags: list[str] = []


#: Channel ids the built-in channels use.
RESERVED_CHANNEL = re.compile(r"^(all|tag-.*|district-.*)$")


class ChannelModel(_Model):
    id: Id
    title: Title
    description: Shown = ""
    filter: Filter = Filter()
    limit: int = Field(default=50, ge=1, le=1000)
    language: Language = "de"

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if RESERVED_CHANNEL.match(v):
            raise ValueError(
                f"{v!r} is taken by a built-in channel ('all', 'tag-…', 'district-…')"
            )
        return v


class ChannelsFile(_Model):
    #: Publish a channel for every tag in tags.yaml ("tag-<id>").
    tag_channels: bool = True
    #: Publish a channel for every district ("district-<id>").
    district_channels: bool = True
    channels: list[ChannelModel] = []


class PartnerModel(_Model):
    id: Id
    name: Title
    addresses: list[str] = Field(min_length=1)
    filter: Filter = Filter()
    active: bool = True
    #: Cron expression overriding ``digest.schedule`` for this partner.
    schedule: CronText | None = None
    #: Overrides ``digest.group_by`` for this partner.
    group_by: Literal["topic", "district"] | None = None

    @field_validator("addresses")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for address in v:
            if not _EMAIL_RE.match(address):
                raise ValueError(f"{address!r} is not an email address")
        return v


class PartnersFile(_Model):
    partners: list[PartnerModel] = []


_FILE_MODELS: dict[str, type[_Model]] = {
    "settings.yaml": Settings,
    "sources.yaml": SourcesFile,
    "tags.yaml": TagsFile,
    "districts.yaml": DistrictsFile,
    "channels.yaml": ChannelsFile,
    "partners.yaml": PartnersFile,
}
