"""Read descriptor YAML into plain Python values, totally: every failure a DescriptorError.

pyyaml's safe loader (the C one when available) with four additions:

* duplicate keys are refused (pyyaml silently keeps the last);
* the document is composed first and measured (:mod:`dora_message.yaml_bounds`) before
  anything is built from it, so alias bombs, self-referencing aliases and deep nesting
  are refused at load time, not when a later consumer expands them;
* a value that its explicit tag cannot hold (``id: !!int m``, ``!!bool maybe``,
  ``!!timestamp 2020-99-99``, ``nodes: !!set [a]``) is an error naming its document path
  and line, not a traceback from deep inside pyyaml;
* plain-scalar tag resolution is memoized (the same keys repeat on every node; resolving
  them dominated the load of large dataflows).

pyyaml (a dependency of dora-message) is imported lazily: only the processes that read
descriptor YAML (the CLI, the node API's builder and operators) pay for importing it.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

from dora_message._docpath import DocPath, format_path
from dora_message.descriptor_limits import MAX_TEXT_BYTES
from dora_message.errors import DescriptorError
from dora_message.quote import excerpt
from dora_message.yaml_bounds import YamlTooLarge, check_bounds

__all__ = ["load_yaml_mapping"]

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_RESOLVE_CACHE_MAX = 4096
_RESOLVE_CACHE_SCALAR_MAX = 64


class _BadValue(Exception):
    """A constructor refused ``node``'s value; raised once, at the innermost node."""

    def __init__(self, node: Any, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


def load_yaml_mapping(text: str, file: str | None) -> dict[str, Any]:
    """The top-level mapping of descriptor ``text``; ``file`` only names it in errors."""
    import yaml  # lazy: see module docstring

    if len(text) > MAX_TEXT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise DescriptorError(
            f"the file is larger than the {MAX_TEXT_BYTES}-byte limit for a descriptor",
            file=file,
        )
    loader = _loader_class()(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DescriptorError("the file is empty; a dataflow needs a `nodes:` list", file=file)
        try:
            check_bounds(root, may_alias="*" in text)  # an alias is spelled `*name`
        except YamlTooLarge as err:
            raise DescriptorError(
                f"{err}{_at(err.node)}; see the descriptor bounds in docs/security.md",
                format_path(_path_to(root, err.node)),
                file,
            ) from None
        raw = loader.construct_document(root)
    except _BadValue as err:
        raise DescriptorError(
            f"{_shown(err.node)} is not a valid {_short_tag(err.node.tag)} value"
            f"{_at(err.node)}: {excerpt(err.reason)}",
            format_path(_path_to(root, err.node)),
            file,
        ) from None
    except DescriptorError as err:  # a duplicate key, raised while building a mapping
        err.file = err.file or file
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "syntax error"
        raise DescriptorError(f"invalid YAML{where}: {excerpt(problem)}", file=file) from None
    except yaml.YAMLError as err:
        raise DescriptorError(f"invalid YAML: {excerpt(err)}", file=file) from None
    except RecursionError:  # the pure-Python composer, without libyaml's depth limit
        raise DescriptorError("invalid YAML: nested too deeply", file=file) from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise DescriptorError(
            f"the top level must be a mapping with a `nodes:` key, got {_kind(raw)}", file=file
        )
    return raw


@functools.cache
def _loader_class() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    # First characters for which some implicit tag (bool, int, float, null, timestamp,
    # merge...) could apply; a plain scalar starting with any other is a string.
    typed_starts = frozenset(key for key in base.yaml_implicit_resolvers if key)
    wildcard = None in base.yaml_implicit_resolvers  # resolvers for any first character

    class Loader(base):  # type: ignore[misc, valid-type]
        """(C)SafeLoader (no arbitrary objects) with the additions of the module docstring."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is not yaml.ScalarNode or len(value) > _RESOLVE_CACHE_SCALAR_MAX:
                return super().resolve(kind, value, implicit)
            if implicit[0] and value and value[0] not in typed_starts and not wildcard:
                return _STR_TAG
            key = (value, implicit)
            tag = resolved.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(resolved) < _RESOLVE_CACHE_MAX:  # keys come early and stay
                    resolved[key] = tag
            return tag

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep=deep)
            except (_BadValue, yaml.YAMLError, DescriptorError):
                raise
            except Exception as err:  # pyyaml's constructors fail every way on bad values:
                # ValueError (`!!int m`), KeyError (`!!bool maybe`), IndexError (`!!int ''`),
                # AttributeError (`!!timestamp ''`), TypeError, OverflowError...
                raise _BadValue(node, _reason(err)) from None

        def construct_sequence(self, node: Any, deep: bool = False) -> list[Any]:
            if not isinstance(node, yaml.SequenceNode):
                raise yaml.constructor.ConstructorError(
                    None, None, f"expected a sequence, found {node.id}", node.start_mark
                )
            return [
                item.value
                if item.__class__ is yaml.ScalarNode and item.tag == _STR_TAG
                else self.construct_object(item, deep=deep)
                for item in node.value
            ]

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            """pyyaml's, in one pass, refusing duplicate keys; plain strings (most keys and
            values) are taken as they are rather than through ``construct_object``."""
            if not isinstance(node, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    None, None, f"expected a mapping, found {node.id}", node.start_mark
                )
            own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
            self.flatten_mapping(node)  # `<<` merges go first; own keys may override them
            first_own = len(node.value) - own
            mapping: dict[Any, Any] = {}
            seen: set[Any] = set()
            for index, (key_node, value_node) in enumerate(node.value):
                if key_node.__class__ is yaml.ScalarNode and key_node.tag == _STR_TAG:
                    key: Any = key_node.value
                else:
                    key = self.construct_object(key_node, deep=True)
                    if not isinstance(key, Hashable):
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            node.start_mark,
                            "found unhashable key",
                            key_node.start_mark,
                        )
                if index >= first_own and isinstance(key, str | int | float | bool):
                    if key in seen:
                        raise DescriptorError(
                            f"duplicate key `{excerpt(key)}` "
                            f"(line {key_node.start_mark.line + 1}); "
                            "each key may appear only once in a mapping",
                            file=None,
                        )
                    seen.add(key)
                if value_node.__class__ is yaml.ScalarNode and value_node.tag == _STR_TAG:
                    mapping[key] = value_node.value
                else:
                    mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    return Loader


def _reason(err: BaseException) -> str:
    if isinstance(err, KeyError):  # `!!bool maybe`: pyyaml looks the word up
        return "not one of its accepted spellings"
    if isinstance(err, IndexError | AttributeError):  # pyyaml assumed a non-empty match
        return "it does not have the form of one"
    return str(err) or type(err).__name__


def _shown(node: Any) -> str:
    if isinstance(node.value, str):
        return f"`{excerpt(node.value)}`"
    return f"this {node.id}"


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag


def _at(node: Any) -> str:
    mark = getattr(node, "start_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text `{excerpt(value, 40)}`"
    return f"a {type(value).__name__} value"


def _path_to(root: Any, target: Any) -> DocPath:
    """The document path of ``target`` under ``root`` (first found; ``()`` if none).

    Only on the error path; iterative, each node visited once (aliases and cycles too).
    """
    seen: set[int] = set()
    stack: list[tuple[Any, DocPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen or isinstance(node.value, str):
            continue
        seen.add(id(node))
        if node.value and isinstance(node.value[0], tuple):
            for key, value in node.value:
                label = key.value if isinstance(key.value, str) else "?"
                stack.append((value, (*path, label)))
                stack.append((key, (*path, label)))
        else:
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return ()
