"""Sites whose TLS is broken the way German public sites' often is, against real https
servers on 127.0.0.1: what the error says, and the source's ``tls`` choices that fix it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import struct
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import ConfigError, FetchError, StorageError
from revier_feed.fetch import Fetcher
from revier_feed.models import ErrorKind, FetchResult, NotModified, SourceStatus, SourceTls
from revier_feed.scheduler import Worker

from .conftest import Clock, make_certificate, write_config
from .test_cli import run_cli
from .test_fetch import SETTINGS, TlsFeedServer, server_context

FEED = (
    b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Kreis</title>"
    b"<link>https://kreis.example/</link><item><title>Zweite Studie zu l\xc3\xa4ndlichen "
    b"R\xc3\xa4umen vorgestellt</title><link>https://kreis.example/presse/studie</link>"
    b"<pubDate>Thu, 10 Jun 2021 10:00:00 +0200</pubDate><description>Die Studie zeigt, "
    b"wie D\xc3\xb6rfer im Revier wachsen.</description></item></channel></rss>"
)


@dataclass
class Chain:
    """A private authority (trusted through SSL_CERT_FILE, as a system's root would be),
    its intermediate, and certificates it signed for 127.0.0.1 and for another name."""

    root: Path
    intermediate: Path
    key: Path
    leaf: Path  #: for 127.0.0.1, signed by the intermediate, without it
    leaf_with_chain: Path
    other_name_with_chain: Path  #: for other.example, with the intermediate


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    d = tmp_path_factory.mktemp("chain")
    ca = ("basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Root",
        "-keyout", d / "root.key", "-out", d / "root.pem",
        "-addext", ca[0], "-addext", ca[1],
    )  # fmt: skip
    (d / "ca.ext").write_text("\n".join(ca) + "\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Intermediate",
        "-keyout", d / "inter.key", "-out", d / "inter.csr",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", d / "inter.csr", "-CA", d / "root.pem", "-CAkey", d / "root.key",
        "-CAcreateserial", "-days", "2", "-extfile", d / "ca.ext", "-out", d / "inter.pem",
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", d / "leaf.key", "-out", d / "leaf.csr",
    )  # fmt: skip
    for name, alt in (("leaf", "IP:127.0.0.1"), ("other", "DNS:other.example")):
        (d / f"{name}.ext").write_text(f"subjectAltName={alt}\n")
        _openssl(
            "x509", "-req", "-in", d / "leaf.csr", "-CA", d / "inter.pem",
            "-CAkey", d / "inter.key", "-CAcreateserial", "-days", "2",
            "-extfile", d / f"{name}.ext", "-out", d / f"{name}.pem",
        )  # fmt: skip
    intermediate = (d / "inter.pem").read_text()
    (d / "leaf-chain.pem").write_text((d / "leaf.pem").read_text() + intermediate)
    (d / "other-chain.pem").write_text((d / "other.pem").read_text() + intermediate)
    return Chain(
        root=d / "root.pem",
        intermediate=d / "inter.pem",
        key=d / "leaf.key",
        leaf=d / "leaf.pem",
        leaf_with_chain=d / "leaf-chain.pem",
        other_name_with_chain=d / "other-chain.pem",
    )


SiteMaker = Callable[..., TlsFeedServer]


@pytest.fixture
def site(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> Iterator[SiteMaker]:
    """Start sites: ``site(cert, key=…, old=False, tls=True)``; the chain's root is what
    this machine trusts."""
    monkeypatch.setenv("SSL_CERT_FILE", str(chain.root))
    sites: list[TlsFeedServer] = []

    def make(
        cert: Path, key: Path | None = None, old: bool = False, tls: bool = True
    ) -> TlsFeedServer:
        context = None
        if tls:
            context = server_context(cert, key or chain.key)
            if old:  # a server of before TLS 1.2, as some town halls still run
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    context.set_ciphers("DEFAULT:@SECLEVEL=0")
                    context.minimum_version = ssl.TLSVersion.TLSv1
                    context.maximum_version = ssl.TLSVersion.TLSv1_1
        sites.append(made := TlsFeedServer(context, FEED))
        return made

    yield make
    for made in sites:
        made.close()


def fetch_all(
    *requests: tuple[str, SourceTls | None],
) -> list[FetchResult | NotModified | FetchError]:
    """Each (url, tls) fetched in turn by one fetcher (one cycle): its result or error."""

    async def go() -> list[FetchResult | NotModified | FetchError]:
        results: list[FetchResult | NotModified | FetchError] = []
        async with Fetcher(SETTINGS) as fetcher:
            for i, (url, tls) in enumerate(requests):
                try:
                    results.append(await fetcher.fetch(f"kreis-{i}", url, tls=tls))
                except FetchError as e:
                    results.append(e)
        return results

    return asyncio.run(go())


def test_a_chain_without_its_intermediate_says_so_and_ca_file_mends_it(
    chain: Chain, site: SiteMaker
) -> None:
    # The most common fault of German public sites' https: browsers fetch the missing
    # intermediate themselves, Python does not.
    broken = site(chain.leaf)
    trusted = SourceTls(ca_file=str(chain.intermediate))
    # In one cycle, one source of the site without the choice, one with it.
    before, mended = fetch_all((broken.url, None), (broken.url, trusted))
    assert isinstance(before, FetchError) and before.kind is ErrorKind.TLS
    assert "leads to no trusted authority (unable to get local issuer certificate)" in (
        before.message
    )
    assert "intermediate certificate" in before.message
    assert "tls.ca_file" in before.message
    assert "RFC 9309" not in before.message  # robots.txt only names where it was met
    assert isinstance(mended, FetchResult) and mended.content == FEED
    mended, other = fetch_all((broken.url, trusted), (broken.url, None))
    assert isinstance(mended, FetchResult) and mended.content == FEED
    # The connection the trusted source's choice verified, kept open, is not another
    # source's of the same site.
    assert isinstance(other, FetchError) and other.kind is ErrorKind.TLS


def test_a_site_certificate_of_its_own_is_trusted_by_ca_file(
    chain: Chain, site: SiteMaker, tmp_path: Path
) -> None:
    cert, key = make_certificate(tmp_path, "IP:127.0.0.1")
    own = site(cert, key)
    before, mended = fetch_all((own.url, None), (own.url, SourceTls(ca_file=str(cert))))
    assert isinstance(before, FetchError) and before.kind is ErrorKind.TLS
    assert "signed by itself or by an authority of its own" in before.message
    assert isinstance(mended, FetchResult) and mended.content == FEED
    # The site's own certificate, not self-signed, pinned as it is (no intermediate given).
    (pinned,) = fetch_all((site(chain.leaf).url, SourceTls(ca_file=str(chain.leaf))))
    assert isinstance(pinned, FetchResult) and pinned.content == FEED


def test_a_ca_file_that_does_not_help_says_so(chain: Chain, site: SiteMaker) -> None:
    (error,) = fetch_all((site(chain.leaf).url, SourceTls(ca_file=str(chain.root))))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.TLS
    assert "even with the certificates of the source's tls.ca_file" in error.message


def test_a_server_of_before_tls_1_2_needs_legacy(chain: Chain, site: SiteMaker) -> None:
    old = site(chain.leaf_with_chain, old=True)
    before, legacy = fetch_all((old.url, None), (old.url, SourceTls(legacy=True)))
    assert isinstance(before, FetchError) and before.kind is ErrorKind.TLS
    assert "only TLS versions before 1.2" in before.message
    assert "tls.legacy: true" in before.message
    assert isinstance(legacy, FetchResult) and legacy.content == FEED


def test_a_certificate_for_another_name_and_plain_http_say_what_to_check(
    chain: Chain, site: SiteMaker
) -> None:
    other = site(chain.other_name_with_chain)
    plain = site(chain.leaf, tls=False)
    wrong_name, not_tls = fetch_all((other.url, None), (plain.url, None))
    assert isinstance(wrong_name, FetchError) and wrong_name.kind is ErrorKind.TLS
    assert "not valid for '127.0.0.1'" in wrong_name.message
    assert "host name" in wrong_name.message
    assert isinstance(not_tls, FetchError) and not_tls.kind is ErrorKind.TLS
    assert "does not speak TLS at this address" in not_tls.message
    assert "tls.ca_file" not in not_tls.message


@pytest.mark.parametrize("how", ["reset", "closed"])
def test_a_handshake_the_server_breaks_off_is_a_tls_error(how: str) -> None:
    """It read "could not connect to the server", though the connection had been made."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                client.recv(4096)  # the ClientHello
                if how == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{port}/feed.xml"
        plain, legacy = fetch_all((url, None), (url, SourceTls(legacy=True)))
    finally:
        listener.close()
    assert isinstance(plain, FetchError) and plain.kind is ErrorKind.TLS
    assert f"the server {how} the connection during the TLS handshake" in plain.message
    assert "try tls.legacy: true" in plain.message
    assert "could not connect" not in plain.message
    assert isinstance(legacy, FetchError) and legacy.kind is ErrorKind.TLS
    assert "also with tls.legacy" in legacy.message and "try tls.legacy" not in legacy.message


def test_a_tls_error_after_a_redirect_names_the_site_it_was_met_at(
    chain: Chain, site: SiteMaker, region: SampleRegion
) -> None:
    """It named the site asked first: for a robots.txt redirected elsewhere, that site's."""
    broken = site(chain.leaf).url.removesuffix("/feed.xml")  # no intermediate
    moved = Response(301, headers={"Location": f"{broken}/robots.txt"})
    region.add_route("/robots.txt", moved)
    (error,) = fetch_all((region.url("/feed.xml"), None))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.TLS
    assert "intermediate certificate" in error.message
    assert f"(at {broken}/robots.txt, where {region.url('/robots.txt')} redirects)" in (
        error.message
    )
    assert "met at" not in error.message
    # A source moved there: met at that site's own robots.txt, asked first.
    region.add_route("/robots.txt", Response(404))
    region.add_route("/moved.xml", Response(301, headers={"Location": f"{broken}/feed.xml"}))
    (error,) = fetch_all((region.url("/moved.xml"), None))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.TLS
    assert f"(met at {broken}/robots.txt, the site's first request)" in error.message


def test_a_ca_file_gone_since_the_check_is_the_sources_error(
    chain: Chain, site: SiteMaker, tmp_path: Path
) -> None:
    served = site(chain.leaf_with_chain)
    gone = tmp_path / "deleted.pem"
    broken, fine = fetch_all((served.url, SourceTls(ca_file=str(gone))), (served.url, None))
    assert isinstance(broken, FetchError) and broken.kind is ErrorKind.TLS
    assert broken.source_id == "kreis-0"
    assert f"tls.ca_file {str(gone)!r} cannot be used" in broken.message
    assert isinstance(fine, FetchResult)


# --- the configuration, and a cycle ----------------------------------------------------------


def _sources(url: str, tls: str) -> str:
    return f"""
        sources:
          - id: kreis
            name: Landkreis
            url: {url}
        {tls}
    """


def _missing_intermediate(chain: Chain, site: SiteMaker, folder: Path) -> TlsFeedServer:
    """A site whose chain lacks its intermediate, which is saved as certs/kreis.pem."""
    (folder / "certs").mkdir()
    (folder / "certs" / "kreis.pem").write_bytes(chain.intermediate.read_bytes())
    return site(chain.leaf)


def test_check_names_a_missing_or_wrong_ca_file_with_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "c" / "certs").mkdir(parents=True)
    (tmp_path / "c" / "certs" / "notes.txt").write_text("keine Zertifikate\n")
    for ca_file, problem in (
        ("certs/kreis.pem", "no such file"),
        ("certs/notes.txt", "holds no PEM"),
    ):
        folder = write_config(
            tmp_path / "c",
            _sources(
                "https://kreis.example/feed.xml", f"    tls:\n              ca_file: {ca_file}"
            ),
        )
        with pytest.raises(ConfigError) as info:
            load_config(folder)
        (issue,) = info.value.issues
        assert issue.file.endswith("sources.yaml")
        assert issue.key == "sources[0].tls.ca_file"
        assert issue.line == 7
        assert problem in issue.message
        assert str(folder / ca_file) in issue.message


def test_an_unknown_tls_key_is_refused(tmp_path: Path) -> None:
    # A `verify: false` of another tool would otherwise be ignored, and the admin wonder.
    folder = write_config(
        tmp_path,
        _sources("https://kreis.example/feed.xml", "    tls:\n              verify: false"),
    )
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert [issue.key for issue in info.value.issues] == ["sources[0].tls.verify"]


def test_a_cycle_collects_a_site_with_its_missing_intermediate_trusted(
    chain: Chain,
    site: SiteMaker,
    tmp_path: Path,
    make_app: Callable[[AppConfig], App],
) -> None:
    broken = _missing_intermediate(chain, site, tmp_path)
    folder = write_config(
        tmp_path, _sources(broken.url, "    tls:\n              ca_file: certs/kreis.pem")
    )
    config = load_config(folder)
    assert config.sources[0].tls == SourceTls(ca_file=str(tmp_path / "certs" / "kreis.pem"))
    app = make_app(config)
    result = app.run_cycle()
    (report,) = result.summary.reports
    assert report.error is None, report.error
    (stored,) = app.storage.recent_items(["kreis"], 10)
    assert stored.item.title == "Zweite Studie zu ländlichen Räumen vorgestellt"
    feed = (config.output_dir / "feeds" / "all.rss.xml").read_text(encoding="utf-8")
    assert "Zweite Studie zu ländlichen Räumen vorgestellt" in feed


def test_a_workers_cycles_read_a_sources_certificates_once_until_the_file_changes(
    chain: Chain,
    site: SiteMaker,
    tmp_path: Path,
    make_app: Callable[[AppConfig], App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each cycle's fetcher made its TLS contexts afresh, reading the CA bundle and the
    source's ca_file: about 25 ms of CPU and thousands of OpenSSL allocations a cycle, and
    a worker's heap grew by about 2 MB a minute (a soak probe, session 33). A worker's
    cycles share them now; a ca_file replaced on disk is read again by the next cycle."""
    broken = _missing_intermediate(chain, site, tmp_path)
    folder = write_config(
        tmp_path, _sources(broken.url, "    tls:\n              ca_file: certs/kreis.pem")
    )
    pem = tmp_path / "certs" / "kreis.pem"
    read: list[str] = []
    load = ssl.SSLContext.load_verify_locations

    def noting(context: ssl.SSLContext, cafile: object = None, *more: object) -> None:
        read.append(str(cafile))
        load(context, cafile, *more)  # type: ignore[arg-type]

    app = make_app(load_config(folder))  # which reads it once to check it
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", noting)
    for _ in range(4):
        (report,) = app.run_cycle().summary.reports
        assert report.error is None, report.error
    assert read.count(str(pem)) == 1
    stat = pem.stat()
    os.utime(pem, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # replaced
    (report,) = app.run_cycle().summary.reports
    assert report.error is None, report.error
    assert read.count(str(pem)) == 2


def test_sources_test_tries_the_tls_choices_before_they_are_saved(
    chain: Chain,
    site: SiteMaker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = _missing_intermediate(chain, site, tmp_path)
    folder = write_config(tmp_path / "config", _sources(broken.url, ""))
    code, out = run_cli(capsys, "--config", str(folder), "sources", "test", "kreis")
    assert code == 1 and "tls.ca_file" in out and "intermediate" in out, out
    assert out.startswith("kreis: [tls] "), out  # the kind as `sources` shows it
    # As a shell gives it: relative to where the admin is.
    monkeypatch.chdir(tmp_path)
    trusted = ("--tls-ca-file", "certs/kreis.pem")
    code, out = run_cli(
        capsys, "--config", str(folder), "sources", "test", "--url", broken.url, *trusted
    )
    assert code == 0, out
    assert "Zweite Studie zu ländlichen Räumen vorgestellt" in " ".join(out.split()), out
    # The saved source with the choice added on the command line.
    code, out = run_cli(capsys, "--config", str(folder), "sources", "test", "kreis", *trusted)
    assert code == 0, out
    # discover reaches the site too, and the entry it prints carries the choice.
    code, out = run_cli(
        capsys, "--config", str(folder), "sources", "discover", broken.url, *trusted
    )
    assert code == 0, out
    assert f'ca_file: "{tmp_path / "certs" / "kreis.pem"}"' in out, out
    code, out = run_cli(capsys, "--config", str(folder), "sources", "discover", broken.url)
    assert code == 1 and "tls.ca_file" in out, out
    # A file that is not there is the option's error, before anything is asked.
    for command in (["test", "--url", broken.url], ["discover", broken.url]):
        code, out = run_cli(
            capsys, "--config", str(folder), "sources", *command, "--tls-ca-file", "nope.pem"
        )
        assert code == 2 and "--tls-ca-file" in out and "nope.pem" in out, out


def test_a_weak_certificate_or_a_renewed_pinned_one_says_what_to_do(
    chain: Chain, site: SiteMaker, tmp_path: Path
) -> None:
    # A 1024-bit key, refused at OpenSSL's default level as a verify error.
    weak = tmp_path / "weak"
    weak.mkdir()
    _openssl(
        "req", "-newkey", "rsa:1024", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", weak / "key.pem", "-out", weak / "req.csr",
    )  # fmt: skip
    (weak / "alt.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", weak / "req.csr", "-CA", chain.intermediate,
        "-CAkey", chain.intermediate.with_name("inter.key"), "-CAcreateserial", "-days", "2",
        "-extfile", weak / "alt.ext", "-out", weak / "cert.pem",
    )  # fmt: skip
    (weak / "chain.pem").write_text(
        (weak / "cert.pem").read_text() + chain.intermediate.read_text()
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # before the key, which level 2 refuses
    context.load_cert_chain(weak / "chain.pem", weak / "key.pem")
    weak_site = TlsFeedServer(context, FEED)
    try:
        refused, legacy = fetch_all((weak_site.url, None), (weak_site.url, SourceTls(legacy=True)))
    finally:
        weak_site.close()
    assert isinstance(refused, FetchError) and "too weak for the default" in refused.message
    assert "tls.legacy: true" in refused.message
    assert isinstance(legacy, FetchResult) and legacy.content == FEED
    # A pinned certificate of the site's own that the site has since replaced.
    for folder in ("old", "new"):
        (tmp_path / folder).mkdir()
    old, _ = make_certificate(tmp_path / "old", "IP:127.0.0.1")
    new, key = make_certificate(tmp_path / "new", "IP:127.0.0.1")
    (renewed,) = fetch_all((site(new, key).url, SourceTls(ca_file=str(old))))
    assert isinstance(renewed, FetchError) and "did the site renew it?" in renewed.message


def test_a_reload_that_mends_a_sources_tls_asks_it_at_once(
    chain: Chain,
    site: SiteMaker,
    tmp_path: Path,
    make_app: Callable[[AppConfig], App],
    clock: Clock,
) -> None:
    """The error's advice followed and the worker reloaded, the source waited out its
    backoff (up to a day) before it was asked again."""
    broken = _missing_intermediate(chain, site, tmp_path)
    folder = write_config(tmp_path, _sources(broken.url, ""))
    app = make_app(load_config(folder))
    worker = Worker(app)
    worker.collect()
    (state,) = app.storage.source_states(["kreis"]).values()
    assert state.last_error is not None and "tls.ca_file" in state.last_error
    write_config(
        tmp_path, _sources(broken.url, "    tls:\n              ca_file: certs/kreis.pem")
    )
    assert worker.request_reload() is not None
    clock.advance(timedelta(minutes=1))
    worker.collect()
    (state,) = app.storage.source_states(["kreis"]).values()
    assert state.status is SourceStatus.OK, state.last_error
    (stored,) = app.storage.recent_items(["kreis"], 10)
    assert stored.item.title == "Zweite Studie zu ländlichen Räumen vorgestellt"


def test_a_reload_whose_retry_fails_is_applied_all_the_same(
    chain: Chain,
    site: SiteMaker,
    tmp_path: Path,
    make_app: Callable[[AppConfig], App],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store that refused the retry's write (locked, full) left the reload half done:
    no "reloaded" line, the feeds not refreshed, the backoffs not reset."""
    broken = _missing_intermediate(chain, site, tmp_path)
    folder = write_config(tmp_path, _sources(broken.url, ""))
    app = make_app(load_config(folder))
    worker = Worker(app)
    worker.collect()
    write_config(tmp_path, _sources(broken.url, "    tls:\n              legacy: true"))
    assert worker.request_reload() is not None

    def locked(source_ids: object, **options: object) -> None:
        raise StorageError("database is locked")

    monkeypatch.setattr(app, "retry_sources", locked)
    clock.advance(timedelta(minutes=1))
    with caplog.at_level(logging.INFO, logger="revier_feed"):
        worker.collect()
    assert "could not ask kreis at once: database is locked" in caplog.text
    assert "reloaded: 1 sources" in caplog.text
    assert app.config.sources[0].tls == SourceTls(legacy=True)
