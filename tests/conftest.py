"""Shared fixtures: the sample region on a real local HTTP server, config folders, a clock."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from revier_feed import cron
from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo import SampleRegion, prepare_demo
from revier_feed.models import Item

DATA = Path(__file__).parent / "data"


@pytest.fixture
def region() -> Iterator[SampleRegion]:
    """The bundled sample websites, served on an ephemeral port of 127.0.0.1."""
    with SampleRegion() as server:
        yield server


@pytest.fixture
def expected_items() -> list[dict[str, Any]]:
    """The labelled truth about every item of the sample region."""
    data = json.loads((DATA / "sample_region" / "expected.json").read_text(encoding="utf-8"))
    items: list[dict[str, Any]] = data["items"]
    return items


class Clock:
    """A controllable clock for the app (tests never sleep to move time)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2021, 8, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def demo_config(tmp_path: Path, region: SampleRegion) -> AppConfig:
    """The demo configuration, pointing at the running sample region.

    Retries within a cycle wait 50 ms instead of seconds, so failure tests stay fast.
    """
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    settings = config_dir / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("fetch:\n", "fetch:\n  retry_backoff: 0.05s\n"), "utf-8")
    return load_config(config_dir)


def prepare_test_demo(folder: Path, base_url: str) -> Path:
    """The demo's configuration (``prepare_demo``) without its worker block: tests append
    worker settings of their own, and see the default retention unless they set one (the
    demo keeps its 2021 news for ten years)."""
    config_dir = prepare_demo(folder, base_url)
    settings = config_dir / "settings.yaml"
    text, blocks = re.subn(
        r"^worker:\n(?:[ ]+.*\n)+", "", settings.read_text(encoding="utf-8"), flags=re.M
    )
    assert blocks == 1, "the demo's settings.yaml has no worker block any more"
    settings.write_text(text, "utf-8")
    return config_dir


@pytest.fixture
def make_app(clock: Clock) -> Iterator[Callable[[AppConfig], App]]:
    """Open an App with the test clock and a seeded random source; closed after the test."""
    apps: list[App] = []

    def make(config: AppConfig) -> App:
        app = App(config, now=clock, rng=random.Random(7))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def write_config(folder: Path, sources: str, settings: str = "", **others: str) -> Path:
    """Write a configuration folder; the YAML texts are dedented.

    The store and output go inside ``folder`` unless ``settings`` says otherwise.
    """
    folder.mkdir(parents=True, exist_ok=True)
    default_settings = """
        storage:
          path: state/store.sqlite3
        output:
          dir: out
        fetch:
          timeout: 5s
          retry_backoff: 0.05s
    """
    (folder / "settings.yaml").write_text(
        textwrap.dedent(settings or default_settings), encoding="utf-8"
    )
    (folder / "sources.yaml").write_text(textwrap.dedent(sources), encoding="utf-8")
    for name, text in others.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def make_item(**fields: Any) -> Item:
    """A normalized item for pure unit tests; every field can be overridden."""
    defaults: dict[str, Any] = {
        "source_id": "kreis",
        "key": "k",
        "url": None,
        "title": "Titel",
        "summary_html": "",
        "summary_text": "",
        "content_html": "",
        "author": None,
        "published_at": datetime(2021, 6, 10, tzinfo=UTC),
        "date_estimated": False,
        "updated_at": None,
        "categories": (),
        "tags": frozenset(),
        "image": None,
        "fingerprint": "1:x",
    }
    return Item(**{**defaults, **fields})


# --- the digest: a real SMTP server on 127.0.0.1 (aiosmtpd) ----------------------------------


class SmtpRecorder:
    """An aiosmtpd handler that keeps every accepted message and can be told to refuse.

    ``rcpt_replies`` maps an address to the reply to its RCPT TO (e.g. "550 no such user");
    ``data_replies`` lists replies to the next DATA commands (e.g. "451 try later"), used up
    one per message; ``hold`` makes DATA for the given recipient wait for ``release``,
    then refuse it (or, with ``accept_held``, take it, as a server that got the whole
    message from a client that died before the reply); ``unanswered`` messages are taken
    and their connection closed before the reply.
    """

    def __init__(self) -> None:
        import threading

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: list[str] = []
        self.hold: str | None = None
        self.accept_held = False
        #: Messages to take, then close the connection without answering (the reply lost).
        self.unanswered = 0
        #: The reply to MAIL FROM, if not "250 OK" (e.g. "530 authentication required").
        self.mail_reply: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        import asyncio

        if self.hold is not None and self.hold in envelope.rcpt_tos:
            if self.accept_held:  # taken: whatever becomes of the client
                self.messages.append(
                    (envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
                )
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            if not self.accept_held:
                return "451 the client went away while we held its message"
            return "250 Message accepted for delivery"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.unanswered:
            self.unanswered -= 1
            server.transport.close()  # taken, and the connection gone before the "250"
        return "250 Message accepted for delivery"

    def parsed(self) -> list[Any]:
        import email
        import email.policy

        return [email.message_from_bytes(m[2], policy=email.policy.default) for m in self.messages]

    def recipients(self) -> list[str]:
        return [address for _, to, _ in self.messages for address in to]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpRecorder, int]]:
    """A plain SMTP server on 127.0.0.1 that records what it accepts: (recorder, port)."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        recorder.release.set()
        controller.stop()


def digest_settings(port: int, extra: str = "") -> str:
    """settings.yaml lines for the digest against the test SMTP server."""
    return textwrap.dedent(
        f"""
        digest:
          sender: "Revier-News <digest@news.example>"
          unsubscribe_mailto: abmelden@news.example
          unsubscribe_url: "https://news.example/abmelden?partner={{partner}}"
          retry_wait: 10m
        smtp:
          host: 127.0.0.1
          port: {port}
          security: none
          rate_limit: 60000
          timeout: 5s
        """
    ) + textwrap.dedent(extra)


PARTNERS = """
partners:
  - id: landkreis-leipzig
    name: Landkreis Leipzig – Wirtschaftsförderung
    addresses: [wirtschaft@landkreis-leipzig.example]
    filter:
      districts: [landkreis-leipzig]
  - id: iq-netzwerk
    name: IQ Innovationspreis – Netzwerk
    addresses: [netzwerk@iq.example, presse@iq.example]
    filter:
      tags: [innovationspreis]
  - id: region
    name: Geschäftsstelle Metropolregion
    addresses: [info@metropolregion.example]
"""


@pytest.fixture
def digest_config_dir(tmp_path: Path, region: SampleRegion, smtp_server: tuple[Any, int]) -> Path:
    """The demo configuration (every sample item counts as news: backfill) with three
    partners, and the digest sent to the test SMTP server."""
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    base = "site:\n  public_base_url: https://news.example/\n  title: Revier-News\n"
    base += "storage:\n  path: ../state/store.sqlite3\noutput:\n  dir: ../out\n"
    (config_dir / "settings.yaml").write_text(
        base + digest_settings(smtp_server[1]), encoding="utf-8"
    )
    (config_dir / "partners.yaml").write_text(PARTNERS, encoding="utf-8")
    return config_dir


@pytest.fixture
def collected_before_slot(
    digest_config_dir: Path, clock: Clock, make_app: Callable[..., App]
) -> Path:
    """Stories collected an hour before the last real Monday 07:00, for tests of processes
    (the CLI, the worker) that run on the real clock."""
    slot = cron.parse("0 7 * * mon").last_at_or_before(
        datetime.now(UTC), ZoneInfo("Europe/Berlin")
    )
    clock.now = slot - timedelta(hours=1)
    make_app(load_config(digest_config_dir)).run_cycle()
    return digest_config_dir


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (a subjectAltName such as ``IP:127.0.0.1``),
    made by openssl in ``folder``, as (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name.partition(':')[2]}",
            "-addext",
            f"subjectAltName={name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as (cert, key)."""
    return make_certificate(tmp_path, "IP:127.0.0.1")


def resolve(monkeypatch: pytest.MonkeyPatch, name: str, *addresses: tuple[str, int]) -> None:
    """``name`` resolves to ``addresses``, in this order (this machine has no DNS); each
    carries its own port, which real addresses of one name would share."""
    real = asyncio.BaseEventLoop.getaddrinfo

    async def getaddrinfo(
        self: asyncio.BaseEventLoop, host: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if host != name:
            return await real(self, host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address) for address in addresses]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
