"""Load the YAML configuration folder into validated, typed settings.

The folder holds one file per concern: ``settings.yaml`` and ``sources.yaml`` (required),
``tags.yaml``, ``channels.yaml`` and ``partners.yaml`` (optional). Every problem found in any of
them is reported at once, each with file, line, key path and a hint, as one
:class:`~revier_feed.exceptions.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import cron
from .exceptions import ConfigError, ConfigIssue
from .models import (
    DistrictSpec,
    FetchSettings,
    HtmlSelectors,
    SourceKind,
    SourceSpec,
    TagSpec,
)

CONFIG_FILES = (
    "settings.yaml",
    "sources.yaml",
    "tags.yaml",
    "districts.yaml",
    "channels.yaml",
    "partners.yaml",
)
#: The region's districts and their towns, shipped with revier-feed; districts.yaml extends it.
GAZETTEER = resources.files("revier_feed") / "data" / "districts.yaml"
REQUIRED_FILES = ("settings.yaml", "sources.yaml")

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def parse_duration(value: object) -> timedelta:
    """Read ``30s``, ``15m``, ``2h``, ``1d``, ``1w``, combinations like ``1h30m``, or seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 2h or 1d")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a duration must be positive")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = list(_DURATION_RE.finditer(text))
        if parts and "".join(p.group(0) for p in parts) == text:
            seconds = sum(float(p.group(1)) * _DURATION_UNITS[p.group(2).lower()] for p in parts)
            if seconds > 0:
                return timedelta(seconds=seconds)
    raise ValueError(f"{value!r} is not a duration; write it like 30s, 15m, 2h, 1d or 1h30m")


def parse_size(value: object) -> int:
    """Read ``10MB``, ``512KiB`` or a plain number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
        if size > 0:
            return size
    raise ValueError(f"{value!r} is not a size; write it like 10MB, 512KB or 1048576")


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid id; use lower-case letters, digits, '-' and '_'"
        )
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _check_interval(value: timedelta) -> timedelta:
    if value < MIN_INTERVAL:
        raise ValueError(
            f"{value.total_seconds():g}s is too often to poll a website; the minimum is "
            f"{MIN_INTERVAL.total_seconds():g}s (YAML reads 1:30 as 90 seconds: write 1h30m)"
        )
    return value


#: Sources are polled at most this often, to be a good citizen.
MIN_INTERVAL = timedelta(minutes=1)
Interval = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_check_interval)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
Url = Annotated[str, BeforeValidator(lambda v: _check_url(v) if isinstance(v, str) else v)]
Id = Annotated[str, BeforeValidator(lambda v: _check_id(v) if isinstance(v, str) else v)]


def _span(value: timedelta) -> str:
    """A duration as the admin would write it: 90m -> 1h30m."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


class _Model(BaseModel):
    # Unknown keys are errors: a typo such as "intervall" must not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- settings.yaml -------------------------------------------------------------------------


class SiteSettings(_Model):
    title: str = "Revier-News"
    description: str = "Nachrichten aus der Region"
    #: Where the published files are reachable; feeds need it for their self links.
    public_base_url: Url = "http://localhost:8000/"
    language: str = "de"

    @field_validator("public_base_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"


class StorageSettings(_Model):
    #: SQLite file, relative to the configuration folder.
    path: str = "../var/revier-feed.sqlite3"
    #: A SQLAlchemy database URL; overrides ``path`` when set.
    url: str | None = None


class OutputSettings(_Model):
    #: Folder the feeds are written to, relative to the configuration folder.
    dir: str = "../var/output"
    max_items: int = Field(default=100, ge=1, le=10000)


class FetchSettingsModel(_Model):
    user_agent: str = "revier-feed/{version} (+{contact_url})"

    @field_validator("user_agent")
    @classmethod
    def _agent(cls, v: str) -> str:
        if not v.isprintable():
            raise ValueError("the user agent must be one line of printable text")
        try:
            v.format(version="0", contact_url="x")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"only {{version}} and {{contact_url}} may be filled in (problem: {e})"
            ) from None
        return v

    contact_url: str = "https://github.com/revier-feed/revier-feed"
    timeout: Duration = timedelta(seconds=30)
    connect_timeout: Duration = timedelta(seconds=10)
    max_concurrency: int = Field(default=32, ge=1, le=256)
    max_per_host: int = Field(default=2, ge=1, le=32)
    max_body_size: ByteSize = 10 * 1000**2
    max_redirects: int = Field(default=5, ge=0, le=20)
    default_interval: Interval = timedelta(hours=1)
    #: Bounds of the adaptive interval, for sources that set none of their own.
    min_interval: Interval = timedelta(minutes=10)
    max_interval: Interval = timedelta(hours=6)
    #: Extra attempts within one cycle on timeouts, connection errors, 429 and 5xx.
    retries: int = Field(default=2, ge=0, le=10)
    retry_backoff: Duration = timedelta(seconds=2)
    #: A server asking to wait longer than this is retried in a later cycle instead.
    max_retry_wait: Duration = timedelta(seconds=30)
    #: Honour robots.txt (Disallow and Crawl-delay for our User-Agent).
    robots_txt: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"min_interval ({_span(self.min_interval)}) is longer than max_interval "
                f"({_span(self.max_interval)})"
            )
        return self


class WorkerSettings(_Model):
    #: How often the worker asks the store which sources are due.
    tick: Duration = timedelta(minutes=1)
    #: Upper bound of the backoff of a failing source.
    max_backoff: Duration = timedelta(days=1)
    #: A source without a new item for this long is shown as "stale".
    stale_after: Duration = timedelta(days=30)
    #: Worker processes that normalize and tag items beside the collecting process.
    processes: int = Field(default=0, ge=0, le=16)
    #: Publishing waits until no new story has come in for this long (a burst is
    #: published once) ...
    publish_delay: Duration = timedelta(seconds=30)
    #: ... but never longer than this after the first unpublished change.
    publish_max_delay: Duration = timedelta(minutes=5)
    #: Items published longer ago than this are removed every night.
    retention: Duration = timedelta(days=365)
    #: Local time (settings.timezone) of the nightly retention run, "HH:MM".
    retention_at: str = "03:30"
    #: On SIGTERM/SIGINT, sources in flight may finish for this long; then they are
    #: abandoned (nothing half-written: they stay due and are fetched on the next start).
    shutdown_timeout: Duration = timedelta(seconds=30)

    @field_validator("retention_at")
    @classmethod
    def _clock_time(cls, v: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v.strip())
        if not match:
            raise ValueError(f'{v!r} is not a time of day; write it like "03:30" (quoted)')
        return f"{int(match.group(1)):02d}:{match.group(2)}"


class ServeSettings(_Model):
    #: Address `revier-feed serve` (and `run --serve`) listens on.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: How long browsers, feed readers and proxies may reuse a file without asking again.
    max_age: Duration = timedelta(minutes=5)


class StoriesSettings(_Model):
    #: Items published further apart than this are never the same story.
    window: Duration = timedelta(days=30)


def _check_cron(value: str) -> str:
    cron.parse(value)
    return value


CronText = Annotated[str, AfterValidator(_check_cron)]
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_RE.match(value):
        raise ValueError(
            f"{value!r} is not the name of an environment variable; the secret itself never "
            "goes into the configuration (write e.g. REVIER_FEED_SMTP_PASSWORD and set it)"
        )
    return value


EnvName = Annotated[str | None, AfterValidator(_check_env_name)]
#: Fields a digest subject may use.
SUBJECT_FIELDS = {
    "title": "",
    "week": 48,
    "year": 2026,
    "count": 12,
    "meldungen": "",
    "partner": "",
}


class DigestSettings(_Model):
    #: When digests go out (cron, in ``timezone``); a partner may override it.
    schedule: CronText = "0 7 * * mon"
    #: A partner's first digest covers the stories first seen this long before it.
    first_window: Duration = timedelta(days=7)
    group_by: Literal["topic", "district"] = "topic"
    #: Send a short "no news" mail instead of skipping an empty digest.
    send_empty: bool = False
    subject: str = "Revier-News KW {week}/{year}: {meldungen}"
    sender: str = "Revier-News <digest@localhost.localdomain>"
    reply_to: str | None = None
    #: ``List-Unsubscribe`` targets; ``{partner}`` is filled in.
    unsubscribe_mailto: str | None = None
    unsubscribe_url: Url | None = None
    #: Plain-text teasers are cut at a word boundary after at most this many characters.
    teaser_length: int = Field(default=300, ge=40, le=5000)
    #: Folder with digest.txt.j2 / digest.html.j2 / archive.html.j2 overriding the built-in
    #: templates (relative to the configuration folder); missing ones fall back.
    templates: str = "templates"
    #: The first retry after a temporary failure; doubles per attempt up to max_retry_wait.
    retry_wait: Duration = timedelta(minutes=5)
    max_retry_wait: Duration = timedelta(hours=6)
    #: Temporary failures in a row after which a digest is given up (shown in status).
    max_attempts: int = Field(default=12, ge=1, le=1000)
    #: Write each period's digest (all stories, no partner data) as a web page.
    archive: bool = True
    #: Where ``digest send --dry-run`` writes .eml files (relative to the config folder).
    outbox: str = "../var/outbox"
    #: Addresses of the admin digest (failing, empty, stale sources); empty: not sent.
    admins: list[str] = []

    @field_validator("admins")
    @classmethod
    def _admin_emails(cls, v: list[str]) -> list[str]:
        for address in v:
            if not _EMAIL_RE.match(address):
                raise ValueError(f"{address!r} is not an email address")
        return v

    @field_validator("subject")
    @classmethod
    def _subject(cls, v: str) -> str:
        try:
            v.format(**SUBJECT_FIELDS)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"only {{{'}, {'.join(SUBJECT_FIELDS)}}} may be filled in (problem: {e})"
            ) from None
        return v

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None:
            address = v.rsplit("<", 1)[-1].rstrip(">").strip()
            if not _EMAIL_RE.match(address) or not v.isprintable():
                raise ValueError(f"{v!r} is not an address like 'Name <digest@example.org>'")
        return v

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL_RE.match(v.removeprefix("mailto:")):
            raise ValueError(f"{v!r} is not an email address")
        return v


class SmtpSettings(_Model):
    host: str = "localhost"
    port: int | None = Field(default=None, ge=1, le=65535)  #: default by security: 465/587/25
    #: ``starttls`` (port 587), ``tls`` (implicit TLS, port 465) or ``none`` (local relay).
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: Names of the environment variables holding the login; no login when unset.
    username_env: EnvName = None
    password_env: EnvName = None
    timeout: Duration = timedelta(seconds=30)
    #: At most this many messages per minute.
    rate_limit: float = Field(default=60, gt=0, le=100000)
    #: A CA bundle to trust besides the system's (for a relay with its own certificate).
    ca_file: str | None = None

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]


class Settings(_Model):
    site: SiteSettings = SiteSettings()
    stories: StoriesSettings = StoriesSettings()
    storage: StorageSettings = StorageSettings()
    output: OutputSettings = OutputSettings()
    fetch: FetchSettingsModel = FetchSettingsModel()
    worker: WorkerSettings = WorkerSettings()
    serve: ServeSettings = ServeSettings()
    #: A WebSub hub to advertise in every feed and to notify when a channel changes.
    websub_hub: Url | None = None
    digest: DigestSettings = DigestSettings()
    smtp: SmtpSettings = SmtpSettings()
    timezone: str = "Europe/Berlin"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name like Europe/Berlin"
            ) from None
        return v


# --- sources.yaml --------------------------------------------------------------------------


def _check_selector(value: str | None) -> str | None:
    """A CSS selector soupsieve can run, optionally with ``@attribute``."""
    if value is None:
        return None
    css = value.strip()
    if "@" in css:
        css, _, attribute = css.rpartition("@")
        if not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", attribute):
            raise ValueError(f"{attribute!r} after '@' is not an attribute name")
    if not css.strip():
        return value  # "@href": an attribute of the item element itself
    import soupsieve  # only configurations with html sources pay for it

    try:
        soupsieve.compile(css)
    except (soupsieve.SelectorSyntaxError, NotImplementedError) as e:
        first_line = str(e).splitlines()[0]
        raise ValueError(
            f"{css!r} is not a CSS selector revier-feed can use: {first_line}"
        ) from None
    return value


Selector = Annotated[str, AfterValidator(_check_selector)]


class HtmlSelectorsModel(_Model):
    item: Selector
    title: Selector
    link: Selector | None = None
    date: Selector | None = None
    teaser: Selector | None = None
    image: Selector | None = None
    #: Article text on followed pages; without it the main content is detected.
    content: Selector | None = None
    #: Link to the next listing page, e.g. ``a.next@href``.
    next: Selector | None = None
    follow: bool = False
    max_pages: int = Field(default=3, ge=1, le=50)
    #: Hosts besides the source's own that followed links may lead to.
    allow_hosts: list[str] = []


class SourceModel(_Model):
    id: Id
    name: str
    kind: Literal["feed", "html"] = "feed"
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
    html: HtmlSelectorsModel | None = None

    @model_validator(mode="after")
    def _selectors_match_kind(self) -> Self:
        if self.kind == "html" and self.html is None:
            raise ValueError("an html source needs an 'html:' block with at least item and title")
        if self.kind == "feed" and self.html is not None:
            raise ValueError("'html:' selectors only apply to kind: html")
        low, high = self.min_interval, self.max_interval
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"min_interval ({_span(low)}) is longer than max_interval ({_span(high)})"
            )
        if self.interval is not None:
            if low is not None and self.interval < low:
                raise ValueError(
                    f"interval ({_span(self.interval)}) is shorter than min_interval "
                    f"({_span(low)})"
                )
            if high is not None and self.interval > high:
                raise ValueError(
                    f"interval ({_span(self.interval)}) is longer than max_interval "
                    f"({_span(high)})"
                )
        return self


class SourcesFile(_Model):
    sources: list[SourceModel]


# --- tags.yaml, channels.yaml, partners.yaml ----------------------------------------------


def _check_term(value: str) -> str:
    """A tag or place term: words with optional ``*`` at either end, or ``re:<regex>``."""
    if value.startswith("re:"):
        try:
            re.compile(value[3:])
        except re.error as e:
            raise ValueError(f"{value!r} is not a valid regular expression: {e}") from None
    elif not re.search(r"\w", value):
        raise ValueError(f"{value!r} has no letters or digits to match")
    return value


TermText = Annotated[str, AfterValidator(_check_term)]


class TagRule(_Model):
    id: Id
    label: str
    any: list[TermText] = []
    all: list[TermText] = []
    none: list[TermText] = []
    fields: list[Literal["title", "teaser", "content"]] = ["title", "teaser", "content"]


class TagsFile(_Model):
    tags: list[TagRule] = []


class DistrictModel(_Model):
    id: Id
    #: Needed for a new district; for one of the gazetteer, its name is kept when omitted.
    name: str | None = None
    terms: list[TermText] = []

    @field_validator("terms")
    @classmethod
    def _no_regex(cls, v: list[str]) -> list[str]:
        for term in v:
            if term.startswith("re:"):
                raise ValueError(f"place names cannot be regular expressions: {term!r}")
        return v


class DistrictsFile(_Model):
    districts: list[DistrictModel] = []


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
    title: str
    description: str = ""
    filter: Filter = Filter()
    limit: int = Field(default=50, ge=1, le=1000)
    language: str = "de"

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
    name: str
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


# --- the loaded configuration --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The whole validated configuration; paths are already resolved."""

    config_dir: Path
    settings: Settings
    sources: tuple[SourceSpec, ...]  #: enabled sources only
    disabled_sources: tuple[str, ...]
    tags: tuple[TagSpec, ...]
    districts: tuple[DistrictSpec, ...]  #: the gazetteer plus districts.yaml
    channels: tuple[ChannelModel, ...]  #: configured channels (built-in ones not included)
    tag_channels: bool
    district_channels: bool
    partners: tuple[PartnerModel, ...]

    @property
    def storage_url(self) -> str:
        """SQLAlchemy URL of the store."""
        if self.settings.storage.url:
            return self.settings.storage.url
        return f"sqlite:///{self.resolve(self.settings.storage.path)}"

    @property
    def lock_path(self) -> Path:
        """The lock file that allows one collecting process per store."""
        if self.settings.storage.url:
            return self.output_dir / ".revier-feed.lock"
        return self.resolve(self.settings.storage.path + ".lock")

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.settings.output.dir)

    def resolve(self, path: str) -> Path:
        """A path from the configuration, relative to the configuration folder."""
        return (self.config_dir / path).resolve()

    def fetch_settings(self, version: str) -> FetchSettings:
        """HTTP settings with the User-Agent template filled in."""
        f = self.settings.fetch
        return FetchSettings(
            user_agent=f.user_agent.format(version=version, contact_url=f.contact_url),
            timeout=f.timeout.total_seconds(),
            connect_timeout=f.connect_timeout.total_seconds(),
            max_concurrency=f.max_concurrency,
            max_per_host=f.max_per_host,
            max_body_bytes=f.max_body_size,
            max_redirects=f.max_redirects,
            retries=f.retries,
            retry_backoff=f.retry_backoff.total_seconds(),
            max_retry_wait=f.max_retry_wait.total_seconds(),
            respect_robots=f.robots_txt,
        )


def load_config(config_dir: str | Path) -> AppConfig:
    """Read and validate every configuration file in ``config_dir``.

    Raises:
        ConfigError: with every problem found, each naming file, line and key.
    """
    folder = Path(config_dir)
    issues: list[ConfigIssue] = []
    if not folder.is_dir():
        raise ConfigError(
            [ConfigIssue(str(folder), None, "", "is not a folder", "pass --config DIR")]
        )
    loaded: dict[str, tuple[Any, _Lines]] = {}
    for name in CONFIG_FILES:
        path = folder / name
        if not path.exists():
            if name in REQUIRED_FILES:
                issues.append(
                    ConfigIssue(
                        str(path), None, "", "file is missing", f"every configuration needs {name}"
                    )
                )
            continue
        try:
            data, lines = _load_yaml(path)
        except _YamlProblems as e:
            issues.extend(e.issues)
            continue
        if data is None:
            data = {}
        if not isinstance(data, dict):
            issues.append(ConfigIssue(str(path), 1, "", "the file must hold a mapping of keys"))
            continue
        loaded[name] = (data, lines)

    validated: dict[str, Any] = {}
    for name, (data, lines) in loaded.items():
        model = _FILE_MODELS[name]
        try:
            validated[name] = model.model_validate(data)
        except ValidationError as e:
            issues.extend(_issues_from_validation(e, folder / name, lines, model))

    if "sources.yaml" in validated:
        # Cross-file references are checked with whatever validated, so a typo in one file
        # and a dangling reference in another are reported together.
        issues.extend(_cross_check(folder, validated, loaded))
    if issues:
        raise ConfigError(issues)

    settings: Settings = validated["settings.yaml"]
    sources_file: SourcesFile = validated["sources.yaml"]
    tags_file: TagsFile = validated.get("tags.yaml", TagsFile())
    channels_file: ChannelsFile = validated.get("channels.yaml", ChannelsFile())
    partners_file: PartnersFile = validated.get("partners.yaml", PartnersFile())
    return AppConfig(
        config_dir=folder.resolve(),
        settings=settings,
        sources=tuple(_source_spec(s, settings.fetch) for s in sources_file.sources if s.enabled),
        disabled_sources=tuple(s.id for s in sources_file.sources if not s.enabled),
        tags=tuple(
            TagSpec(t.id, t.label, tuple(t.any), tuple(t.all), tuple(t.none), tuple(t.fields))
            for t in tags_file.tags
        ),
        districts=_districts(validated.get("districts.yaml")),
        channels=tuple(channels_file.channels),
        tag_channels=channels_file.tag_channels,
        district_channels=channels_file.district_channels,
        partners=tuple(partners_file.partners),
    )


def _gazetteer() -> DistrictsFile:
    data = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))
    return DistrictsFile.model_validate(data)


def _districts(extension: DistrictsFile | None) -> tuple[DistrictSpec, ...]:
    merged: dict[str, DistrictSpec] = {}
    for model in _gazetteer().districts + (extension.districts if extension else []):
        known = merged.get(model.id)
        merged[model.id] = DistrictSpec(
            id=model.id,
            name=model.name or (known.name if known else model.id),
            terms=(known.terms if known else ()) + tuple(model.terms),
        )
    return tuple(merged.values())


def _source_spec(model: SourceModel, defaults: FetchSettingsModel) -> SourceSpec:
    interval = model.interval or defaults.default_interval
    selectors = None
    html = model.html
    if html is not None:
        selectors = HtmlSelectors(
            item=html.item,
            title=html.title,
            link=html.link,
            date=html.date,
            teaser=html.teaser,
            image=html.image,
            content=html.content,
            next=html.next,
        )
    return SourceSpec(
        id=model.id,
        name=model.name,
        kind=SourceKind(model.kind),
        url=model.url,
        interval=interval,
        # Defaults widen to include what the source sets itself, so an explicit value never
        # conflicts with a default.
        min_interval=model.min_interval
        or min(defaults.min_interval, interval, model.max_interval or interval),
        max_interval=model.max_interval
        or max(defaults.max_interval, interval, model.min_interval or interval),
        priority=model.priority,
        tags=tuple(model.tags),
        district=model.district,
        selectors=selectors,
        follow=bool(html and html.follow),
        max_pages=html.max_pages if html and html.next else 1,
        allow_hosts=tuple(h.lower() for h in html.allow_hosts) if html else (),
        backfill=model.backfill,
    )


# --- cross-file checks ---------------------------------------------------------------------


def _cross_check(
    folder: Path, validated: dict[str, Any], loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    sources: list[SourceModel] = validated["sources.yaml"].sources
    source_ids = [s.id for s in sources]
    yield from _duplicates(folder / "sources.yaml", "sources", source_ids, loaded)
    tags_file: TagsFile | None = validated.get("tags.yaml")
    tag_ids = [t.id for t in tags_file.tags] if tags_file else []
    if tags_file:
        yield from _duplicates(folder / "tags.yaml", "tags", tag_ids, loaded)
    known_tags = set(tag_ids) | {tag for s in sources for tag in s.tags}
    districts_file: DistrictsFile | None = validated.get("districts.yaml")
    district_ids = {d.id for d in _gazetteer().districts}
    if districts_file:
        yield from _duplicates(
            folder / "districts.yaml",
            "districts",
            [d.id for d in districts_file.districts],
            loaded,
        )
        for i, district in enumerate(districts_file.districts):
            if district.id not in district_ids and not district.name:
                loc = ("districts", i, "name")
                yield ConfigIssue(
                    str(folder / "districts.yaml"),
                    loaded["districts.yaml"][1].line_of(loc),
                    _dotted(loc),
                    f"{district.id!r} is not in the gazetteer, so it needs a name",
                    "or use an existing id to add place names: " + ", ".join(sorted(district_ids)),
                )
        district_ids |= {d.id for d in districts_file.districts}
    _, source_lines = loaded["sources.yaml"]
    for i, source in enumerate(sources):
        if source.district and source.district not in district_ids:
            loc = ("sources", i, "district")
            yield ConfigIssue(
                str(folder / "sources.yaml"),
                source_lines.line_of(loc),
                _dotted(loc),
                f"unknown district {source.district!r}",
                _did_you_mean(source.district, district_ids)
                or "known: " + ", ".join(sorted(district_ids)),
            )

    for file_name, list_key in (("channels.yaml", "channels"), ("partners.yaml", "partners")):
        if file_name not in validated:
            continue
        entries = getattr(validated[file_name], list_key)
        path = folder / file_name
        _, lines = loaded[file_name]
        yield from _duplicates(path, list_key, [e.id for e in entries], loaded)
        for i, entry in enumerate(entries):
            checks = (
                ("sources", entry.filter.sources, set(source_ids), "source"),
                ("tags", entry.filter.tags, known_tags, "tag"),
                ("all_tags", entry.filter.all_tags, known_tags, "tag"),
                ("exclude_tags", entry.filter.exclude_tags, known_tags, "tag"),
                ("districts", entry.filter.districts, district_ids, "district"),
            )
            for key, values, known, what in checks:
                for j, value in enumerate(values):
                    if value not in known:
                        where: Loc = (list_key, i, "filter", key, j)
                        yield ConfigIssue(
                            str(path),
                            lines.line_of(where),
                            _dotted(where),
                            f"unknown {what} {value!r}",
                            _did_you_mean(value, known),
                        )


def _duplicates(
    path: Path, list_key: str, ids: list[str], loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    seen: set[str] = set()
    _, lines = loaded[path.name]
    for i, value in enumerate(ids):
        if value in seen:
            loc = (list_key, i, "id")
            yield ConfigIssue(
                str(path),
                lines.line_of(loc),
                _dotted(loc),
                f"duplicate id {value!r}",
                "ids must be unique in a file",
            )
        seen.add(value)


# --- YAML with line numbers ----------------------------------------------------------------

Loc = tuple[str | int, ...]


class _Lines:
    """Maps key paths such as ("sources", 2, "interval") to 1-based line numbers."""

    def __init__(self) -> None:
        self._lines: dict[Loc, int] = {}

    def set(self, loc: Loc, line: int) -> None:
        self._lines[loc] = line

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that is in the file."""
        key = tuple(loc)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return self._lines.get((), None)


class _YamlProblems(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues


def _load_yaml(path: Path) -> tuple[Any, _Lines]:
    lines = _Lines()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise _YamlProblems(
            [ConfigIssue(str(path), None, "", f"not UTF-8 text ({e.reason})", "save as UTF-8")]
        ) from e
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(filter(None, [e.context, e.problem]))
        raise _YamlProblems(
            [
                ConfigIssue(
                    str(path),
                    line,
                    "",
                    f"YAML syntax error: {problem}",
                    "check indentation, colons and quotes around this line",
                )
            ]
        ) from e
    if node is None:
        return None, lines
    problems: list[ConfigIssue] = []
    data = _construct(node, (), lines, path, problems)
    if problems:
        raise _YamlProblems(problems)
    return data, lines


def _construct(
    node: yaml.Node, loc: Loc, lines: _Lines, path: Path, problems: list[ConfigIssue]
) -> Any:
    lines.set(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    ConfigIssue(
                        str(path),
                        key_node.start_mark.line + 1,
                        _dotted(loc),
                        "a key must be a plain name",
                        "remove the '?' or brackets",
                    )
                )
                continue
            key = key_node.value
            if key == "<<":
                problems.append(
                    ConfigIssue(
                        str(path),
                        key_node.start_mark.line + 1,
                        _dotted(loc),
                        "YAML merge keys are not supported",
                        "write the keys out",
                    )
                )
                continue
            if key in result:
                problems.append(
                    ConfigIssue(
                        str(path),
                        key_node.start_mark.line + 1,
                        _dotted((*loc, key)),
                        "key appears twice",
                        "remove one of them",
                    )
                )
            child = (*loc, key)
            result[key] = _construct(value_node, child, lines, path, problems)
            lines.set(child, key_node.start_mark.line + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*loc, i), lines, path, problems) for i, item in enumerate(node.value)
        ]
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in str(node.value):
        problems.append(
            ConfigIssue(
                str(path),
                node.start_mark.line + 1,
                _dotted(loc),
                f"YAML reads {node.value} as a base-60 number",
                "write a duration like 1h30m, or quote the value",
            )
        )
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e)
        problems.append(
            ConfigIssue(
                str(path),
                node.start_mark.line + 1,
                _dotted(loc),
                f"unsupported YAML value: {problem}",
                "write plain text, numbers, lists and mappings (no !tags)",
            )
        )
        return None
    finally:
        loader.dispose()


# --- pydantic errors -> issues -------------------------------------------------------------


def _issues_from_validation(
    error: ValidationError, path: Path, lines: _Lines, root: type[BaseModel]
) -> Iterator[ConfigIssue]:
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        hint = ""
        if kind == "extra_forbidden":
            allowed = _allowed_keys(root, loc[:-1])
            message = f"unknown key {loc[-1]!r}"
            hint = _did_you_mean(str(loc[-1]), allowed)
            if allowed:
                hint = (hint + "; " if hint else "") + "allowed keys: " + ", ".join(allowed)
        elif kind == "missing":
            message = f"required key {loc[-1]!r} is missing"
            hint = f"add '{loc[-1]}:'"
        elif kind == "literal_error" or kind.endswith(("_type", "_parsing")):
            hint = f"got {err.get('input')!r}"
        yield ConfigIssue(str(path), lines.line_of(loc), _dotted(loc), message, hint)


def _allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` (walking lists and optionals)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """``X | None`` -> ``X``; other types unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _did_you_mean(value: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- sources from the command line, and back to YAML ---------------------------------------


def source_from_options(options: dict[str, Any], defaults: FetchSettingsModel) -> SourceSpec:
    """A source described on the command line (``sources test --url …``), validated like
    one in sources.yaml.

    Raises:
        ConfigError: with the option names in the key paths.
    """
    try:
        model = SourceModel.model_validate(options)
    except ValidationError as e:
        issues = [
            ConfigIssue(
                "<command line>",
                None,
                _dotted(tuple(err["loc"])),
                err["msg"].removeprefix("Value error, "),
            )
            for err in e.errors(include_url=False)
        ]
        raise ConfigError(issues) from None
    return _source_spec(model, defaults)


def source_yaml(spec: SourceSpec) -> str:
    """``spec`` as an entry of sources.yaml, ready to paste (keys at their defaults omitted)."""
    entry: dict[str, Any] = {"id": spec.id, "name": spec.name}
    if spec.kind is SourceKind.HTML:
        entry["kind"] = "html"
    entry["url"] = spec.url
    if spec.tags:
        entry["tags"] = list(spec.tags)
    if spec.district:
        entry["district"] = spec.district
    if spec.selectors is not None:
        html = {k: v for k, v in dataclasses.asdict(spec.selectors).items() if v}
        if spec.follow:
            html["follow"] = True
        if spec.selectors.next:
            html["max_pages"] = spec.max_pages
        if spec.allow_hosts:
            html["allow_hosts"] = list(spec.allow_hosts)
        entry["html"] = html
    text: str = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
    return text
