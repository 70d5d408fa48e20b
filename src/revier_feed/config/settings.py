"""``settings.yaml``: the site, the store, the output folder, fetching, the worker, serving,
stories, the digest and SMTP."""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)

from .. import cron
from .._utils import span
from .values import (
    _EMAIL_RE,
    ByteSize,
    Duration,
    Interval,
    Language,
    Shown,
    Text,
    Title,
    Url,
    _Model,
)

# --- settings.yaml -------------------------------------------------------------------------


def _processes(value: object) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 16:
        return value
    raise ValueError(
        f"{value!r} is not a number of processes; write a number from 0 to 16 or auto"
    )


class SiteSettings(_Model):
    title: Title = "Revier-News"
    description: Shown = "Nachrichten aus der Region"
    #: Where the published files are reachable; feeds need it for their self links.
    public_base_url: Url = "http://localhost:8000/"
    language: Language = "de"
    #: A picture (PNG, GIF, JPEG, ICO, WebP) relative to the configuration folder: the
    #: feeds' and pages' icon.
    icon: Text | None = None

    @field_validator("public_base_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"


class StorageSettings(_Model):
    #: SQLite file, relative to the configuration folder.
    path: Text = "../var/revier-feed.sqlite3"
    #: The SQLite file as a URL (``sqlite:///PATH``); overrides ``path`` when set.
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _sqlite_file(cls, v: str | None) -> str | None:
        path = v.removeprefix("sqlite:///") if v is not None else None
        if v is not None and (v == path or path in ("", ":memory:") or "?" in v):
            raise ValueError(
                f"{v!r} is not a SQLite file: revier-feed stores in one SQLite file; write "
                "sqlite:///PATH (without options), or set storage.path instead"
            )
        return v


class OutputSettings(_Model):
    #: Folder the feeds are written to, relative to the configuration folder.
    dir: Text = "../var/output"
    max_items: int = Field(default=100, ge=1, le=10000)


#: Servers refuse longer request headers (431); the default is about 60.
MAX_USER_AGENT_CHARS = 500


def check_user_agent(v: str) -> str:
    """A User-Agent as a request header can carry it: one line of ASCII, only the fields
    ``{version}`` and ``{contact_url}`` to fill in, at most :data:`MAX_USER_AGENT_CHARS`.

    Raises:
        ValueError: naming what is wrong.
    """
    if not v.isprintable():
        raise ValueError("the user agent must be one line of printable text")
    if not v.strip() or v != v.strip():
        # HTTP takes no header value that begins or ends with a blank: every request failed.
        raise ValueError("the user agent must not be empty, nor begin or end with a blank")
    if not v.isascii():
        # Sent as a request header, which is ASCII: every request would fail.
        raise ValueError(
            "the user agent must be ASCII (a request header is): write umlauts as ae, oe, ue"
        )
    try:
        for _, name, spec, _ in string.Formatter().parse(v):
            # "{version.x}" reads an attribute; "{version:>99999999}" is 100 MB.
            if name is not None and (not name.isidentifier() or _WIDE.search(spec or "")):
                raise ValueError(f"{{{name}:{spec}}} is no plain field")
        agent = v.format(version="0.0.0", contact_url="https://example.org/")
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as e:
        raise ValueError(
            f"only {{version}} and {{contact_url}} may be filled in (problem: {e})"
        ) from None
    if len(agent) > MAX_USER_AGENT_CHARS:
        raise ValueError(
            f"a user agent of {len(agent):,} characters is too long for a request header; "
            f"use at most {MAX_USER_AGENT_CHARS}"
        )
    return v


class FetchSettingsModel(_Model):
    user_agent: str = "revier-feed/{version} (+{contact_url})"

    @field_validator("user_agent")
    @classmethod
    def _agent(cls, v: str) -> str:
        check_user_agent(v)
        if "{contact_url}" not in v and not re.search(r"https?://|@", v):
            # Sites see who fetches them only here: a browser's string hides it.
            raise ValueError(
                "the user agent must tell site operators how to reach you: keep "
                "{contact_url} in it, or write a URL or mail address of your own"
            )
        return v

    contact_url: str = Field(default="https://github.com/revier-feed/revier-feed", max_length=300)

    @field_validator("contact_url")
    @classmethod
    def _ascii_contact(cls, v: str) -> str:
        """The URL as a request header can carry it: a web address's host with umlauts in
        IDNA, the rest percent-encoded ("städte.example" -> "xn--stdte-hra.example")."""
        if not v.isprintable() or any(c.isspace() for c in v):
            # A folded YAML block ends in a line break: every request would fail.
            raise ValueError(f"{v!r} must be one URL without blanks or line breaks")
        if v.isascii():
            return v
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"{v!r} cannot be sent in a request header: write it in ASCII (a host with "
                "umlauts as xn--…)"
            )
        import httpx

        try:
            return str(httpx.URL(v))
        except (httpx.InvalidURL, UnicodeError) as e:
            raise ValueError(f"{v!r} cannot be sent in a request header: {e}") from None

    timeout: Duration = timedelta(seconds=30)
    connect_timeout: Duration = timedelta(seconds=10)
    max_concurrency: int = Field(default=100, ge=1, le=256)
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
    #: A source answering 304 for this long is asked once without validators: some
    #: servers answer "not modified" for good (a fixed ETag), and their news never came.
    revalidate_after: Interval = timedelta(days=1)
    #: How long one source's further listing pages and article pages (``follow``) may
    #: take in a cycle; what is not read by then is left, so that one slow site cannot
    #: hold every other source's news back from the feeds.
    follow_time_limit: Duration = timedelta(minutes=5)
    #: Hosts (names, addresses, networks like 10.0.0.0/8) at private, loopback or link-local
    #: addresses that any source may reach; a source whose own URL writes its host as an
    #: address (or localhost) may reach that one without it being named here.
    private_hosts: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("private_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        """Each a network ("10.0.0.0/8"), an address, or a host name as URLs carry it."""
        import ipaddress

        import httpx

        hosts = []
        for entry in v:
            text = entry.strip()
            try:
                hosts.append(str(ipaddress.ip_network(text.strip("[]"), strict=False)))
                continue
            except ValueError:
                pass
            try:
                host = httpx.URL(f"http://{text}/").host
            except (httpx.InvalidURL, UnicodeError):
                host = ""
            if not host or any(c in text for c in ":/?#@%[] \t"):
                raise ValueError(
                    f"{entry!r} is neither a host name (intranet.example), an address "
                    "(10.1.2.3) nor a network (10.0.0.0/8)"
                )
            hosts.append(host)
        return hosts

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"min_interval ({span(self.min_interval)}) is longer than max_interval "
                f"({span(self.max_interval)})"
            )
        agent = self.user_agent.format(version="0.0.0", contact_url=self.contact_url)
        if len(agent) > MAX_USER_AGENT_CHARS:
            raise ValueError(
                f"the user agent with the contact_url filled in has {len(agent):,} "
                f"characters, too long for a request header; use at most {MAX_USER_AGENT_CHARS}"
            )
        return self


class WorkerSettings(_Model):
    #: How often the worker asks the store which sources are due.
    tick: Duration = timedelta(minutes=1)
    #: Upper bound of the backoff of a failing source.
    max_backoff: Duration = timedelta(days=1)
    #: A source without a new item for this long is shown as "stale".
    stale_after: Duration = timedelta(days=30)
    #: Worker processes that normalize and tag items beside the collecting process; "auto"
    #: uses the machine's cores, once a cycle has brought enough items to be worth it.
    processes: Annotated[int | Literal["auto"], PlainValidator(_processes)] = "auto"
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
    #: An item is compared only with items published within this time of it (a story
    #: can span longer, through members in between).
    window: Duration = timedelta(days=30)


def _check_cron(value: str) -> str:
    cron.parse(value)
    return value


CronText = Annotated[str, AfterValidator(_check_cron)]
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: An environment variable's name as they are written: capitals, digits and "_" (for the
#: logins of sources; SMTP's took any name before them).
_CAPITALS_RE = re.compile(r"[A-Z_][A-Z0-9_]*\Z")


def _check_env_name(value: str | None, pattern: re.Pattern[str] = _ENV_RE) -> str | None:
    # Anything else here is most likely the secret itself, which no message may repeat.
    if value is not None and not pattern.match(value):
        raise ValueError(
            "this is not the name of an environment variable"
            + (" (capitals, digits and _)" if pattern is _CAPITALS_RE else "")
            + "; the secret itself never goes into the configuration: write the name of the "
            "variable that holds it, such as KAMMER_PASSWORD, and set that variable"
        )
    return value


def _check_capitals_env_name(value: str | None) -> str | None:
    return _check_env_name(value, _CAPITALS_RE)


EnvName = Annotated[str | None, AfterValidator(_check_env_name)]
#: :data:`EnvName` in capitals only: a mixed-case "name" is more likely a secret.
CapitalsEnvName = Annotated[str | None, AfterValidator(_check_capitals_env_name)]
_WIDE = re.compile(r"\d{4}")
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
        fields = f"only {{{'}, {'.join(SUBJECT_FIELDS)}}} may be filled in"
        try:
            parts = list(string.Formatter().parse(v))
        except ValueError as e:
            raise ValueError(f"{fields} (problem: {e})") from None
        for _, name, spec, _ in parts:
            # Fields by name only ("{title.__class__}" reads attributes), and no width beyond
            # three digits ("{title:>99999999}" made every subject 100 MB).
            if name is not None and (name not in SUBJECT_FIELDS or _WIDE.search(spec or "")):
                shown = "{" + name + (f":{spec}" if spec else "") + "}"
                raise ValueError(f"{fields}, with a width of at most 999 (not {shown})")
        try:  # a format that does not suit the value ("{title:d}") fails only when used
            v.format(**SUBJECT_FIELDS)
        except (ValueError, TypeError) as e:
            raise ValueError(f"the subject cannot be filled in: {e}") from None
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
    #: A CA bundle to trust instead of the system's (for a relay with its own certificate).
    ca_file: str | None = None

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]

    @model_validator(mode="after")
    def _no_login_in_clear(self) -> Self:
        local = self.host.lower() in ("localhost", "::1") or self.host.startswith("127.")
        if self.security == "none" and (self.username_env or self.password_env) and not local:
            raise ValueError(
                f"security: none would send the login to {self.host} unencrypted; use "
                "starttls (port 587) or tls (port 465); none is for a relay on this host"
            )
        return self


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
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name like Europe/Berlin"
            ) from None
        return v
