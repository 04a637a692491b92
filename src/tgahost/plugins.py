"""Finding plugins through entry points and routing each TGA type to the plugin that owns it.

A plugin that fails to import, or whose ``tga_types`` hook raises, is recorded with its
error and skipped: it never breaks ``--help``, ``list`` or another plugin's types.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import pluggy

from tgahost import hookspecs
from tgahost.errors import TgahostError
from tgahost.tga import TgaSpec

ENTRY_POINT_GROUP = "tgahost"
#: Comma-separated entry-point or distribution names; when set, only those plugins load.
PLUGINS_ENV = "TGAHOST_PLUGINS"

log = logging.getLogger("tgahost")


@dataclass
class PluginInfo:
    """One plugin as ``tgahost list`` shows it."""

    name: str
    distribution: str | None = None
    version: str | None = None
    types: list[TgaSpec] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": "error" if self.error else "ok",
            "error": self.error,
            "tga_types": [
                {
                    "name": t.name,
                    "description": t.description,
                    "available": t.available,
                    "unavailable_reason": t.unavailable_reason,
                    "ranked": t.ranked,
                    "params": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "default": p.default,
                            "help": p.help,
                            "choices": list(p.choices),
                            "minimum": p.minimum,
                            "maximum": p.maximum,
                            "at_generate": p.at_generate,
                            "tune": list(p.tune),
                        }
                        for p in t.params
                    ],
                }
                for t in self.types
            ],
        }


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class PluginHost:
    """The plugin manager plus what the host learned about each plugin.

    ``PluginHost()`` loads the installed plugins; ``PluginHost(load_entry_points=False)``
    starts empty, for tests and embedders that ``register`` plugins themselves.
    """

    def __init__(self, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("tgahost")
        self.pm.add_hookspecs(hookspecs)
        self._plugins: list[PluginInfo] = []
        if load_entry_points:
            self._load_entry_points()

    # -- loading ---------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        wanted = os.environ.get(PLUGINS_ENV)
        allowed = None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}
        seen: set[tuple[str, str]] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            if (ep.name, ep.value) in seen:  # the same distribution found twice on sys.path
                continue
            seen.add((ep.name, ep.value))
            if allowed is not None and ep.name not in allowed and dist not in allowed:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self._plugins.append(
                    PluginInfo(ep.name, dist, version, error=f"failed to load: {_describe(exc)}")
                )
                continue
            self.register(plugin, name=ep.name, distribution=dist, version=version)

    def register(
        self,
        plugin: object,
        name: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
    ) -> PluginInfo:
        """Register a plugin object or module in-process and ask it for its TGA types."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        info = PluginInfo(name, distribution, version)
        if self.pm.has_plugin(name):
            info.name = f"{name} ({distribution or 'in-process'})"
        try:
            self.pm.register(plugin, name=info.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            info.error = f"rejected by the host: {_describe(exc)}"
            self._plugins.append(info)
            return info
        for impl in self.pm.hook.tga_types.get_hookimpls():
            if impl.plugin is plugin:
                try:
                    info.types = list(impl.function())
                except Exception as exc:
                    info.error = f"tga_types failed: {_describe(exc)}"
                    self.pm.unregister(plugin)
        self._plugins.append(info)
        return info

    # -- queries ---------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, in load order."""
        return list(self._plugins)

    def failures(self) -> list[PluginInfo]:
        return [p for p in self._plugins if p.error]

    def owners(self) -> dict[str, list[PluginInfo]]:
        """TGA type name to the loaded plugins offering it (more than one is a conflict)."""
        owners: dict[str, list[PluginInfo]] = {}
        for info in self._plugins:
            if info.error:
                continue
            for spec in info.types:
                owners.setdefault(spec.name, []).append(info)
        return owners

    def resolve(self, tga_type: str, *, need_available: bool = True) -> tuple[TgaSpec, PluginInfo]:
        """The spec and plugin for ``tga_type``, or a one-line error saying what to do."""
        owners = self.owners().get(tga_type, [])
        if not owners:
            known = ", ".join(sorted(self.owners())) or "none"
            hint = ""
            broken = self.failures()
            if broken:
                hint = f"; {len(broken)} plugin(s) failed to load, see `tgahost list`"
            raise TgahostError(f"no installed plugin offers TGA type {tga_type!r} (installed: {known}){hint}")
        if len(owners) > 1:
            names = " and ".join(f"{o.name} ({o.distribution or 'in-process'})" for o in owners)
            raise TgahostError(
                f"TGA type {tga_type!r} is offered by more than one plugin: {names}; "
                f"uninstall one, or choose one with {PLUGINS_ENV}"
            )
        info = owners[0]
        spec = next(s for s in info.types if s.name == tga_type)
        if need_available and not spec.available:
            raise TgahostError(f"TGA type {tga_type!r} cannot run here: {spec.unavailable_reason}")
        return spec, info

    def hook_for(self, hook_name: str, info: PluginInfo) -> Any:
        """Call ``hook_name`` on the plugin ``info`` alone."""
        owner = self.pm.get_plugin(info.name)
        others = [p for _, p in self.pm.list_name_plugin() if p is not owner]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)

    def warn_failures(self) -> None:
        """One warning line per plugin that failed to load (for commands other than list)."""
        for info in self.failures():
            log.warning("plugin %s %s (see `tgahost list`)", info.name, info.error)


_default_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide host with the installed plugins, loaded on first use."""
    global _default_host
    if _default_host is None:
        _default_host = PluginHost()
    return _default_host
