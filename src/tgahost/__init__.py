"""tgahost: a plugin host for IPv6 target generation algorithms (TGAs).

The Python API a scanner's target-selection stage uses::

    import tgahost

    seeds = tgahost.read_seeds("hitlist.txt")
    model = tgahost.train("lstm_ip", seeds, params={"epochs": 5}, seed=1)
    tgahost.save_model(model, "model.bin")
    for batch in tgahost.generate(tgahost.load_model("model.bin"), count=100_000, seed=1):
        ...  # batch: (k, 16) uint8 numpy array of new, distinct candidates

Plugins import :data:`hookimpl` and the value types below from here.
"""

from tgahost.addresses import AddressSet, SeedSet, format_addresses, parse_lines, read_seeds
from tgahost.api import ShortfallError, generate, load_model, save_model, train
from tgahost.errors import TgahostError
from tgahost.hookspecs import hookimpl
from tgahost.modelfile import ModelFile
from tgahost.plugins import PluginHost, get_host
from tgahost.tga import Model, Param, RunContext, TgaSpec, TrainedModel

__version__ = "0.1.0"

__all__ = [
    "AddressSet",
    "Model",
    "ModelFile",
    "Param",
    "PluginHost",
    "RunContext",
    "SeedSet",
    "ShortfallError",
    "TgaSpec",
    "TgahostError",
    "TrainedModel",
    "__version__",
    "format_addresses",
    "generate",
    "get_host",
    "hookimpl",
    "load_model",
    "parse_lines",
    "read_seeds",
    "save_model",
    "train",
]
