"""Bound a composed YAML node graph before anything is built from it.

pyyaml composes aliases as shared nodes, so a 1 KB "billion laughs" document is a small
graph here, but every consumer that walks the values (msgspec, the JSON sent to the
coordinator, the daemon) expands it: ten levels of ten aliases are 10^10 elements. So
the graph is measured as if expanded, each distinct node once (memoized), and refused
when it is too big, too deep, uses too many aliases or refers to itself.
"""

from __future__ import annotations

from typing import Any

from dora_message.descriptor_limits import MAX_ALIASES, MAX_DEPTH, MAX_EXPANDED_NODES
from dora_message.errors import DoraError

__all__ = ["YamlTooLarge", "check_bounds"]


class YamlTooLarge(DoraError):
    """The document breaks a bound; ``node`` is where (its ``start_mark`` has the line)."""

    def __init__(self, message: str, node: Any) -> None:
        super().__init__(message)
        self.node = node


def check_bounds(
    root: Any,
    *,
    max_nodes: int = MAX_EXPANDED_NODES,
    max_aliases: int = MAX_ALIASES,
    max_depth: int = MAX_DEPTH,
    may_alias: bool = True,
) -> int:
    """The expanded node count of ``root`` (a composed ``yaml.Node``); raises
    :class:`YamlTooLarge` when a bound is broken.

    Iterative (no recursion, whatever the depth). A node reached a second time is an
    alias use; reached again while still open, it is a cycle (``&a [*a]``), whose
    expansion never ends. Without aliases (``may_alias=False``: the text has no ``*``) the
    graph is a tree, walked by a cheaper loop.
    """
    if not may_alias:
        return _check_tree(root, max_nodes, max_depth)
    size: dict[int, int] = {}  # id(node) -> expanded size, once finished
    depth: dict[int, int] = {}  # id(node) -> expanded depth, once finished
    open_ids: set[int] = {id(root)}
    aliases = 0
    # [node, its children (items, or keys and values), how many were visited]
    stack: list[list[Any]] = [[root, _children(root), 0]]
    while stack:
        top = stack[-1]
        node, children, visited = top
        if visited < len(children):
            top[2] = visited + 1
            child = children[visited]
            key = id(child)
            if key in size:
                aliases += 1
                if aliases > max_aliases:
                    raise YamlTooLarge(f"the YAML uses more than {max_aliases} aliases", child)
            elif key in open_ids:
                raise YamlTooLarge(
                    "an alias refers to a node that contains it, so it never ends", child
                )
            elif len(stack) >= max_depth:
                raise YamlTooLarge(f"the YAML is nested deeper than {max_depth} levels", child)
            else:
                open_ids.add(key)
                stack.append([child, _children(child), 0])
            continue
        stack.pop()
        key = id(node)
        open_ids.discard(key)
        total = 1
        deepest = 0
        for child in children:
            total += size[id(child)]
            deepest = max(deepest, depth[id(child)])
        if total > max_nodes:
            raise YamlTooLarge(
                f"the YAML has more than {max_nodes} values once its aliases are expanded", node
            )
        if deepest >= max_depth:
            raise YamlTooLarge(
                f"the YAML is nested deeper than {max_depth} levels once its aliases are expanded",
                node,
            )
        size[key] = total
        depth[key] = deepest + 1
    return size[id(root)]


def _check_tree(root: Any, max_nodes: int, max_depth: int) -> int:
    """Level by level: each level's size is added at once, and its depth is the level's."""
    count = 0
    depth = 0
    level = [root]
    while level:
        depth += 1
        count += len(level)
        if count > max_nodes:
            raise YamlTooLarge(f"the YAML has more than {max_nodes} values", level[-1])
        below: list[Any] = []
        for node in level:
            value = node.value
            if not value or value.__class__ is str:  # a scalar or an empty collection
                continue
            if depth >= max_depth:
                raise YamlTooLarge(f"the YAML is nested deeper than {max_depth} levels", node)
            if value[0].__class__ is tuple:  # a mapping: (key, value) pairs
                for pair in value:
                    below += pair
            else:
                below += value
        level = below
    return count


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, str):  # a scalar
        return []
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return list(value)
