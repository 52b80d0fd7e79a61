"""Submissions written as text: ``# %% <name>`` lines split a file into named cells."""

from __future__ import annotations

import re
from pathlib import Path


def cells(path: Path) -> list:
    """``[(name, source), ...]`` of the file's cells, in order (text before the first
    marker is the file's own comment, not a cell)."""
    out, name, lines = [], None, []
    for line in Path(path).read_text().splitlines(keepends=True):
        m = re.match(r"^# %% (\S+)\s*$", line)
        if m:
            if name is not None:
                out.append((name, "".join(lines)))
            name, lines = m.group(1), []
        elif name is not None:
            lines.append(line)
    return out + ([(name, "".join(lines))] if name is not None else [])
