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


def test_the_readme_python_api_example_runs(tmp_path, monkeypatch):
    (example,) = _python_blocks(ROOT / "README.md")
    (tmp_path / "data").mkdir()
    synthetic = (ROOT / "data" / "synthetic-seeds.txt").read_bytes()
    (tmp_path / "data" / "synthetic-seeds.txt").write_bytes(synthetic)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md:api", "exec"), namespace)
    assert len(namespace["targets"]) == 1000
    assert (tmp_path / "model.bin").exists()


def test_the_readme_quick_start_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- quickstart:begin -->")[1].split("<!-- quickstart:end -->")[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("```")]
    assert len(commands) == 2
    assert "tgahost train --tga-type lstm_ip" in commands[0] and "tgahost generate" in commands[0]
    assert commands[1].endswith("tox")
    assert "quickstart:begin" in (ROOT / ".ci" / "run").read_text()


def test_every_command_and_option_is_in_the_readme():
    from tgahost import cli

    readme = (ROOT / "README.md").read_text()
    synopsis = readme.split("## Command line")[1].split("```")[1]
    # each command's entry: its "tgahost NAME" line and the indented lines under it
    entries = {
        block.split()[0]: block for block in ("\n" + synopsis).split("\ntgahost ")[1:] if block.strip()
    }
    for name, command in cli.main.commands.items():
        assert name in entries, name
        for param in command.params:
            for flag in param.opts + param.secondary_opts:
                if flag.startswith("--") and flag != "--help":
                    assert flag in entries[name], f"tgahost {name} {flag}"


def test_every_built_in_parameter_is_in_the_readme():
    from tgahost.generators import pattern_ip, random_ip

    readme = (ROOT / "README.md").read_text()
    for module in (pattern_ip, random_ip):
        (spec,) = module.tga_types()
        section = readme.split(f"### `{spec.name}`")[1].split("\n### ")[0]
        for param in spec.params:
            assert f"`{param.name}`" in section or f"`{param.name}=" in section, f"{spec.name}.{param.name}"
