"""Load the YAML configuration folder into validated, typed settings.

The folder holds one file per concern: ``settings.yaml`` and ``sources.yaml`` (required),
``tags.yaml``, ``districts.yaml``, ``channels.yaml`` and ``partners.yaml`` (optional). Every
problem found in any of them is reported at once, each with file, line, key path and a hint, as
one :class:`~revier_feed.exceptions.ConfigError`.

Modules: ``values`` (durations, sizes, ids, the strict base model), ``settings``
(settings.yaml), ``files`` (the other files), ``lines`` (YAML line numbers and error
messages), ``load`` (the loaded :class:`AppConfig` and cross-file checks).
"""

from .files import (
    DEFAULT_MAX_PAGES,
    SELECTOR_KEYS,
    ChannelModel,
    Filter,
    PartnerModel,
    SourceModel,
    TagRule,
)
from .load import (
    AppConfig,
    certificates_problem,
    load_config,
    source_from_options,
    source_yaml,
    url_argument,
)
from .settings import (
    DigestSettings,
    FetchSettingsModel,
    ServeSettings,
    Settings,
    SmtpSettings,
    WorkerSettings,
)
from .values import MIN_INTERVAL, is_id, parse_duration, parse_size

__all__ = [
    "DEFAULT_MAX_PAGES",
    "MIN_INTERVAL",
    "SELECTOR_KEYS",
    "AppConfig",
    "ChannelModel",
    "DigestSettings",
    "FetchSettingsModel",
    "Filter",
    "PartnerModel",
    "ServeSettings",
    "Settings",
    "SmtpSettings",
    "SourceModel",
    "TagRule",
    "WorkerSettings",
    "certificates_problem",
    "is_id",
    "load_config",
    "parse_duration",
    "parse_size",
    "source_from_options",
    "source_yaml",
    "url_argument",
]
