"""infersweep: how fast can this model run on this hardware, and what does each token cost?

The analytical model of Erdil (2025), *Inference economics of language models* (Epoch AI),
evaluated by a Rust engine over millions of configurations and returned as polars DataFrames.

>>> import infersweep as isw
>>> df = isw.sweep("Llama-3-70B", "H100", n_gpus=[8, 16], batch_size=[1, 64])
"""

from . import errors, reference
from ._core import __version__
from .catalog import catalog_gpus, catalog_models, gpu, gpu_names, model, model_names
from .errors import CatalogError, ConfigError, GridError, InfersweepError, SpecError
from .frontier import pareto_front, preferred
from .frontier import frontier as frontier
from .specs import Gpu, Model, SpecDec
from .sweep import sweep

__all__ = [
    "CatalogError",
    "ConfigError",
    "Gpu",
    "GridError",
    "InfersweepError",
    "Model",
    "SpecDec",
    "SpecError",
    "__version__",
    "catalog_gpus",
    "catalog_models",
    "errors",
    "frontier",
    "gpu",
    "gpu_names",
    "model",
    "model_names",
    "pareto_front",
    "preferred",
    "reference",
    "sweep",
]
