"""The loaded configuration: every file validated, cross-checked and turned into the
typed specs the stages use."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    ValidationError,
)

from .. import __version__
from .._utils import MAX_ICON_BYTES, icon_kind, one_spelling, site_of
from ..exceptions import COMMAND_LINE, ConfigError, ConfigIssue
from ..models import (
    DistrictSpec,
    FetchSettings,
    HtmlSelectors,
    ItemRule,
    JsonPaths,
    SourceAuth,
    SourceKind,
    SourceSpec,
    SourceTls,
    TagSpec,
)
from .files import (
    _FILE_MODELS,
    ChannelModel,
    ChannelsFile,
    DistrictsFile,
    ItemRuleModel,
    PartnerModel,
    PartnersFile,
    SourceModel,
    SourcesFile,
    TagsFile,
)
from .lines import (
    SAFE_LOADER,
    Loc,
    _did_you_mean,
    _dotted,
    _issues_from_validation,
    _Lines,
    _load_yaml,
    _YamlProblems,
)
from .settings import FetchSettingsModel, Settings
from .values import CONFIG_FILES, GAZETTEER, REQUIRED_FILES, check_url

# --- the loaded configuration --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The whole validated configuration; paths are already resolved."""

    config_dir: Path
    settings: Settings
    sources: tuple[SourceSpec, ...]  #: enabled sources only
    #: ``enabled: false``: never fetched by a cycle, but `sources test` reads them
    disabled_sources: tuple[SourceSpec, ...]
    tags: tuple[TagSpec, ...]
    districts: tuple[DistrictSpec, ...]  #: the gazetteer plus districts.yaml
    channels: tuple[ChannelModel, ...]  #: configured channels (built-in ones not included)
    tag_channels: bool
    district_channels: bool
    partners: tuple[PartnerModel, ...]
    #: Names that contain a place name and are not in the region (gazetteer and
    #: districts.yaml)
    elsewhere: tuple[str, ...] = ()
    #: ``site.icon``: the picture's bytes and its kind (``png``, …), read when loaded.
    icon: tuple[bytes, str] | None = None

    @property
    def storage_url(self) -> str:
        """URL of the store (``sqlite:///PATH``)."""
        if self.settings.storage.url:
            return self.settings.storage.url
        return f"sqlite:///{self.resolve(self.settings.storage.path)}"

    @property
    def store_file(self) -> Path:
        """The store's SQLite file, symlinks resolved."""
        if self.settings.storage.url:
            return Path(self.settings.storage.url.removeprefix("sqlite:///")).resolve()
        return self.resolve(self.settings.storage.path)

    @property
    def lock_path(self) -> Path:
        """The lock file that allows one collecting process per store: beside the store's
        file, so every configuration that names the store (by path, by URL, through a
        link) takes the same lock."""
        store = self.store_file
        return store.with_name(store.name + ".lock")

    @property
    def old_lock_paths(self) -> tuple[Path, ...]:
        """Where versions of schema 11 and older kept :attr:`lock_path`: a worker of such a
        version, still running after the upgrade, holds that one. With ``storage.url`` it
        was in the output folder; with ``storage.path``, beside the path as written, not
        where a link there leads."""
        if self.settings.storage.url:
            old = self.output_dir / ".revier-feed.lock"
        else:
            old = self.resolve(self.settings.storage.path + ".lock")
        # The same file as today's (no link; a store URL in the output folder): nobody
        # else's lock, and taking it twice would lock this process out.
        return () if old == self.lock_path else (old,)

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
            follow_time_limit=f.follow_time_limit.total_seconds(),
            private_hosts=tuple(f.private_hosts),
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
    # Keys whose values YAML already could not read: validation would only repeat them.
    reported: dict[str, set[str]] = {}
    for name in CONFIG_FILES:
        path = folder / name
        if not path.exists() and not path.is_symlink():  # a broken link is reported
            if name in REQUIRED_FILES:
                issues.append(
                    ConfigIssue(
                        str(path), None, "", "file is missing", f"every configuration needs {name}"
                    )
                )
            continue
        try:
            data, lines, found = _load_yaml(path)
        except _YamlProblems as e:
            issues.extend(e.issues)
            continue
        issues.extend(found)
        reported[name] = {issue.key for issue in found}
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
            issues.extend(
                issue
                for issue in _issues_from_validation(e, folder / name, lines, model)
                if not _under(issue.key, reported.get(name, set()))
            )

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
        sources=tuple(
            _source_spec(s, settings.fetch, folder) for s in sources_file.sources if s.enabled
        ),
        disabled_sources=tuple(
            _source_spec(s, settings.fetch, folder) for s in sources_file.sources if not s.enabled
        ),
        tags=tuple(
            TagSpec(t.id, t.label, tuple(t.any), tuple(t.all), tuple(t.none), tuple(t.fields))
            for t in tags_file.tags
        ),
        districts=_districts(validated.get("districts.yaml")),
        channels=tuple(channels_file.channels),
        tag_channels=channels_file.tag_channels,
        district_channels=channels_file.district_channels,
        partners=tuple(partners_file.partners),
        elsewhere=_elsewhere(validated.get("districts.yaml")),
        icon=_read_icon(folder / settings.site.icon) if settings.site.icon else None,
    )


def _under(key: str, reported: set[str]) -> bool:
    """Whether ``key`` (dotted) is one of ``reported`` or inside one of them."""
    return any(
        key == done or key.startswith((done + ".", done + "[")) for done in reported if done
    )


@functools.cache
def _gazetteer() -> DistrictsFile:
    data = yaml.load(GAZETTEER.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
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


def _elsewhere(extension: DistrictsFile | None) -> tuple[str, ...]:
    return tuple(_gazetteer().elsewhere + (extension.elsewhere if extension else []))


def _source_spec(model: SourceModel, defaults: FetchSettingsModel, folder: Path) -> SourceSpec:
    interval = model.interval or defaults.default_interval
    tls = None
    if model.tls is not None and (model.tls.ca_file or model.tls.legacy):
        ca_file = model.tls.ca_file
        tls = SourceTls(
            ca_file=str((folder / ca_file).resolve()) if ca_file else None,
            legacy=model.tls.legacy,
        )
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
            files=html.files,
            content=html.content,
            next=html.next,
            item_until_next=html.item_until_next,
        )
    paths = model.json_
    json_paths = None
    if paths is not None:
        json_paths = JsonPaths(**paths.model_dump(exclude={"follow", "allow_hosts"}))
    followed = html or paths
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
        json=json_paths,
        follow=bool(followed and followed.follow),
        max_pages=html.max_pages if html and html.next else 1,
        allow_hosts=tuple(h.lower() for h in followed.allow_hosts) if followed else (),
        backfill=model.backfill,
        include=_item_rule(model.include),
        exclude=_item_rule(model.exclude),
        tls=tls,
        auth=SourceAuth(**model.auth.model_dump()) if model.auth else None,
        remove=tuple(model.remove),
        user_agent=model.user_agent.format(version=__version__, contact_url=defaults.contact_url)
        if model.user_agent
        else None,
    )


def _item_rule(model: ItemRuleModel | None) -> ItemRule | None:
    if model is None:
        return None
    return ItemRule(
        any=tuple(model.any),
        all=tuple(model.all),
        none=tuple(model.none),
        fields=tuple(dict.fromkeys(model.fields)),
    )


# --- cross-file checks ---------------------------------------------------------------------


def _cross_check(
    folder: Path, validated: dict[str, Any], loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    sources: list[SourceModel] = validated["sources.yaml"].sources
    source_ids = [s.id for s in sources]
    yield from _duplicates(folder / "sources.yaml", "sources", source_ids, loaded)
    yield from _same_urls(folder / "sources.yaml", sources, loaded)
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
    # A tags.yaml or districts.yaml with errors of its own (reported) is not read: every
    # reference to a tag or district would look unknown, though only the file is wrong.
    unread = {
        what
        for what, name in (("tag", "tags.yaml"), ("district", "districts.yaml"))
        if name not in validated and (folder / name).exists()
    }
    _, source_lines = loaded["sources.yaml"]
    for i, source in enumerate(sources):
        if source.district and source.district not in district_ids and "district" not in unread:
            loc = ("sources", i, "district")
            yield ConfigIssue(
                str(folder / "sources.yaml"),
                source_lines.line_of(loc),
                _dotted(loc),
                f"unknown district {source.district!r}",
                _did_you_mean(source.district, district_ids)
                or "known: " + ", ".join(sorted(district_ids)),
            )
        if source.tls is not None and source.tls.ca_file:
            ca_loc: Loc = ("sources", i, "tls", "ca_file")
            yield from _ca_file(folder, source.tls.ca_file, "sources.yaml", ca_loc, loaded)

    settings: Settings | None = validated.get("settings.yaml")
    if settings is not None:
        yield from _places(folder, settings, loaded)
    if settings is not None and settings.site.icon:
        problem = icon_problem(folder / settings.site.icon)
        if problem:
            icon_loc: Loc = ("site", "icon")
            yield ConfigIssue(
                str(folder / "settings.yaml"),
                loaded["settings.yaml"][1].line_of(icon_loc),
                _dotted(icon_loc),
                f"{str((folder / settings.site.icon).resolve())!r}: {problem}",
                "a PNG, GIF, JPEG, ICO or WebP picture of at most 1 MB, relative to the "
                "configuration folder",
            )
    if settings is not None and settings.smtp.ca_file and settings.smtp.security != "none":
        smtp_ca: Loc = ("smtp", "ca_file")
        yield from _ca_file(folder, settings.smtp.ca_file, "settings.yaml", smtp_ca, loaded)

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
                    if value not in known and what not in unread:
                        where: Loc = (list_key, i, "filter", key, j)
                        hint = _did_you_mean(value, known)
                        if what == "tag" and not (folder / "tags.yaml").exists():
                            # Every tag named is "unknown" then: the cause is the file.
                            hint = f"there is no tags.yaml in {folder}, where topics are defined"
                        elif what == "district" and not hint:
                            hint = "known: " + ", ".join(sorted(known))
                        yield ConfigIssue(
                            str(path),
                            lines.line_of(where),
                            _dotted(where),
                            f"unknown {what} {value!r}",
                            hint,
                        )


def _places(
    folder: Path, settings: Settings, loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    """An output folder or store that names a file of the other kind: it passed `check`, and
    the first cycle or publish failed."""
    wrong = (
        (("output", "dir"), settings.output.dir, Path.is_file, "a file, not a folder"),
        (("storage", "path"), settings.storage.path, Path.is_dir, "a folder, not a file"),
    )
    for loc, value, is_wrong, problem in wrong:
        if loc[0] == "storage" and settings.storage.url:
            continue
        try:
            path = (folder / value).resolve()
            found = problem if is_wrong(path) else None
            if found is None:
                inside = next((p for p in path.parents if p.exists()), None)
                if inside is not None and not inside.is_dir():
                    found = f"inside {str(inside)!r}, a file"
        except (OSError, RuntimeError):  # a symlink loop: opening it says so
            continue
        if found:
            yield _setting_issue(
                folder,
                loaded,
                loc,
                f"{str(path)!r} is {found}",
                "paths are relative to the configuration folder",
            )


def _setting_issue(
    folder: Path, loaded: dict[str, tuple[Any, _Lines]], loc: Loc, message: str, hint: str
) -> ConfigIssue:
    """A problem with the value at ``loc`` in settings.yaml, at its line."""
    return ConfigIssue(
        str(folder / "settings.yaml"),
        loaded["settings.yaml"][1].line_of(loc),
        _dotted(loc),
        message,
        hint,
    )


def _ca_file(
    folder: Path, ca_file: str, file_name: str, loc: Loc, loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    """A CA bundle that is missing or holds no certificate failed only when it was used: a
    digest's (every partner's, on the day it was due), or a source's every fetch."""
    path = (folder / ca_file).resolve()
    problem = certificates_problem(path)
    if problem:
        yield ConfigIssue(
            str(folder / file_name),
            loaded[file_name][1].line_of(loc),
            _dotted(loc),
            f"{str(path)!r}: {problem}",
            "certificates in PEM format, relative to the configuration folder",
        )


def icon_problem(path: Path) -> str | None:
    """Why the file ``path`` cannot be the site's icon, or None if it can."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_ICON_BYTES + 1)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "a folder, not a file"
    except OSError as e:
        return f"not readable ({e.strerror or e})"
    if len(data) > MAX_ICON_BYTES:
        return "larger than 1 MB"
    if icon_kind(data) is None:
        if b"<svg" in data[:4096].lower():
            return "not a PNG, GIF, JPEG, ICO or WebP picture but an SVG, which may hold scripts"
        return "not a PNG, GIF, JPEG, ICO or WebP picture"
    return None


def _read_icon(path: Path) -> tuple[bytes, str] | None:
    """The icon's bytes and kind (checked by :func:`icon_problem` just before)."""
    data = path.read_bytes()
    kind = icon_kind(data)
    return (data, kind) if kind else None


def certificates_problem(path: Path) -> str | None:
    """Why the file ``path`` cannot serve as trusted certificates, or None if it can."""
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (OSError, ValueError) as e:
        if isinstance(e, ssl.SSLError | ValueError):
            return "holds no PEM certificate"
        if isinstance(e, FileNotFoundError):
            return "no such file"
        if isinstance(e, IsADirectoryError):
            return "a folder, not a file"
        return f"not readable ({e.strerror or e})"
    return None


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


def _same_urls(
    path: Path, sources: list[SourceModel], loaded: dict[str, tuple[Any, _Lines]]
) -> Iterator[ConfigIssue]:
    """Two enabled sources that read one URL the same way: every item would be fetched and
    stored twice, and each story "also reported by" itself. (An html page may be read
    twice with other selectors: two lists on one page.)"""
    first: dict[tuple[str, str, str], int] = {}
    _, lines = loaded[path.name]
    for i, source in enumerate(sources):
        if not source.enabled:
            continue
        paths = source.html or source.json_
        reading = paths.model_dump_json() if paths else ""
        seen = first.setdefault((_url_key(source.url), source.kind, reading), i)
        if seen != i:
            loc = ("sources", i, "url")
            at = lines.line_of(("sources", seen, "url"))
            yield ConfigIssue(
                str(path),
                lines.line_of(loc),
                _dotted(loc),
                f"source {source.id!r} reads the same URL as {sources[seen].id!r}"
                + (f" (line {at})" if at else ""),
                "remove one of them or set `enabled: false`; an html source may read the page "
                "again with other selectors",
            )


def _url_key(url: str) -> str:
    """``url`` as a server tells it from others: scheme and host in any case, a host in
    Unicode or IDNA ("xn--"), a default port written or not, a path or query with umlauts
    or their escapes (:func:`.one_spelling`), the fragment (never sent) ignored."""
    parts = urlsplit(url.strip())
    path, query = one_spelling(parts.path or "/"), one_spelling(parts.query)
    # A host no IDNA encodes keeps its own spelling: two of them are not one site.
    site = site_of(url.strip()) or (parts.hostname or "")
    return urlunsplit((parts.scheme.lower(), site, path, query, ""))


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
        issues = []
        for err in e.errors(include_url=False):
            # The option's name: the last key of the path ("remove" of ("remove", 0)).
            key = next((str(k) for k in reversed(err["loc"]) if isinstance(k, str)), "")
            option = "ID" if key in ("id", "name") else "--" + key.replace("_", "-")
            if err["loc"][:1] == ("json",) and len(err["loc"]) > 1 and key != "follow":
                option = f"--json {key}=PATH"  # a json source's paths are one option's
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "required"
            elif err["type"] == "extra_forbidden":
                message = "unknown key"
            issues.append(ConfigIssue(COMMAND_LINE, None, option, message))
        raise ConfigError(issues) from None
    # Paths on the command line are the shell's: relative to where it is.
    return _source_spec(model, defaults, Path.cwd())


def url_argument(value: str, name: str) -> str:
    """A URL given on the command line (``sources discover URL``), checked as sources.yaml's
    are: "127.0.0.1:8765/presse/" was asked for as ":///robots.txt", retried for seconds.

    Raises:
        ConfigError: naming ``name``.
    """
    try:
        return check_url(value)
    except ValueError as e:
        raise ConfigError([ConfigIssue(COMMAND_LINE, None, name, str(e))]) from None


def source_yaml(spec: SourceSpec) -> str:
    """``spec`` as an entry of sources.yaml, ready to paste (keys at their defaults omitted)."""
    entry: dict[str, Any] = {"id": spec.id, "name": spec.name}
    if spec.kind is not SourceKind.FEED:
        entry["kind"] = spec.kind.value
    entry["url"] = spec.url
    if spec.tags:
        entry["tags"] = list(spec.tags)
    if spec.district:
        entry["district"] = spec.district
    for key, rule in (("include", spec.include), ("exclude", spec.exclude)):
        if rule is not None:
            terms = {k: list(getattr(rule, k)) for k in ("any", "all", "none") if getattr(rule, k)}
            entry[key] = {**terms, "fields": list(rule.fields)}
    if spec.selectors is not None:
        html = {k: v for k, v in dataclasses.asdict(spec.selectors).items() if v}
        if spec.follow:
            html["follow"] = True
        if spec.selectors.next:
            html["max_pages"] = spec.max_pages
        if spec.allow_hosts:
            html["allow_hosts"] = list(spec.allow_hosts)
        entry["html"] = html
    if spec.json is not None:
        paths = {k: v for k, v in dataclasses.asdict(spec.json).items() if v}
        if spec.follow:
            paths["follow"] = True
        if spec.allow_hosts:
            paths["allow_hosts"] = list(spec.allow_hosts)
        entry["json"] = paths
    if spec.tls is not None:
        choices = {"ca_file": spec.tls.ca_file, "legacy": spec.tls.legacy or None}
        entry["tls"] = {k: v for k, v in choices.items() if v}
    if spec.remove:
        entry["remove"] = list(spec.remove)
    if spec.user_agent:
        entry["user_agent"] = spec.user_agent
    text: str = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
    return text
