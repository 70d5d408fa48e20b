"""Metric samples -> the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import MetricSample

#: Content-Type of the text format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: family -> (type, help). Samples of other names are not exposed.
FAMILIES: dict[str, tuple[str, str]] = {
    "revier_fetches_total": (
        "counter",
        "Source fetches by source and outcome (ok, not_modified, or the error kind).",
    ),
    "revier_fetch_duration_seconds": (
        "histogram",
        "Time of one source's fetch-to-store pass, retries and article pages included.",
    ),
    "revier_items_stored_total": ("counter", "Items stored, by change (new, updated)."),
    "revier_cycles_total": ("counter", "Collection cycles the worker finished."),
    "revier_worker_last_cycle_timestamp_seconds": (
        "gauge",
        "When the worker last finished a collection cycle (Unix time).",
    ),
    "revier_worker_up": ("gauge", "1 if a worker holds the store's lock and collects."),
    "revier_worker_cycles_failing": (
        "gauge",
        "1 while the worker's collection cycles fail as a whole (a full or read-only store).",
    ),
    "revier_publish_last_success_timestamp_seconds": (
        "gauge",
        "When the feeds were last published (Unix time).",
    ),
    "revier_publish_last_failure_timestamp_seconds": (
        "gauge",
        "When an attempt to publish the feeds last failed (Unix time).",
    ),
    "revier_publish_failures_total": ("counter", "Attempts to publish the feeds that failed."),
    "revier_items": ("gauge", "Items in the store, by source."),
    "revier_stories": ("gauge", "Stories in the store."),
    "revier_digests": (
        "gauge",
        "Partner digests (one per partner and period) in the send log, by state.",
    ),
    "revier_source_status": ("gauge", "1 for each source's current health status."),
    "revier_source_consecutive_failures": (
        "gauge",
        "Consecutive failed fetches of a source.",
    ),
}
_SUFFIXES = ("_bucket", "_sum", "_count")


def render(samples: Iterable[MetricSample]) -> bytes:
    """The exposition text: each family once with HELP and TYPE, its samples grouped."""
    grouped: dict[str, list[MetricSample]] = {}
    for sample in samples:
        family = _family(sample.name)
        if family is not None:
            grouped.setdefault(family, []).append(sample)
    lines: list[str] = []
    for family, (kind, help_text) in FAMILIES.items():
        found = grouped.get(family)
        if not found:
            continue
        lines.append(f"# HELP {family} {help_text}")
        lines.append(f"# TYPE {family} {kind}")
        for sample in sorted(found, key=_order):
            lines.append(f"{sample.name}{_labels(sample.labels)} {_number(sample.value)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _family(name: str) -> str | None:
    if name in FAMILIES:
        return name
    for suffix in _SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and FAMILIES.get(base, ("",))[0] == "histogram":
            return base
    return None


def _order(sample: MetricSample) -> tuple[str, tuple[tuple[str, str], ...], float]:
    # Buckets in ascending order of their bound, +Inf last.
    le = dict(sample.labels).get("le")
    bound = float("inf") if le in (None, "+Inf") else float(le)
    rest = tuple(p for p in sample.labels if p[0] != "le")
    return sample.name, rest, bound


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)
