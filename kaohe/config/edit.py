"""Change values of a configuration file in place, keeping everything else byte for byte.

``kaohe calibrate`` proposes its configuration as a change to the centre's own file: the
comments that explain each rule, the order, the flow style and the number spelling of every
value it does not change stay as they were, so ``diff`` shows exactly the changed values.
ruamel.yaml (a round-trip YAML library) parses the file and says where each value starts
(line and column); the value's text there is replaced and nothing else. (Dumping the round-trip
tree again would re-indent sequences and re-space flow mappings across the whole file.)

Only scalar values that are already in the file can be changed; a missing key is an
``EditError`` naming it (set it in the file first).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

Path_ = tuple  # a key path into the file: ("scorecard", "rules", "recovery", 1, "floor")


class EditError(ValueError):
    """The file cannot take the change: a key it does not set, or not a scalar there."""


def format_value(value) -> str:
    """A number as YAML spells it briefly (0.3312, 93, 87.45); a string as a plain scalar
    unless it needs quotes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    text = str(value)
    if text and all(c.isalnum() or c in "-_." for c in text) and not text[0].isdigit():
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar_end(line: str, col: int) -> int:
    """Where the scalar that starts at ``col`` ends: its closing quote, else the first ``,``
    or ``}`` or ``]`` (flow context) or `` #`` (a comment), trailing spaces excluded."""
    if col < len(line) and line[col] in "\"'":
        quote, i = line[col], col + 1
        while i < len(line):
            if line[i] == quote and not (quote == '"' and line[i - 1] == "\\"):
                if quote == "'" and i + 1 < len(line) and line[i + 1] == "'":
                    i += 2  # '' is an escaped quote
                    continue
                return i + 1
            i += 1
        raise EditError("a quoted value that spans lines cannot be changed in place")
    end = len(line)
    for stop in (",", "}", "]", " #", "\t#"):
        at = line.find(stop, col)
        if at != -1:
            end = min(end, at)
    return len(line[:end].rstrip()) if end > col else end


def _locate(tree, path: Path_) -> tuple[int, int]:
    node = tree
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise EditError(f"the file does not set {'.'.join(map(str, path))}") from None
    last = path[-1]
    if isinstance(node, Mapping):
        if last not in node:
            raise EditError(f"the file does not set {'.'.join(map(str, path))}")
        if isinstance(node[last], Mapping | Sequence) and not isinstance(node[last], str):
            raise EditError(f"{'.'.join(map(str, path))} is not a single value")
        return node.lc.value(last)
    raise EditError(f"{'.'.join(map(str, path[:-1]))} is not a mapping")


def edit(text: str, changes: dict[Path_, object]) -> str:
    """``text`` with the value at each path replaced by ``format_value(new)``; every other
    byte unchanged."""
    try:
        tree = YAML(typ="rt").load(io.StringIO(text))
    except YAMLError as exc:
        raise EditError(f"not valid YAML: {exc}") from None
    lines = text.splitlines(keepends=True)
    spots = sorted(((*_locate(tree, path), format_value(new)) for path, new in changes.items()),
                   reverse=True)  # right to left, bottom up: earlier positions stay valid
    for line_no, col, new in spots:
        line = lines[line_no]
        body = line.rstrip("\r\n")
        end = _scalar_end(body, col)
        lines[line_no] = body[:col] + new + body[end:] + line[len(body):]
    return "".join(lines)
