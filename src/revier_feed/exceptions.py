"""The exception tree of revier-feed: every error the package raises on purpose.

Hierarchy::

    RevierError
    ├── ConfigError (ValueError)        a configuration file is missing, malformed or invalid
    ├── SourceError                     something went wrong with one source; has source_id, kind
    │   ├── FetchError                  the source could not be retrieved
    │   └── ParseError                  what was retrieved could not be turned into items
    │       └── EmptyListing            a listing page on which the item selector matched nothing
    ├── Cancelled                       not started because the worker is stopping
    │   └── Deferred                    not started: its host's turn is too far away
    │       └── SilentHost              not started: its host let a request of the cycle time out
    ├── AlreadyRunning                  another process is collecting for the same store
    ├── StorageError                    the store failed (locked, corrupt, newer than this code)
    │   └── SchemaVersionError          the store was written by a newer revier-feed
    ├── PublishError                    an output file could not be written
    ├── ServeError                      the feed server cannot listen on its address
    └── DigestError                     a partner's digest could not be built or delivered
        └── DeliveryError               the SMTP server refused it or was unreachable; .permanent

Errors about one source are returned as *values* by the ingest pipeline so that one bad
source never stops the others; any exception outside this tree is a bug and propagates.
"""

from __future__ import annotations


class RevierError(Exception):
    """Base of every error revier-feed raises on purpose."""

    _default_message: str = ""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self._default_message)

    @property
    def message(self) -> str:
        """The message without the cause appended."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross from worker processes to the collecting one pickled. The default
        # would call __init__ with the message alone (wrong for most subclasses), and the
        # cause, whose text is part of the error's, would be lost.
        return (_restore, (type(self), self.args, self.__dict__, self._cause_text()))

    def __str__(self) -> str:
        text = self.message
        cause_text = self._cause_text()
        if cause_text:
            text = f"{text}: {cause_text}" if text else cause_text
        return text

    def _cause_text(self) -> str | None:
        cause = self.__cause__
        if cause is None:
            # Unpickled: the text of the cause it had (see __reduce__), if any.
            pickled: str | None = self.__dict__.get("_pickled_cause")
            return pickled
        return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__


#: The "file" of a :class:`ConfigIssue` found in a command's options.
COMMAND_LINE = "<command line>"


class ConfigIssue:
    """One problem found in a configuration file, with where it is and what to do."""

    __slots__ = ("file", "hint", "key", "line", "message")

    def __init__(
        self, file: str, line: int | None, key: str, message: str, hint: str = ""
    ) -> None:
        #: The configuration file the problem is in.
        self.file = file
        #: 1-based line number, or None when the file itself is the problem.
        self.line = line
        #: Dotted key path such as ``sources[2].interval``; empty for the whole file.
        self.key = key
        self.message = message
        #: What the admin can do about it.
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}:{key} {self.message}{hint}"

    def __repr__(self) -> str:
        return f"ConfigIssue({str(self)!r})"


class ConfigError(RevierError, ValueError):
    """The configuration is invalid; ``issues`` lists every problem found."""

    _default_message = "invalid configuration"

    def __init__(self, issues: list[ConfigIssue], message: str = "") -> None:
        self.issues = list(issues)
        # Options of a command are no configuration file (`sources test --url …`).
        where = (
            "with the command's options"
            if self.issues and all(i.file == COMMAND_LINE for i in self.issues)
            else "in the configuration"
        )
        summary = message or (
            f"{len(self.issues)} problem(s) {where}" if self.issues else self._default_message
        )
        super().__init__(summary)

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines.extend(f"  {issue}" for issue in self.issues)
        return "\n".join(lines)


class SourceError(RevierError):
    """An error about one source; ``source_id`` says which and ``kind`` what went wrong
    (one of :class:`revier_feed.models.ErrorKind`)."""

    def __init__(self, source_id: str, /, kind: str, message: str = "") -> None:
        self.source_id = source_id
        self.kind = kind
        super().__init__(message)


class FetchError(SourceError):
    """The source could not be retrieved.

    ``kind`` is one of a small fixed set (see :class:`revier_feed.models.ErrorKind`) so that
    the CLI, the store and later the admin digest can group failures.
    """

    _default_message = "could not fetch the source"

    def __init__(
        self,
        source_id: str,
        url: str,
        /,
        kind: str,
        message: str = "",
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        at: str | None = None,
    ) -> None:
        self.url = url
        self.status_code = status_code
        #: Seconds the server asked us to wait (from Retry-After), if it did.
        self.retry_after = retry_after
        #: Where the request failed, when a redirect led there from another site.
        self.at = at
        super().__init__(source_id, kind, message)


class ParseError(SourceError):
    """The fetched document could not be turned into items."""

    _default_message = "could not parse the source"

    def __init__(self, source_id: str, /, kind: str = "parse", message: str = "") -> None:
        super().__init__(source_id, kind, message)


class EmptyListing(ParseError):
    """A listing page on which the item selector matched nothing: the layout changed, or,
    on a further page, the listing ended there."""


class ResourceError(RevierError):
    """The machine ran out of something the cycle needs (open files, memory, disk space):
    not the fault of the source in hand, which stays due."""


class AlreadyRunning(RevierError):
    """Another revier-feed process holds the store's lock (one collector per store)."""


class Cancelled(RevierError):
    """A request was not started because the worker is stopping; nothing was written."""

    _default_message = "stopping"


class Deferred(Cancelled):
    """A source's request was not started: its host's next turn (Crawl-delay, a pause it
    asked for) is further away than a cycle waits for one. Nothing was written; the source
    stays due."""

    _default_message = "deferred to the next cycle"


class SilentHost(Deferred):
    """A source's request was not started: its host took the connection of another request
    of the cycle and let it time out. Nothing was written; the source stays due."""


class StorageError(RevierError):
    """The store failed; nothing was half-written (each write is one transaction)."""

    _default_message = "storage error"


class StoreReadOnlyError(StorageError):
    """The store (or its -wal or -shm file beside it) could not be written; once it can,
    the next write succeeds."""


class StoreBusyError(StorageError):
    """Another process held the store's write lock for longer than the wait allows; nothing
    was written, and the same write may succeed a moment later."""


class StoredDataError(StorageError):
    """A write broke one of the store's rules (a unique key, a reference): the data of
    what was being written, not the store, is at fault; that write was rolled back."""


class SchemaVersionError(StorageError):
    """The store was created by a newer revier-feed than the one running."""


class StoreOutdatedError(StorageError):
    """The store has an older schema, and a command that only reads it does not upgrade
    it; the message says what does."""


class PublishError(RevierError):
    """An output file could not be written; the previous version is left in place.

    ``published``: what the other channels' publish wrote nonetheless (a ``PublishResult``;
    their feeds' hub is told), if it went on.
    """

    _default_message = "could not publish"

    def __init__(self, message: str = "", published: object = None) -> None:
        super().__init__(message)
        self.published = published


class ServeError(RevierError):
    """``serve`` cannot listen on its address (taken, or not this machine's)."""


class DigestError(RevierError):
    """A partner's digest could not be built or delivered."""

    _default_message = "could not send the digest"


class DeliveryError(DigestError):
    """The mail server refused a digest or could not be reached.

    ``permanent`` is True for a refusal that will not change by retrying (SMTP 5xx, every
    address rejected); False for one worth retrying later (4xx, connection refused, timeout).
    """

    def __init__(
        self,
        message: str = "",
        *,
        permanent: bool,
        code: int | None = None,
        server_wide: bool = False,
        unconfirmed: bool = False,
    ) -> None:
        self.permanent = permanent
        #: The SMTP reply code, when the server gave one.
        self.code = code
        #: The failure concerns every message (no connection, login refused), not this one.
        self.server_wide = server_wide
        #: The whole message went out but no reply came: probably delivered.
        self.unconfirmed = unconfirmed
        super().__init__(message)


def _restore(
    cls: type[RevierError],
    args: tuple[object, ...],
    state: dict[str, object],
    cause_text: str | None,
) -> RevierError:
    """An unpickled error: its arguments and attributes as they were (no __init__ run),
    and the text of its cause."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    if cause_text is not None:
        error.__dict__["_pickled_cause"] = cause_text
    return error
