"""The model and gpu columns of a sweep: results of different calls concatenate."""

from __future__ import annotations

import polars as pl

import infersweep as isw


def test_results_of_different_calls_concatenate() -> None:
    # Enum columns of each call's names refused this ("Enum mismatch")
    a = isw.sweep("Llama-3-70B", "H100", n_gpus=[8, 16], batch_size=[1, 64], semantics="epoch")
    b = isw.sweep(["Llama-3-405B", "Mixtral-8x22B"], ["H200", "H100"], n_gpus=8, batch_size=64,
                  semantics="epoch")
    both = pl.concat([a, b])
    assert both.height == 8 and both.schema["model"] == a.schema["model"] == pl.Categorical()
    assert both["model"].cast(pl.String).to_list() == ["Llama-3-70B"] * 4 + [
        "Llama-3-405B", "Llama-3-405B", "Mixtral-8x22B", "Mixtral-8x22B"]
    assert both["gpu"].cast(pl.String).to_list() == ["H100"] * 4 + ["H200", "H100"] * 2
    # and they filter and group by name as strings
    assert both.filter(pl.col("gpu") == "H100").height == 6
    assert both.group_by("model").len().height == 3

