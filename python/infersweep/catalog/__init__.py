"""The catalog of named models and GPUs.

The entries live in TOML files next to this module (``epoch_models.toml``, ``epoch_gpus.toml``:
the `epoch` entries of Epoch AI's paper and notebook, reproduced exactly). Any other ``*.toml``
file in this folder with a top-level ``kind = "models"`` or ``kind = "gpus"`` is loaded too, after
the Epoch files, so a further catalog is added by dropping in a file (``modern_gpus.toml``:
accelerators of 2023-2026 with confidence-tagged sources, not part of `epoch` semantics;
``modern_models.toml``: models of 2024-2025 as their Hugging Face configs describe them, with the
extensions of docs/extensions.md). The format::

    kind = "models"

    [models.Llama-3-70B]
    aliases = ["Llama_3_70B"]      # other accepted names
    description = "..."            # one line for humans
    source = "..."                 # where the numbers come from (required)
    as_of = "2026-11"              # optional: when the figures were compiled
    notes = "..."                  # optional: caveats, one string
    d_model = 8192                 # ... every other key is a field of infersweep.specs.Model
    ...

and likewise ``kind = "gpus"`` with ``[gpus.H100]`` tables holding the fields of
infersweep.specs.Gpu (``flops_by_bits`` is a table keyed by ``"4"``, ``"8"``, ``"16"``).

A model's ``layer_groups`` is an array of tables, one per group, with the fields of
infersweep.specs.LayerGroup::

    [[models.DeepSeek-V3.layer_groups]]
    n_layers = 3
    d_ff = 18432

    [[models.DeepSeek-V3.layer_groups]]
    n_layers = 58
    d_ff = 2048
    n_experts = 256
    n_experts_active = 8
    n_shared_experts = 1

With groups, ``n_layers``, ``d_ff``, ``n_experts`` and ``n_experts_active`` may be left out: the
loader sets them from the groups (their total, and the fields of the group with the most experts).

Names are matched case-insensitively, ignoring ``-``, ``_``, whitespace and dots, over the
canonical names and the aliases: ``"llama_3_70b"``, ``"LLAMA-3-70B"`` and ``"Llama 3 70B"`` are
all ``Llama-3-70B``. No two names of the catalog read alike (the loader refuses a clash), so every
spelling of a name finds the same entry. Each entry says which catalog it is from (``catalog``:
the file's prefix, ``epoch`` or ``modern``), and every Epoch entry has an alias ``<name>-epoch``:
``H200`` (= ``H200-epoch``) is Epoch's H200 (u_flop 0.6, a price derived from Nebius's list) and
``H200-SXM`` the modern entry (u_flop 0.7, a dated market price). ``DeepSeek-V3``, and so also the
notebook's key ``DeepSeek_V3``, is the faithful model of ``modern_models.toml``; Epoch's
approximation is ``DeepSeek-V3-epoch``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.resources
import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import CatalogError, SpecError
from ..specs import Gpu, LayerGroup, Model, representative_group

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import polars as pl

__all__ = [
    "CatalogEntry",
    "catalog_gpus",
    "catalog_models",
    "catalog_of",
    "gpu",
    "gpu_names",
    "model",
    "model_names",
]

Kind = Literal["models", "gpus"]

_KINDS: tuple[Kind, ...] = ("models", "gpus")
_SINGULAR: dict[Kind, str] = {"models": "model", "gpus": "gpu"}
_SPEC_CLASS: dict[Kind, type[Model | Gpu]] = {"models": Model, "gpus": Gpu}
_LISTER: dict[Kind, str] = {"models": "infersweep.catalog_models()", "gpus": "infersweep.catalog_gpus()"}
# Keys of an entry that are not fields of the spec dataclass.
_META_KEYS = ("aliases", "description", "source", "as_of", "notes")
# Files loaded first, in this order; every other catalog file follows in name order.
_FIRST_FILES = ("epoch_models.toml", "epoch_gpus.toml")
_MAX_SUGGESTIONS = 5
_BITS = (4, 8, 16)


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog entry: the spec, with the names and provenance the TOML gives it."""

    kind: Kind
    name: str
    aliases: tuple[str, ...]
    description: str
    source: str
    spec: Model | Gpu
    file: str
    as_of: str = ""
    notes: str = ""

    @property
    def catalog(self) -> str:
        """Which catalog the entry is from: its file's prefix (``epoch``: Epoch's paper and
        notebook, reproduced exactly; ``modern``: dated, sourced entries beyond the paper)."""
        return self.file.split("_")[0].removesuffix(".toml")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class _Section:
    """All entries of one kind, in catalog order, and the index of their normalised names."""

    entries: tuple[CatalogEntry, ...]
    index: dict[str, CatalogEntry]


def _normalise(name: str) -> str:
    """The lookup key of a name: case-folded, without ``-``, ``_``, whitespace and dots."""
    return re.sub(r"[-_.\s]+", "", name).casefold()


def _catalog_files() -> Iterator[tuple[str, Traversable]]:
    files = [f for f in importlib.resources.files(__name__).iterdir()
             if f.name.endswith(".toml") and f.is_file()]

    def order(f: Traversable) -> tuple[int, str]:
        return (_FIRST_FILES.index(f.name) if f.name in _FIRST_FILES else len(_FIRST_FILES), f.name)

    for f in sorted(files, key=order):
        yield f.name, f


def _parse_entry(kind: Kind, fname: str, name: str, table: object) -> CatalogEntry:
    where = f"catalog file {fname!r}, {_SINGULAR[kind]} {name!r}"
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table of fields, got {table!r}")
    data = dict(table)
    aliases = data.pop("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise SpecError(f"{where}: 'aliases' must be a list of non-empty strings, got {aliases!r}")
    description = data.pop("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}: 'description' must be a string, got {description!r}")
    source = data.pop("source", None)
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{where}: 'source' must be a non-empty string, got {source!r}")
    as_of = data.pop("as_of", "")
    notes = data.pop("notes", "")
    for key, value in (("as_of", as_of), ("notes", notes)):
        if not isinstance(value, str):
            raise SpecError(f"{where}: {key!r} must be a string, got {value!r}")
    cls = _SPEC_CLASS[kind]
    allowed = {f.name for f in dataclasses.fields(cls)} - {"name", "source"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {unknown}; the fields are "
                        f"{sorted(allowed | set(_META_KEYS))}")
    if kind == "models" and data.get("layer_groups") is not None:
        data = _with_group_fields(where, data)
    if kind == "gpus" and isinstance(data.get("flops_by_bits"), dict):
        # TOML keys are strings; the spec wants integer bits (Gpu validates the values).
        data["flops_by_bits"] = {int(k) if k.isdigit() else k: v for k, v in data["flops_by_bits"].items()}
    try:
        spec = cls(name=name, source=source, **data)
    except SpecError as e:
        raise SpecError(f"catalog file {fname!r}: {e}") from e
    except TypeError as e:  # a required field is missing
        raise SpecError(f"{where}: {e}") from e
    return CatalogEntry(kind=kind, name=name, aliases=tuple(aliases), description=description,
                        source=source, spec=spec, file=fname, as_of=as_of, notes=notes)


def _with_group_fields(where: str, data: dict[str, Any]) -> dict[str, Any]:
    """Fill n_layers, d_ff, n_experts and n_experts_active from the layer groups where absent
    (the spec checks them when given)."""
    groups = data["layer_groups"]
    if not isinstance(groups, list) or not groups:
        raise SpecError(f"{where}: 'layer_groups' must be a non-empty array of tables, got {groups!r}")
    try:
        parsed = [LayerGroup.from_value(g) for g in groups]
    except SpecError as e:
        raise SpecError(f"{where}: field 'layer_groups': {e}") from e
    rep = parsed[representative_group(parsed)]
    filled = {"n_layers": math.fsum(g.n_layers for g in parsed), "d_ff": rep.d_ff,
              "n_experts": rep.n_experts, "n_experts_active": rep.n_experts_active}
    return {**filled, **data, "layer_groups": parsed}


@functools.cache
def _load() -> dict[Kind, _Section]:
    """Parse every catalog file once (cached for the life of the process)."""
    entries: dict[Kind, list[CatalogEntry]] = {k: [] for k in _KINDS}
    for fname, res in _catalog_files():
        try:
            doc = tomllib.loads(res.read_bytes().decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise CatalogError(f"catalog file {fname!r} is not valid TOML: {e}") from e
        if "kind" not in doc:
            continue  # not a catalog file
        kind = doc["kind"]
        if kind not in _KINDS:
            raise CatalogError(f"catalog file {fname!r}: top-level 'kind' must be 'models' or 'gpus', "
                               f"got {kind!r}")
        extra = sorted(set(doc) - {"kind", kind})
        if extra:
            raise CatalogError(f"catalog file {fname!r} (kind = {kind!r}): unexpected top-level key(s) "
                               f"{extra}; entries go under [{kind}.<name>]")
        tables = doc.get(kind, {})
        if not isinstance(tables, dict):
            raise CatalogError(f"catalog file {fname!r}: {kind!r} must be a table of entries")
        entries[kind].extend(_parse_entry(kind, fname, name, t) for name, t in tables.items())

    sections: dict[Kind, _Section] = {}
    for kind in _KINDS:
        sections[kind] = _Section(entries=tuple(entries[kind]), index=_index(kind, entries[kind]))
    return sections


def _index(kind: Kind, entries: list[CatalogEntry]) -> dict[str, CatalogEntry]:
    """Normalised name → entry; a CatalogError when two names (of two entries, or of one) read alike,
    since a lookup that ignores case and separators could not tell them apart."""
    index: dict[str, CatalogEntry] = {}
    spelled: dict[str, str] = {}
    for ent in entries:
        for n in ent.names:
            key = _normalise(n)
            other = index.setdefault(key, ent)
            if other is not ent:
                raise CatalogError(
                    f"catalog: {_SINGULAR[kind]} name {n!r} of {ent.name!r} ({ent.file}) clashes with "
                    f"{spelled[key]!r} of {other.name!r} ({other.file}): both read as {key!r}")
            spelled.setdefault(key, n)
    return index


def _lookup(kind: Kind, name: str) -> CatalogEntry:
    what = _SINGULAR[kind]
    if not isinstance(name, str):
        cls = _SPEC_CLASS[kind].__name__
        raise CatalogError(f"{what}: expected a catalog name or a {cls}, got {name!r} "
                           f"({type(name).__name__})")
    section = _load()[kind]
    key = _normalise(name)
    entry = section.index.get(key)
    if entry is not None:
        return entry
    close: list[str] = []
    for k in difflib.get_close_matches(key, section.index, n=len(section.index), cutoff=0.6):
        canonical = section.index[k].name
        if canonical not in close:
            close.append(canonical)
    hint = ("close matches: " + ", ".join(repr(c) for c in close[:_MAX_SUGGESTIONS])
            if close else "no close match")
    raise CatalogError(f"unknown {what} {name!r}; {hint}. List them all with {_LISTER[kind]}.")


def model(name: str | Model) -> Model:
    """The catalog model called `name` (a Model passes through unchanged).

    Names are matched case-insensitively over canonical names and aliases, ignoring ``-``, ``_``,
    whitespace and dots. Raises CatalogError, listing close matches, for an unknown name.
    """
    if isinstance(name, Model):
        return name
    spec = _lookup("models", name).spec
    assert isinstance(spec, Model)
    return spec


def gpu(name: str | Gpu) -> Gpu:
    """The catalog GPU called `name` (a Gpu passes through unchanged); matched as in `model`."""
    if isinstance(name, Gpu):
        return name
    spec = _lookup("gpus", name).spec
    assert isinstance(spec, Gpu)
    return spec


def catalog_of(spec: Model | Gpu) -> str | None:
    """The catalog (``epoch`` or ``modern``) of the entry this spec equals, or None for a spec
    that is no catalog entry (a Hugging Face config, a spec built or changed by hand)."""
    kind: Kind = "models" if isinstance(spec, Model) else "gpus"
    for ent in _load()[kind].entries:
        if ent.spec == spec and ent.name == spec.name:
            return ent.catalog
    return None


def model_names() -> list[str]:
    """Canonical names of the catalog models, in catalog order."""
    return [e.name for e in _load()["models"].entries]


def gpu_names() -> list[str]:
    """Canonical names of the catalog GPUs, in catalog order."""
    return [e.name for e in _load()["gpus"].entries]


def _polars_type(annotation: object) -> type[pl.DataType]:
    import polars as pl

    text = str(annotation)
    if text == "bool":
        return pl.Boolean
    if text in ("int", "int | None"):
        return pl.Int64
    if text in ("str", "Collectives"):
        return pl.String
    return pl.Float64


def _frame(kind: Kind, leading: dict[str, Any], derived: dict[str, Any], skip: set[str],
           trailing: dict[str, Any] | None = None) -> pl.DataFrame:
    """Build a catalog table: name, aliases, catalog, `leading` columns, spec fields, `derived`, source,
    `trailing` columns, description.

    `leading` and `derived` map a column name to (polars type, function of the entry).
    """
    import polars as pl

    entries = _load()[kind].entries
    columns: dict[str, tuple[Any, Any]] = {
        "name": (pl.String, lambda e: e.name),
        "aliases": (pl.String, lambda e: ", ".join(e.aliases)),
        "catalog": (pl.String, lambda e: e.catalog),
        **leading,
    }
    for f in dataclasses.fields(_SPEC_CLASS[kind]):
        if f.name in skip or f.name in ("name", "source"):
            continue
        if f.name == "layer_groups":  # one line per model: "3×dense(f=18432); 58×MoE(...)"
            columns[f.name] = (pl.String, lambda e: None if e.spec.layer_groups is None else
                               "; ".join(g.describe() for g in e.spec.layer_groups))
            continue
        columns[f.name] = (_polars_type(f.type), lambda e, n=f.name: getattr(e.spec, n))
    columns.update(derived)
    columns["source"] = (pl.String, lambda e: e.source)
    columns.update(trailing or {})
    columns["description"] = (pl.String, lambda e: e.description)
    return pl.DataFrame({c: [fn(e) for e in entries] for c, (_, fn) in columns.items()},
                        schema={c: t for c, (t, _) in columns.items()})


def catalog_models() -> pl.DataFrame:
    """One row per catalog model: name, aliases (comma-joined), catalog (``epoch`` or ``modern``:
    :attr:`CatalogEntry.catalog`), every Model field (``layer_groups``
    as one line of text, null without groups), the derived total_params, active_params and
    kv_bytes_per_token (every layer caching the token: windows ignored), then source and
    description."""
    import polars as pl

    derived = {
        "total_params": (pl.Float64, lambda e: e.spec.total_params),
        "active_params": (pl.Float64, lambda e: e.spec.active_params),
        "kv_bytes_per_token": (pl.Float64, lambda e: e.spec.kv_bytes_per_token),
    }
    return _frame("models", {}, derived, set())


def catalog_gpus() -> pl.DataFrame:
    """One row per catalog GPU: name, aliases (comma-joined), catalog (``epoch`` or ``modern``),
    peak FLOP/s at 4, 8 and 16 weight bits
    (``flops_4bit``, ``flops_8bit``, ``flops_16bit``; null when not rated), every other Gpu field,
    then source, ``as_of`` and ``notes`` (null where the entry has none) and description."""
    import polars as pl

    leading = {f"flops_{b}bit": (pl.Float64, lambda e, b=b: e.spec.flops_by_bits.get(b)) for b in _BITS}
    trailing = {"as_of": (pl.String, lambda e: e.as_of or None),
                "notes": (pl.String, lambda e: e.notes or None)}
    return _frame("gpus", leading, {}, {"flops_by_bits"}, trailing)
