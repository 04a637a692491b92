"""The examples in the docs run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_the_plugin_guide_example_plugin_and_its_test_work(monkeypatch):
    plugin_source, test_source = _python_blocks(ROOT / "docs" / "plugins.md")
    plugin = types.ModuleType("tgahost_lowbyte")
    exec(compile(plugin_source, "docs/plugins.md:plugin", "exec"), plugin.__dict__)
    monkeypatch.setitem(sys.modules, "tgahost_lowbyte", plugin)
    namespace = {"tgahost_lowbyte": plugin}
    exec(compile(test_source, "docs/plugins.md:test", "exec"), namespace)
    namespace["test_lowbyte_generates_in_the_seed_prefixes"]()
