"""`infersweep explain --semantics serving --precision FIELD=VALUE,...`: the per-component precision
of isw.Precision on the command line, with errors naming the field."""

from __future__ import annotations

import argparse

import polars as pl
import pytest

import infersweep as isw
from infersweep import cli
from infersweep.cli.args import PRECISION_FIELDS, precision


def test_fields_are_those_of_isw_precision():
    assert precision("attention=fp8,dense_ffn=fp8,kv_cache=fp8") == isw.Precision(
        attention="fp8", dense_ffn="fp8", kv_cache="fp8")
    assert precision(" experts = nvfp4 , expert_compute=4, kv_cache=0.5 ") == isw.Precision(
        experts="nvfp4", expert_compute=4, kv_cache=0.5)
    assert set(PRECISION_FIELDS) == set(vars(isw.Precision()))


@pytest.mark.parametrize("text,says", [
    ("atention=fp8", "unknown field 'atention'"),
    ("kv_cache=fp7", "field 'kv_cache'"),
    ("attention_compute=12", "field 'attention_compute'"),
    ("dense_ffn=-1", "field 'dense_ffn'"),
    ("fp8", "expected FIELD=VALUE"),
    ("attention=fp8,attention=bf16", "field 'attention' is given twice"),
    ("attention=", "expected FIELD=VALUE"),
])
def test_bad_values_name_the_field(text, says):
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        precision(text)


ARGS = ["explain", "--semantics", "serving", "--tp", "8", "-m", "Llama-3.1-70B", "-g", "H200", "-n", "8",
        "-b", "64", "--context", "2048"]


def test_explain_uses_the_precision(capsys):
    assert cli.main([*ARGS, "--precision", "attention=fp8,dense_ffn=fp8,kv_cache=fp8"]) == 0
    out = capsys.readouterr().out
    e = isw.explain("Llama-3.1-70B", "H200", n_gpus=8, batch_size=64, context_len=2048, semantics="serving",
                    tp=8, precision=isw.Precision(attention="fp8", dense_ffn="fp8", kv_cache="fp8"))
    plain = isw.explain("Llama-3.1-70B", "H200", n_gpus=8, batch_size=64, context_len=2048,
                        semantics="serving", tp=8)
    assert e.token_latency_s < plain.token_latency_s
    assert f"token latency     {1e6 * e.token_latency_s:,.1f} µs" in out
    assert "--precision attention=fp8,dense_ffn=fp8,kv_cache=fp8, the rest the model's own" in out


def test_a_bad_precision_is_a_usage_error_naming_the_field(capsys):
    assert cli.main([*ARGS, "--precision", "kv_cache=fp7"]) == 2
    err = capsys.readouterr().err
    assert "argument --precision" in err and "field 'kv_cache'" in err


def test_precision_needs_serving_semantics(capsys):
    code = cli.main(["explain", "--semantics", "epoch", "-m", "Llama-3.1-70B", "-g", "H200", "-n", "8", "-b",
                     "64", "--precision", "kv_cache=fp8"])
    assert code == 2
    assert "--precision needs --semantics serving" in capsys.readouterr().err


def test_sweep_uses_the_precision(tmp_path):
    out = tmp_path / "s.parquet"
    assert cli.main(["sweep", "--semantics", "serving", "-m", "Llama-3.1-70B", "-g", "H200", "-n", "8",
                     "-b", "1", "64", "--context", "2048", "--tp", "8", "--precision",
                     "attention=fp8,kv_cache=fp8", "--out", str(out)]) == 0
    want = isw.sweep("Llama-3.1-70B", "H200", n_gpus=8, batch_size=[1, 64], context_len=2048,
                     semantics="serving", tp=8, precision=isw.Precision(attention="fp8", kv_cache="fp8"))
    got = pl.read_parquet(out)
    assert got["token_latency_s"].to_list() == want["token_latency_s"].to_list()
    assert got["weights_gb_per_gpu"].to_list() == want["weights_gb_per_gpu"].to_list()
