"""infersweep: how fast can this model run on this hardware, and what does each token cost?

The analytical model of Erdil (2025), *Inference economics of language models* (Epoch AI),
evaluated by a Rust engine over millions of configurations and returned as polars DataFrames.

>>> import infersweep as isw
>>> df = isw.sweep("Llama-3-70B", "H100", n_gpus=[8, 16], batch_size=[1, 64])
"""

# serving_validation registers semantics="serving" with validate.
from . import errors, reference, serving_validation
from ._core import __version__
from .calibration import Calibration, Profile, calibrate, load_profile, shipped_profiles
from .catalog import catalog_gpus, catalog_models, gpu, gpu_names, model, model_names
from .data import measurements
from .dataset import read_sweep
from .errors import CatalogError, ConfigError, GridError, InfersweepError, SpecError
from .explain import Explanation, explain
from .frontier import frontier as frontier
from .frontier import pareto_front, preferred
from .hf_config import from_hf_config
from .plan_plot import plot_plan
from .planner import plan
from .point import Evaluation, ServingEvaluation, evaluate
from .scaling import (
    FrontierFit,
    SizeEstimate,
    fit_frontier,
    frontier_cost_at,
    infer_model_size,
    mfu_target,
    scale_model,
)
from .serving import Precision, Runtime
from .serving_explain import ServingExplanation
from .specs import Gpu, LayerGroup, Model, SpecDec
from .speculative import DraftHeads, DraftModel
from .stream import sweep_shard, sweep_to_parquet
from .sweep import sweep
from .toy import toy_critical_batch, toy_latency, toy_min_latency, toy_optimal_gpus
from .traffic import Lengths, serve
from .validation import validate, validation_summary

__all__ = [
    "Calibration",
    "CatalogError",
    "ConfigError",
    "DraftHeads",
    "DraftModel",
    "Evaluation",
    "Explanation",
    "FrontierFit",
    "Gpu",
    "GridError",
    "InfersweepError",
    "LayerGroup",
    "Lengths",
    "Model",
    "Precision",
    "Profile",
    "Runtime",
    "ServingEvaluation",
    "ServingExplanation",
    "SizeEstimate",
    "SpecDec",
    "SpecError",
    "__version__",
    "calibrate",
    "catalog_gpus",
    "catalog_models",
    "errors",
    "evaluate",
    "explain",
    "fit_frontier",
    "from_hf_config",
    "frontier",
    "frontier_cost_at",
    "gpu",
    "gpu_names",
    "infer_model_size",
    "load_profile",
    "measurements",
    "mfu_target",
    "model",
    "model_names",
    "pareto_front",
    "plan",
    "plot_plan",
    "preferred",
    "read_sweep",
    "reference",
    "scale_model",
    "serve",
    "serving_validation",
    "shipped_profiles",
    "sweep",
    "sweep_shard",
    "sweep_to_parquet",
    "toy_critical_batch",
    "toy_latency",
    "toy_min_latency",
    "toy_optimal_gpus",
    "validate",
    "validation_summary",
]
