"""Normalizing and tagging the items of a document, and the story features of a source's
new items, in worker processes if configured; there, also parsing the document.

Parsing, normalizing (nh3), tagging and the story features are most of the CPU time of a
cold cycle and need nothing but the document or its items, the source, the tag rules and
(for the features) the source's known boilerplate, so they move to other processes well:
the ingest thread meanwhile decides and writes the last documents' items. Results are the
same wherever the work runs, in the same order.

A worker that dies (killed, out of memory) breaks its pool; the items of that document and
of every later one are then normalized on the calling side, so no source fails for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from ._utils import forkserver, start_every_worker, usable_cores
from .exceptions import RevierError
from .models import FetchResult, Item, ParsedDocument, RawItem, SourceSpec, StoryText
from .story_work import SourceFeatures, source_features, story_texts
from .tag import Tagger

log = logging.getLogger(__name__)

R = TypeVar("R")

#: A worker's tag rules, set once when the worker starts (pickled once, not per document).
_worker_tagger: Tagger | None = None

#: Each readable, collected item's index with the item; a warning for each unreadable one;
#: the title of each item the source's rules leave out, with why.
Normalized = tuple[list[tuple[int, Item]], list[str], list[tuple[str, str]]]

#: With ``worker.processes: auto``, the items a cycle normalizes on the calling side before
#: it starts worker processes: starting them costs each about 0.2 s of CPU (imports), more
#: than a worker's usual cycle of a few new items takes to normalize.
AUTO_START_ITEMS = 1000
#: With ``auto``, at most this many workers: one collecting process feeds only so many.
AUTO_MAX_PROCESSES = 4
#: The items a source's first fetch is counted to bring (its whole listing, stored at once;
#: feeds list 10 to 50), for :meth:`ItemWorkers.expect`.
FIRST_FETCH_ITEMS = 20


def auto_processes() -> int:
    """The worker processes ``worker.processes: auto`` means on this machine: one per core
    (up to :data:`AUTO_MAX_PROCESSES`), none on a single core."""
    cores = usable_cores()
    return min(cores, AUTO_MAX_PROCESSES) if cores >= 2 else 0


def normalize_items(
    raws: Sequence[RawItem], spec: SourceSpec, now: datetime, tagger: Tagger | None = None
) -> Normalized:
    """Each readable item's index in ``raws`` with its normalized, tagged form; a warning for
    each item that had to be skipped; the items the source's include or exclude rule leaves
    out (not tagged)."""
    from . import normalize  # nh3, ftfy: a cycle of 304s never loads them

    rules = tagger or _worker_tagger
    assert rules is not None, "a worker gets its tagger when it starts"
    done: list[tuple[int, Item]] = []
    warnings: list[str] = []
    excluded: list[tuple[str, str]] = []
    for index, raw in enumerate(raws):
        try:
            item = normalize.normalize(raw, spec, now)
            tagged = rules.tag_or_leave_out(item, spec)
            if isinstance(tagged, str):
                excluded.append((item.title, tagged))
            else:
                done.append((index, tagged))
        except ValueError as e:
            warnings.append(f"item {raw.title[:60]!r} skipped: {e}")
    return done, warnings, excluded


#: A document read: the document without its raw items, how many items it had, the
#: normalized items, and the story features of all of them (or None).
ReadDocument = tuple[ParsedDocument, int, Normalized, SourceFeatures | None]


def read_document(
    spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo, features: bool
) -> ReadDocument:
    """``fetched`` parsed, and its items normalized and tagged (:func:`normalize_items`):
    all a worker does for a source whose items need nothing more of the document.

    Returns the document without its raw items (nothing after normalizing needs them, and
    they would cross back to the calling process for nothing), how many items it had, the
    normalized items and, with ``features``, the story features of all of them as new items
    of a source with no boilerplate known (:func:`.story_work.source_features`): what a
    source's first fetch needs, computed here instead of in a second trip to a worker.
    """
    from . import parse  # lxml and the parsers: a cycle of 304s never loads them

    document = parse.parse(spec, fetched, now, tz)
    normalized = normalize_items(document.items, spec, now)
    found = None
    if features and normalized[0]:
        texts = story_texts([item for _, item in normalized[0]])
        # A head start only: if it fails (a bug), the items are still stored, and placement
        # computes the features again and reports the error.
        with contextlib.suppress(Exception):
            found = source_features(texts, frozenset(), [])
    return replace(document, items=()), len(document.items), normalized, found


def _start_worker(tagger: Tagger) -> None:
    global _worker_tagger
    _worker_tagger = tagger


class ItemWorkers:
    """Runs :func:`normalize_items` on worker processes, started on first use.

    Args:
        tagger: the tag rules.
        local: where the work runs without workers (the ingest thread).
        processes: worker processes; 0 runs everything on ``local``.
        start_after: items normalized on ``local`` before the workers start (a cycle with
            fewer new items never starts them).
    """

    def __init__(
        self, tagger: Tagger, local: Executor, processes: int, start_after: int = 0
    ) -> None:
        self._tagger = tagger
        self._local = local
        self._processes = processes
        self._start_after = start_after
        self._pool: ProcessPoolExecutor | None = None
        #: The workers being started on ``local`` (:meth:`expect`), if they were.
        self._starting: Future[None] | None = None

    def expect(self, first_fetches: int) -> None:
        """Start the workers now, on ``local``, if the cycle's ``first_fetches`` (sources
        never asked before, each counted as :data:`FIRST_FETCH_ITEMS`) will bring at least
        the items after which they would start anyway: the first documents then go to them
        instead of waiting in line on ``local`` while the other core idles (most of the
        first second of a first cycle of 500 feeds)."""
        expected = first_fetches * FIRST_FETCH_ITEMS
        if self._processes and self._start_after > 0 and expected >= self._start_after:
            self._start_after = 0
            self._starting = self._local.submit(self._start_or_go_without)

    def _start_or_go_without(self) -> None:
        try:
            self._start()
        except Exception as e:
            # Not the sources' fault (out of processes or memory, or a Ctrl-C that stopped
            # the fork server): their items are normalized here instead.
            log.warning(
                "the worker processes did not start (%s: %s); normalizing on the main process",
                type(e).__name__,
                e,
            )
            self._processes = 0

    async def _started(self) -> ProcessPoolExecutor | None:
        """The pool, started now if need be, or None without workers."""
        if self._starting is not None:
            # Shielded: one caller's cancellation must not cancel the start for the others.
            await asyncio.shield(asyncio.wrap_future(self._starting))
        return self._start()

    async def normalize(
        self, raws: Sequence[RawItem], spec: SourceSpec, now: datetime
    ) -> Normalized:
        """Normalize and tag ``raws`` (see :func:`normalize_items`)."""
        warming_up = self._start_after > 0
        self._start_after -= len(raws)
        pool = None if warming_up else await self._started()
        if pool is not None:
            work = functools.partial(normalize_items, list(raws), spec, now)
            done = await self._on_workers(pool, work, spec.id)
            if done is not None:
                return done
        return await asyncio.get_running_loop().run_in_executor(
            self._local, normalize_items, raws, spec, now, self._tagger
        )

    async def read(
        self,
        spec: SourceSpec,
        fetched: FetchResult,
        now: datetime,
        tz: ZoneInfo,
        features: bool = False,
    ) -> ReadDocument:
        """``fetched`` parsed, and its items normalized and tagged, as :func:`read_document`
        returns them: on a worker process once they run, so that the document's bytes cross
        to it instead of its parsed items and parsing leaves the collecting process, which
        also fetches, decides and stores. Until then (and without workers) the document is
        parsed on ``local`` and its items go to :meth:`normalize`; ``features`` are computed
        on a worker only (None here).
        """
        from . import parse

        loop = asyncio.get_running_loop()
        if self._parses_here():
            document = await loop.run_in_executor(
                self._local, self._parse_here, spec, fetched, now, tz
            )
            if document is not None:
                normalized = await self.normalize(document.items, spec, now)
                return replace(document, items=()), len(document.items), normalized, None
        pool = await self._started()
        if pool is not None:
            work = functools.partial(read_document, spec, fetched, now, tz, features)
            done = await self._on_workers(pool, work, spec.id)
            if done is not None:
                return done
        document = await loop.run_in_executor(self._local, parse.parse, spec, fetched, now, tz)
        normalized = await self.normalize(document.items, spec, now)
        return replace(document, items=()), len(document.items), normalized, None

    def _parse_here(
        self, spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo
    ) -> ParsedDocument | None:
        """The document parsed on ``local`` while the workers are not needed yet, or None
        once they are. Decided here, in turn with the other documents on ``local``: the
        sources whose fetches ended together all looked before any of them was counted."""
        from . import parse

        return parse.parse(spec, fetched, now, tz) if self._parses_here() else None

    def _parses_here(self) -> bool:
        """Whether documents are parsed on ``local``: while warming up, or without workers."""
        return self._start_after > 0 or not self._processes

    async def story_features(
        self, texts: list[StoryText], known: frozenset[int], recent: list[bytes]
    ) -> SourceFeatures:
        """A source's new items' story features and boilerplate
        (:func:`.story_work.source_features`), on a worker process once they run."""
        work = functools.partial(source_features, texts, known, recent)
        pool = self._pool if self._processes else None
        if pool is not None:
            source_id = texts[0].source_id if texts else None
            found = await self._on_workers(pool, work, source_id)
            if found is not None:
                return found
        return await asyncio.get_running_loop().run_in_executor(self._local, work)

    async def _on_workers(
        self, pool: ProcessPoolExecutor, work: Callable[[], R], source_id: str | None
    ) -> R | None:
        """``work`` done on ``pool``; None if a worker died, which sends this and all later
        work to the calling side."""
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work)
        except RevierError as error:
            # An error about the source (a document that cannot be parsed), raised on the
            # worker: the pool made the worker's traceback its cause, which would end up in
            # the source's status line. Its own cause's text came with it.
            error.__cause__ = None
            raise
        except BrokenProcessPool:
            if self._processes:  # said once, not for each piece of work that was waiting
                log.warning(
                    "a worker process died; normalizing and computing story features on the "
                    "main process from now on",
                    extra={"source_id": source_id},
                )
                self._processes = 0
            return None

    def _start(self) -> ProcessPoolExecutor | None:
        if self._processes and self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=forkserver(),
                initializer=_start_worker,
                initargs=(self._tagger,),
            )
            start_every_worker(self._pool, self._processes)
        return self._pool if self._processes else None

    def close(self) -> None:
        """Stop the workers (they finish nothing: the cycle has waited for its results)."""
        if self._starting is not None:
            if not self._starting.cancelled():
                self._starting.result()  # does not raise: a failed start is logged
            self._starting = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
