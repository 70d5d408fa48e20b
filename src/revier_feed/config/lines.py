"""YAML with line numbers, and pydantic's errors turned into issues that name file, line
and key."""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from .._utils import XML_FORBIDDEN
from ..exceptions import ConfigIssue
from .files import SELECTOR_KEYS

# --- YAML with line numbers ----------------------------------------------------------------

Loc = tuple[str | int, ...]

#: libyaml's parser where PyYAML has it (its wheels do): a tenth of the pure-Python parser's
#: time, which was 0.1 s of every start with 500 sources. Same nodes, same line numbers.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def _load_yaml(path: Path) -> tuple[Any, _Lines, list[ConfigIssue]]:
    """A file's values, where each is, and the problems of single values (the rest of the
    file is still validated); the file's own problems are raised (:class:`_YamlProblems`)."""
    lines = _Lines()
    try:
        if not path.is_file():  # a FIFO would block the reading (and a worker's reload)
            broken = path.is_symlink() and not path.exists()
            raise _YamlProblems(
                [
                    ConfigIssue(
                        str(path),
                        None,
                        "",
                        "is a link to nothing (or to itself)"
                        if broken
                        else "is not a regular file",
                        "make it a file",
                    )
                ]
            )
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _YamlProblems(
                [
                    ConfigIssue(
                        str(path),
                        None,
                        "",
                        f"is {size / 1e6:.0f} MB, more than a configuration file can be "
                        f"({MAX_FILE_BYTES / 1e6:.0f} MB)",
                        "is this the right file?",
                    )
                ]
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        at = e.object[: e.start].count(b"\n") + 1
        raise _YamlProblems(
            [ConfigIssue(str(path), at, "", f"not UTF-8 text ({e.reason})", "save as UTF-8")]
        ) from e
    except OSError as e:  # a folder of that name, no permission
        raise _YamlProblems(
            [ConfigIssue(str(path), None, "", f"cannot be read: {e.strerror}", "make it a file")]
        ) from e
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.reader.ReaderError as e:  # a character YAML does not allow
        raise _YamlProblems(
            [
                ConfigIssue(
                    str(path),
                    text.count("\n", 0, e.position) + 1,
                    "",
                    f"a character YAML does not allow in a file: U+{e.character:04X}",
                    "remove it (write it as an escape in double quotes if it is needed)",
                )
            ]
        ) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(filter(None, [e.context, e.problem]))
        numbered = text.splitlines()
        text_line = numbered[line - 1] if line and 0 < line <= len(numbered) else ""
        hint = "check indentation, colons and quotes around this line"
        if "\t" in text_line:
            hint = "indent with spaces: YAML does not allow tabs there"
        elif "undefined alias" in problem:
            # A tag term ending a word, written unquoted: any: [*preis].
            hint = 'quote a value that starts with "*" ("*preis"): YAML reads *name as an alias'
        raise _YamlProblems(
            [ConfigIssue(str(path), line, "", f"YAML syntax error: {problem}", hint)]
        ) from e
    if node is None:
        return None, lines, []
    # One constructor for the file's scalars (a loader per value cost more than the parse).
    reading = _Reading(path, text, lines, yaml.SafeLoader(""))
    problems = reading.problems
    try:
        data = _construct(node, (), reading)
    except _TooLarge as e:
        problems.append(ConfigIssue(str(path), e.line, "", e.reason, e.hint))
        raise _YamlProblems(problems) from None
    finally:
        reading.scalars.dispose()
    return data, lines, problems


#: Values a configuration file may hold once its aliases are expanded: thousands of
#: sources are far fewer; a dozen lines of nested aliases make billions ("alias bomb").
MAX_VALUES = 1_000_000
#: How deep values may nest: the deepest setting is a few levels down; hundreds of levels
#: would exhaust the reading's stack.
MAX_DEPTH = 32
#: The largest configuration file read: ten thousand sources take about 2 MB.
MAX_FILE_BYTES = 20_000_000


_ALIAS_HINT = "write the values out instead of repeating them by alias"


class _TooLarge(Exception):
    def __init__(self, line: int, reason: str, hint: str = _ALIAS_HINT) -> None:
        self.line, self.reason, self.hint = line, reason, hint


class _Reading:
    """One file being read into Python values: where each key is, the problems found, and
    how many values have been built and which nodes are being built (aliases)."""

    def __init__(self, path: Path, text: str, lines: _Lines, scalars: yaml.SafeLoader) -> None:
        self.path = path
        self.text = text
        self._text_lines: list[str] | None = None
        self.lines = lines
        self.scalars = scalars
        self.problems: list[ConfigIssue] = []
        self.values = 0
        self.inside: set[int] = set()

    def problem(self, node: yaml.Node, loc: Loc, message: str, hint: str) -> None:
        """Note a problem of the value ``node`` at ``loc``."""
        self.problems.append(
            ConfigIssue(str(self.path), node.start_mark.line + 1, _dotted(loc), message, hint)
        )

    def rest_of_line(self, mark: yaml.Mark) -> str:
        """The file's text from ``mark`` to the end of its line."""
        if self._text_lines is None:
            self._text_lines = self.text.splitlines()
        if mark.line >= len(self._text_lines):
            return ""
        return self._text_lines[mark.line][mark.column :]


def _construct(node: yaml.Node, loc: Loc, r: _Reading) -> Any:
    r.lines.set(loc, node.start_mark.line + 1)
    r.values += 1
    if r.values > MAX_VALUES:
        raise _TooLarge(
            node.start_mark.line + 1,
            f"the file makes more than {MAX_VALUES:,} values (its YAML aliases, *name, expanded)",
        )
    if len(loc) > MAX_DEPTH:
        raise _TooLarge(
            node.start_mark.line + 1,
            f"values nest more than {MAX_DEPTH} deep",
            "check the brackets and indentation",
        )
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in r.inside:
            raise _TooLarge(
                node.start_mark.line + 1, "a YAML alias (*name) makes a value that contains itself"
            )
        r.inside.add(id(node))
        try:
            return _construct_collection(node, loc, r)
        finally:
            r.inside.discard(id(node))
    return _construct_scalar(node, loc, r)


def _construct_collection(
    node: yaml.MappingNode | yaml.SequenceNode, loc: Loc, r: _Reading
) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                r.problems.append(
                    ConfigIssue(
                        str(r.path),
                        key_node.start_mark.line + 1,
                        _dotted(loc),
                        "a key must be a plain name",
                        "remove the '?' or brackets",
                    )
                )
                continue
            key = key_node.value
            if key == "<<":
                r.problems.append(
                    ConfigIssue(
                        str(r.path),
                        key_node.start_mark.line + 1,
                        _dotted(loc),
                        "YAML merge keys are not supported",
                        "write the keys out",
                    )
                )
                continue
            if key in result:
                r.problems.append(
                    ConfigIssue(
                        str(r.path),
                        key_node.start_mark.line + 1,
                        _dotted((*loc, key)),
                        "key appears twice",
                        "remove one of them",
                    )
                )
            child = (*loc, key)
            result[key] = _construct(value_node, child, r)
            r.lines.set(child, key_node.start_mark.line + 1)
        return result
    return [_construct(item, (*loc, i), r) for i, item in enumerate(node.value)]


#: What no feed, page or email may hold (XML 1.0), as an escape in YAML can write it.
_FORBIDDEN = re.compile(f"[{XML_FORBIDDEN}\ud800-\udfff]")


#: A CSS id selector's start ("#news"), not a comment's ("# none yet").
_CSS_ID = re.compile(r"#[-\w\\]")


def _construct_scalar(node: yaml.Node, loc: Loc, r: _Reading) -> Any:
    if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in str(node.value):
        r.problem(
            node,
            loc,
            f"YAML reads {node.value} as a base-60 number",
            'quote a time of day ("03:30"); write a duration like 1h30m',
        )
        return None
    if (
        node.tag == "tag:yaml.org,2002:null"
        and not node.value
        and len(loc) > 1
        and loc[-2] == "html"
        and loc[-1] in SELECTOR_KEYS
        and _CSS_ID.match(comment := r.rest_of_line(node.start_mark).strip())
    ):
        # "date: #datum .x": YAML reads a "#" after a blank as a comment, and an optional
        # selector was dropped without a word (the items had no dates). "teaser: # later"
        # is a comment.
        r.problem(
            node,
            loc,
            "empty: YAML reads what follows '#' as a comment",
            f"quote a selector: {loc[-1]}: {json.dumps(comment, ensure_ascii=False)}; a "
            "comment takes a blank after its '#'",
        )
        return None
    try:
        value = r.scalars.construct_object(node)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e)
        r.problem(
            node,
            loc,
            f"unsupported YAML value: {problem}",
            "write plain text, numbers, lists and mappings (no !tags)",
        )
        return None
    if isinstance(value, str) and (bad := _FORBIDDEN.search(value)):
        # Such a label or title once passed `check` and then stopped every publish.
        r.problem(
            node,
            loc,
            f"a control character (U+{ord(bad.group()):04X}) that no feed, page or email may hold",
            "remove it",
        )
        return None
    if isinstance(value, str) and (bad := _BIDI_OVERRIDE.search(value)):
        # A name is published as each item's source and shown in lists of them, where it
        # turns the order of what follows ("\u202e" made "Kreis" read "sierK").
        r.problem(
            node,
            loc,
            f"a bidi control (U+{ord(bad.group()):04X}) that turns the order of the text "
            "around it",
            "remove it (a copied title may carry it unseen)",
        )
        return None
    return value


#: Embeddings, overrides and isolates (the marks U+200E/U+200F harm nothing).
_BIDI_OVERRIDE = re.compile("[\u202a-\u202e\u2066-\u2069]")


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
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = "expected keys with values here (key: value)"
            hint = f"got {err.get('input')!r}"
        elif str(loc[-1]).endswith("_env"):
            pass  # the name of a secret's variable: what was written may be the secret
        elif kind == "literal_error" or kind.endswith(("_type", "_parsing")):
            got = err.get("input")
            hint = f"got {got!r}"
            if isinstance(got, bool) and kind == "string_type":
                # YAML 1.1 reads yes/no/on/off as true/false.
                hint += "; YAML reads yes, no, on and off as true or false: quote the text"
        yield ConfigIssue(str(path), lines.line_of(loc), _dotted(loc), message, hint)


def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    """A model's fields by the key YAML writes them with (``json``, for ``json_``)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model found at ``loc`` (walking lists and optionals)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = _fields_by_key(current).get(part)
            current = field.annotation if field else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(_fields_by_key(current))
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
