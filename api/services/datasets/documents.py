"""Reading the documents an upload carries (data.yaml, COCO JSON) with bounds on the
work and memory they may ask for.

A YAML document may name a node again and again through aliases (and merge keys), so
786 bytes can stand for hundreds of megabytes once walked or printed; here a document
whose expanded size is out of proportion to its own is refused, as is one nested
deeper than any dataset needs. JSON has no aliases, but it can be nested deeper than
Python's recursion allows. Both can spell, with escapes, a string that is not Unicode
(half of a surrogate pair), which no JSON column or file can store: refused too. Each
refusal is a DocumentError (a ValueError) whose message is short and says why.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_YAML_BYTES = 1024 * 1024  # a data.yaml is a few KB; pure-Python YAML reads ~0.4 MB/s
MAX_YAML_DEPTH = 64
# A document may expand to this many times its own size, plus a little for small ones
# (an anchor for a shared path, named a few times, is fine; an alias bomb is not).
YAML_EXPANSION = 10
YAML_EXPANSION_SLACK = 10_000


# A JSON escape of half a surrogate pair, not part of a whole pair.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_NOT_UNICODE = "a string escapes half of a surrogate pair, which is not Unicode"


class DocumentError(ValueError):
    """The document cannot be read within its bounds; the message says why."""


class _Refused(yaml.YAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that weighs every node as if its aliases were copies (a scalar: its
    length; a collection: the sum of its members) while composing, and stops as soon as
    one outweighs the budget or lies deeper than MAX_YAML_DEPTH. Composing is linear in
    the document: each node is weighed once, an alias reuses its anchor's weight."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._budget = YAML_EXPANSION * len(text) + YAML_EXPANSION_SLACK
        self._weights: dict[int, int] = {}
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(AliasEvent):  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(self.peek_event().anchor)  # type: ignore[no-untyped-call]
            if anchored is not None and id(anchored) not in self._weights:
                # Weighed when composed: one without a weight is still being composed.
                raise _Refused("an alias refers to a node that contains it")
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels")
            node = super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1
        self._weights[id(node)] = self._weigh(node)
        return node

    def _weigh(self, node: Node) -> int:
        if isinstance(node, ScalarNode):
            if _has_surrogate(node.value):
                raise _Refused(_NOT_UNICODE)
            weight = 1 + len(node.value)
        elif isinstance(node, SequenceNode):
            weight = 1 + sum(self._weight_of(child) for child in node.value)
        elif isinstance(node, MappingNode):
            weight = 1 + sum(self._weight_of(k) + self._weight_of(v) for k, v in node.value)
        else:  # pragma: no cover - the three kinds above are all YAML has
            weight = 1
        if weight > self._budget:
            raise _Refused(
                f"it expands to more than {YAML_EXPANSION} times its size through aliases "
                "(refused as an alias bomb)"
            )
        return weight

    def _weight_of(self, node: Node) -> int:
        return self._weights[id(node)]


def load_yaml(text: str) -> Any:
    """The YAML document in `text` (SafeLoader's types). DocumentError when it is not
    valid YAML, is larger than MAX_YAML_BYTES, or expands out of proportion to its size."""
    if len(text) > MAX_YAML_BYTES:
        raise DocumentError(f"larger than {MAX_YAML_BYTES // 1024} KiB")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise DocumentError(f"not valid YAML: {exc}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:  # the constructor's own nesting, past the composer's bound
        raise DocumentError(f"not valid YAML: nested deeper than {MAX_YAML_DEPTH} levels") from None
    finally:
        loader.dispose()


def load_json(text: str) -> Any:
    """The JSON document in `text`. DocumentError when it is not valid JSON or nested
    deeper than Python's recursion allows (about a thousand levels)."""
    if "\\u" in text and _LONE_SURROGATE.search(text):
        raise DocumentError(f"not valid JSON: {_NOT_UNICODE}")
    try:
        return json.loads(text)
    except RecursionError:
        raise DocumentError("not valid JSON: nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError; also an integer of over 4300 digits
        raise DocumentError(f"not valid JSON: {_first_line(exc)}") from None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _yaml_problem(exc: yaml.YAMLError) -> str:
    # PyYAML's own message quotes the document around the mark: say what and where only.
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{exc.problem}{where}"[:200]
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
