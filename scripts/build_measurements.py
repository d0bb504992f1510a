# ruff: noqa: E501  (a table of data rows: one measurement per call reads best unwrapped)
"""Write python/infersweep/data/measured_deployments.csv from the raw rows below.

The rows are copied from their sources (each row's ``source`` says where: repository + commit +
file, or URL + date); every derived number is computed here from the row's raw columns by the
formula stored next to it in ``<column>_how`` (infersweep.data.derive, the one evaluator), so the
CSV never holds a hand-computed number. Edit the rows here and re-run (with infersweep installed, e.g. `maturin develop`):

    python scripts/build_measurements.py

docs/measurements.md describes the schema and the caveats (A.0 of the team's compilation:
three kinds of per-user speed, in-flight batching mixes prefill into TPOT, speculative decoding).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from infersweep.data import MEASURED, SCHEMA, SCHEMA_VERSION, derive

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "python" / "infersweep" / "data" / "measured_deployments.csv"

# --- sources ---------------------------------------------------------------------------------------
MLP51 = "mlcommons/inference_results_v5.1 @ 965182b03376a00fcae415c54e560e1c83937932"
MLP41 = "mlcommons/inference_results_v4.1 @ a2f5d66d17e8f75c02fd74dfe810ecca6a046696"
TRT_P06 = ("NVIDIA/TensorRT-LLM @ 138f96d45f90b9667426f7c47297d8c06bafac73: docs/source/performance.md "
           "(TensorRT-LLM v0.6.1 H100 FP8 table; L40S FP8 v0.5; A100 FP16; gptSessionBenchmark, static "
           "batch; H100 engines built with --enable_fp8 --fp8_kv_cache per the same file)")
TRT_H200 = ("NVIDIA/TensorRT-LLM @ 1555478c1b417a0b34de05209862ea5a2ab9add1: docs/source/blogs/H200launch.md "
            "('H200 FP8 Max throughput' table, TensorRT-LLM v0.5.0, TensorRT v9.1.0.4)")
TRT_BP = ("NVIDIA/TensorRT-LLM @ 01c4ece911eb569e72cf4177f83238a0520641c2: docs/source/blogs/"
          "Best_perf_practice_on_DeepSeek-R1_in_TensorRT-LLM.md (expected-results blocks)")
TRT_B1 = ("NVIDIA/TensorRT-LLM @ 01c4ece911eb569e72cf4177f83238a0520641c2: docs/source/blogs/tech_blog/"
          "blog1_Pushing_Latency_Boundaries_Optimizing_DeepSeek-R1_Performance_on_NVIDIA_B200_GPUs.md")
TRT_PO = ("NVIDIA/TensorRT-LLM @ 00f37686aa854010d68bcbd0f4ab000221541ca6: docs/source/performance/"
          "perf-overview.md ('Total Output Throughput (tokens/sec)', trtllm-bench throughput, PyTorch "
          "backend, max load)")
COMPILED = "Copied from the team's compilation (measured_deployments.md), which read the primary source. "

# --- formulas (the only arithmetic in the dataset) --------------------------------------------------
PER_GPU = "throughput_tok_s / n_gpus"
TOTAL = "throughput_tok_s_per_gpu * n_gpus"
USER_A = "1000 / tpot_ms"
BATCH_A = "throughput_tok_s * tpot_ms / 1000 / instances"  # sequences decoding at once (each emits 1 per TPOT)
STEP_A = "tpot_ms"
BATCH_B = "concurrency / instances"
STEP_B = "1000 / per_user_tok_s"  # includes TTFT: an upper bound on TPOT (kind b)
BATCH_C = "batch_size"
STEP_C = "1000 * batch_size * instances / throughput_tok_s"  # includes prefill (kind c)
STEP_D = "1000 * instances / throughput_tok_s"  # saturation: an instance's time per output token (kind d)
USER_C = "throughput_tok_s / instances / batch_size"

DEFAULTS: dict[str, Any] = {c: None for c in SCHEMA}
DEFAULTS.update({c: "" for c, t in SCHEMA.items() if str(t) == "String"})
DEFAULTS.update(schema_version=SCHEMA_VERSION, confidence="V", workload_confidence="V", pp=1,
                spec_decoding="none", per_user_kind="")

ROWS: list[dict[str, Any]] = []


def row(**kw: Any) -> None:
    r = dict(DEFAULTS)
    unknown = set(kw) - set(r)
    if unknown:
        raise KeyError(f"unknown columns {sorted(unknown)}")
    r.update(kw)
    ROWS.append(r)


# --- MLPerf Inference v5.1, Server and Interactive (A.1 of the compilation) -------------------------
L405_ISL, L8_ISL, DSR1_ISL = 9400.0, 780.0, 800.0  # dataset input means, [M] (recalled, not checked)
#: Llama-2-70B (OpenOrca, 24,576 samples): the mean of tok_input_length — the official
#: open_orca_gpt4_tokenized_llama.sampled_24576.pkl's own token count, prompt template included — over a
#: stratified sample of 480 rows (120 from each of the file's four origin blocks, 6,144 rows each,
#: which processorca.py concatenates cot, flan, niv, t0: block means 119, 157, 243, 302, standard
#: error of the mean 6) of openshift-psap/performance-dashboard @ 7cd1065d1e2c53ee745cbda08e2a8f13a42c93bb:
#: mlperf-data/summaries/llama2-70b-99.csv (written from that pickle by its
#: mlperf-data/original/generate_dataset_summaries.py). It replaces the 850 recalled before (tag M),
#: which the memory of the Nebius H200 and AMD MI300X configs already contradicted
#: (docs/measurements.md).
LLAMA2_ISL = 205.0
LLAMA2_ISL_NOTE = ("ISL = 205, the dataset's mean tok_input_length estimated from a stratified 480-row sample "
                   "of a third-party summary of the official pickle (scripts/build_measurements.py, LLAMA2_ISL) [S]")


def mlperf51(ident: str, model: str, cat: str | None, scenario: str, submitter: str, system: str,
             bench: str, n: int, gpi: int | None, fw: str, wp: str, kv: str, tp: int | None,
             tok_s: float, tpot: float, p99: float, ttft: float, osl: float, isl: float | None,
             notes: str, *, ep: int | None = None, adp: int | None = None, pp: int | None = 1,
             fwv: str = "", expert: str = "", attn: str = "") -> None:
    path = f"closed/{submitter}/results/{system}/{bench}/{scenario.capitalize()}/performance/run_1/mlperf_log_summary.txt"
    row(id=ident, source_id="MLPerf-v5.1", source=f"{MLP51}: {path}; layout and precision from the "
        f"submitter's configs. {COMPILED.strip()}", source_date="2025-09-09", workload_confidence="M",
        model=model, model_catalog=cat or "", hardware=system, gpu_catalog=GPU[system.split("_")[0]],
        n_gpus=n, gpus_per_instance=gpi, instances=None if gpi is None else n // gpi, framework=fw,
        framework_version=fwv, weight_precision=wp, expert_precision=expert, attention_precision=attn,
        kv_precision=kv, tp=tp, pp=pp if tp is not None else None, ep=ep, attention_dp=adp,
        scenario=scenario, batching="in_flight", isl=isl, osl=osl, osl_how=MEASURED, per_user_kind="a",
        tpot_ms=tpot,
        tpot_ms_how=MEASURED, tpot_p99_ms=p99, ttft_ms=ttft, throughput_tok_s=tok_s,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_tok_s_how=USER_A,
        decode_batch_how=BATCH_A if gpi is not None else "", measured_step_ms_how=STEP_A,
        notes=notes + " OSL = output tokens per request as logged (tokens/s / samples/s) [D]; ISL is the "
        "dataset's input mean [M]. In-flight batching: prefill of arriving requests is mixed into TPOT.")


GPU = {"B200-SXM-180GBx8": "B200", "GB200-NVL72": "GB200-NVL72", "GB300-NVL72": "GB300-NVL72",
       "H200-SXM-141GBx8": "H200-SXM", "8xMI300X": "MI300X", "8xMI325X": "MI325X",
       "HGX-H100": "H100-SXM", "D74U-7U": "H200-SXM", "XE8640": "H100-SXM",
       "IBM": "L40S", "HPE": "H200-SXM", "B200-SXM-180GBx1": "B200", "DGX-H100": "H100-SXM",
       "MI355X": "MI355X", "RTX": "", "H100-SXM": "H100-SXM", "H200-SXM": "H200-SXM",
       "1xMI300X": "MI300X"}
ADP = "Attention data-parallel over the 8 GPUs of an instance (TensorRT-LLM tp_size 8 with attention DP), MoE EP8."
TRT = "TensorRT-LLM"
DS, L2, L405, L8, MX = "DeepSeek-R1", "Llama-2-70B", "Llama-3.1-405B", "Llama-3.1-8B", "Mixtral-8x7B-v0.1"

mlperf51("MLP51-M1", "deepseek-r1", DS, "server", "NVIDIA", "B200-SXM-180GBx8_TRT", "deepseek-r1", 8, 8, TRT,
         "fp4", "fp8", 1, 18592, 66.5, 72.2, 726, 3748, DSR1_ISL, ADP + " Max batch 512 per rank; no spec "
         "decoding in the config.", ep=8, adp=8, expert="nvfp4")
mlperf51("MLP51-M2", "deepseek-r1", DS, "server", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x72_TRT",
         "deepseek-r1", 72, 8, TRT, "fp4", "fp8", 1, 167578, 69.6, 64.5, 659, 3744, DSR1_ISL,
         "9 instances. " + ADP + " p99 TPOT below the mean as logged [?].", ep=8, adp=8)
mlperf51("MLP51-M3", "deepseek-r1", DS, "server", "NVIDIA", "GB300-NVL72_GB300-288GB_aarch64x72_TRT",
         "deepseek-r1", 72, 8, TRT, "fp4", "fp8", 1, 209328, 63.7, 70.8, 780, 3676, DSR1_ISL,
         "9 instances. " + ADP,
         ep=8, adp=8)
mlperf51("MLP51-M4", "llama2-70b-99", L2, "interactive", "NVIDIA", "B200-SXM-180GBx8_TRT", "llama2-70b-99", 8,
         1, TRT, "fp4", "", 1, 59545, 34.2, 38.1, 69, 272, LLAMA2_ISL, "TP1 x 8 replicas, max batch 768.")
mlperf51("MLP51-M5", "llama2-70b-99", L2, "interactive", "Nebius", "H200-SXM-141GBx8_TRT", "llama2-70b-99", 8,
         1, TRT, "fp8", "", 1, 23080, 37.1, 39.6, 138, 292, LLAMA2_ISL, "TP1 x 8 replicas, max batch 512.")
mlperf51("MLP51-M6", "llama2-70b-99", L2, "interactive", "AMD", "8xMI300X_2xEPYC_9575F", "llama2-70b-99", 8, 1,
         "vLLM", "fp8", "", 1, 8840, 32.1, 39.5, 201, 301, LLAMA2_ISL, "TP1 x 8, max_num_seqs 600.")
mlperf51("MLP51-M7", "llama2-70b-99", L2, "interactive", "Vultr", "8xMI325X_2xEPYC_9554", "llama2-70b-99", 8, 1,
         "vLLM", "fp8", "", 1, 17710, 34.6, 38.9, 113, 301, LLAMA2_ISL, "TP1 x 8 assumed from AMD's harness [?].")
mlperf51("MLP51-M8", "llama2-70b-99", L2, "interactive", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x4_TRT",
         "llama2-70b-99", 4, 1, TRT, "fp4", "", 1, 29746, 30.6, 33.6, 58, 272, LLAMA2_ISL,
         "TP1 x 4 assumed (config not opened) [?].")
mlperf51("MLP51-M9", "llama2-70b-99", L2, "server", "NVIDIA", "B200-SXM-180GBx8_TRT", "llama2-70b-99", 8, 1, TRT,
         "fp4", "fp8", 1, 99123, 123.3, 132.4, 246, 274, LLAMA2_ISL, "TP1 x 8.")
mlperf51("MLP51-M11", "llama2-70b-99", L2, "server", "AMD", "8xMI300X_2xEPYC_9575F", "llama2-70b-99", 8, 1,
         "vLLM", "fp8", "", 1, 24594, 144.6, 193.4, 918, 301, LLAMA2_ISL, "TP1 x 8, max_num_seqs 650.")
mlperf51("MLP51-M12", "llama2-70b-99", L2, "server", "Vultr", "8xMI325X_2xEPYC_9554", "llama2-70b-99", 8, 1,
         "vLLM", "fp8", "", 1, 30339, 113.3, 135.7, 933, 300, LLAMA2_ISL, "TP1 x 8 (max_num_seqs 1024 in "
         "AMD's harness).")
mlperf51("MLP51-M13", "llama2-70b-99", L2, "server", "Cisco", "HGX-H100_H100-SXM-80GBx16_TRT", "llama2-70b-99",
         16, None, TRT, "fp8", "", None, 61101, 142.5, 145.2, 426, 293, LLAMA2_ISL,
         "2 nodes; TP/PP not checked, so the instance size is unknown.")
mlperf51("MLP51-M14", "llama2-70b-99", L2, "server", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x4_TRT",
         "llama2-70b-99", 4, 1, TRT, "fp4", "", 1, 49360, 115.9, 129.9, 218, 277, LLAMA2_ISL,
         "TP1 x 4 assumed (config not opened) [?].")
mlperf51("MLP51-M15", "llama3.1-405b", L405, "interactive", "NVIDIA", "B200-SXM-180GBx8_TRT", "llama3.1-405b", 8,
         4, TRT, "fp4", "fp8", 4, 751, 62.3, 77.7, 1000, 653, L405_ISL, "TP4 x 2 instances, max batch 256.")
mlperf51("MLP51-M17", "llama3.1-405b", L405, "interactive", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x72_TRT",
         "llama3.1-405b", 72, 4, TRT, "fp4", "fp8", 4, 9921, 66.2, 72.2, 1365, 654, L405_ISL,
         "TP4 x 18 instances.")
mlperf51("MLP51-M18", "llama3.1-405b", L405, "server", "NVIDIA", "B200-SXM-180GBx8_TRT", "llama3.1-405b", 8, 4,
         TRT, "fp4", "fp8", 4, 1240, 101.3, 138.2, 1626, 653, L405_ISL, "TP4 x 2 instances, max batch 256.")
mlperf51("MLP51-M20", "llama3.1-405b", L405, "server", "NVIDIA", "GB200-NVL72_GB200-186GB_aarch64x72_TRT",
         "llama3.1-405b", 72, 4, TRT, "fp4", "fp8", 4, 11614, 104.3, 128.0, 1441, 655, L405_ISL,
         "TP4 x 18 instances (the config also lists a TP2xPP2 variant) [?].")
mlperf51("MLP51-M21", "llama3.1-405b", L405, "server", "NVIDIA", "GB300-NVL72_GB300-288GB_aarch64x72_TRT",
         "llama3.1-405b", 72, 2, TRT, "fp4", "fp8", 2, 12248, 75.7, 100.1, 1779, 629, L405_ISL,
         "TP2 x 36 instances, max batch 2048.")
mlperf51("MLP51-M22", "llama3_1-405b", L405, "server", "Cisco", "HGX-H100_H100-SXM-80GBx16_TRT", "llama3.1-405b",
         16, None, TRT, "fp8", "", None, 563, 66.7, 99.5, 1484, 626, L405_ISL,
         "2 nodes; TP/PP not checked, so the instance size is unknown.")
mlperf51("MLP51-M23", "llama3.1-8b", L8, "interactive", "NVIDIA", "B200-SXM-180GBx8_TRT", "llama3.1-8b", 8, 1, TRT,
         "fp4", "fp8", 1, 102903, 23.4, 27.9, 113, 129, L8_ISL, "TP1 x 8, max batch 6000.")
mlperf51("MLP51-M24", "llama3.1-8b", L8, "interactive", "Quanta_Cloud_Technology",
         "D74U-7U_H200-SXM-141GBx8_TRT", "llama3.1-8b", 8, 1, TRT, "fp8", "", 1, 54118, 22.7, 26.2, 63, 129,
         L8_ISL, "TP1 x 8 assumed (config not opened) [?].")
mlperf51("MLP51-M25", "llama3.1-8b", L8, "server", "RedHat", "XE8640_4xH100_vLLM", "llama3.1-8b", 1, 1, "vLLM",
         "fp8", "", 1, 5104, 23.1, 25.1, 359, 129, L8_ISL, "One H100 of the 4-GPU system, TP1.", fwv="0.10.0")
mlperf51("MLP51-M26", "llama3.1-8b", L8, "server", "RedHat", "IBM_Cloud_gx3-48x240x2l40s_vLLM", "llama3.1-8b", 1,
         1, "vLLM", "fp8", "", 1, 1207, 48.3, 97.1, 124, 129, L8_ISL, "One L40S, TP1.", fwv="0.10.0")
mlperf51("MLP51-M27", "mixtral-8x7b", MX, "server", "HPE", "HPE_Cray_XD670_H200_SXM_141GBx8_TRT", "mixtral-8x7b",
         8, None, TRT, "fp8", "", None, 60955, 175.2, 198.6, 339, 147, None,
         "Layout not checked; the dataset's input mean is not in the sources read.")
mlperf51("MLP51-M28", "mixtral-8x7b", MX, "server", "AMD", "8xMI300X_2xEPYC_9575F", "mixtral-8x7b", 8, None,
         "vLLM", "fp8", "", None, 47804, 123.6, 151.8, 762, 144, None,
         "Layout not checked; the dataset's input mean is not in the sources read.")


# --- MLPerf v5.1 Server/Interactive read in the logs and configs (Nebius) ---------------------------
FORK51 = "ntuhpc/inference_results_v5.1 @ a634ab772637c2d940cfef45fae86553211f525b"
FORK51_NOTE = ("(ntuhpc's repository is a fork carrying mlcommons/inference_results_v5.1 @ "
               "965182b03376a00fcae415c54e560e1c83937932, whose results tree the index does not hold)")


def log51(ident: str, model: str, cat: str, scenario: str, system: str, bench: str, cfg: str, gpi: int,
          wp: str, sps: float, tok_s: float, lat_ns: float, ttft_ns: float, tpot_ns: float, p99_ns: float,
          isl: float, notes: str) -> None:
    path = f"closed/Nebius/results/{system}/{bench}/{scenario.capitalize()}/performance/run_1/mlperf_log_summary.txt"
    row(id=ident, source_id="MLPerf-v5.1", source=f"{FORK51}: {path}; layout, precision and CUDA graphs "
        f"from closed/Nebius/configs/{cfg} {FORK51_NOTE}", source_date="2025-09-09", workload_confidence="M", model=model,
        model_catalog=cat, hardware=system, gpu_catalog=GPU[system.split("_")[0]], n_gpus=8,
        gpus_per_instance=gpi, instances=8 // gpi, framework=TRT, weight_precision=wp, kv_precision="fp8",
        tp=gpi, pp=1, cuda_graphs=False, scenario=scenario, batching="in_flight", isl=isl,
        osl_how="throughput_tok_s / samples_per_s", per_user_kind="a", tpot_ms=tpot_ns / 1e6,
        tpot_ms_how=MEASURED, tpot_p99_ms=p99_ns / 1e6, ttft_ms=ttft_ns / 1e6, throughput_tok_s=tok_s,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_tok_s_how=USER_A,
        samples_per_s=sps, mean_latency_ms=lat_ns / 1e6, decode_batch_how=BATCH_A, measured_step_ms_how=STEP_A,
        notes=notes + " Read in the log and config (kv_cache_dtype fp8, use_graphs False, chunked context). "
        "OSL = tokens/s / samples/s [D]; ISL is the dataset's input mean [M].")


log51("MLP51-M10", "llama2-70b-99", L2, "server", "H200-SXM-141GBx8_TRT", "llama2-70b-99",
      "H200-SXM-141GBx8/Server/llama2-70b.py", 1, "fp8", 115.59, 34029.38, 54547145666, 589944180, 184197903,
      195578381, LLAMA2_ISL, "TP1 x 8, gpu_batch_size 2048, max_num_tokens 1536.")
log51("MLP51-M16", "llama3.1-405b", L405, "interactive", "H200-SXM-141GBx8_TRT", "llama3.1-405b",
      "H200-SXM-141GBx8/Interactive/llama3_1-405b.py", 8, "fp8", 0.31, 202.78, 30113034709, 1518542387,
      44273454, 74379707, L405_ISL, "TP8, one instance, runtime max_batch_size 64.")
log51("MLP51-M19", "llama3.1-405b", L405, "server", "H200-SXM-141GBx8_TRT", "llama3.1-405b",
      "H200-SXM-141GBx8/Server/llama3_1-405b.py", 8, "fp8", 0.45, 295.36, 38038254686, 1826286556, 56181492,
      103435731, L405_ISL, "TP8, runtime max_batch_size 64.")
log51("MLP51-N1", "llama2-70b-99.9", L2, "server", "B200-SXM-180GBx8_TRT", "llama2-70b-99.9",
      "B200-SXM-180GBx8/Server/llama2-70b.py", 1, "fp4", 370.39, 101610.58, 40257643356, 570605549,
      145357635, 155397059, LLAMA2_ISL, "Nebius. TP1 x 8, gpu_batch_size 2048, max_num_tokens 3584.")
log51("MLP51-N2", "llama3.1-405b", L405, "server", "B200-SXM-180GBx8_TRT", "llama3.1-405b",
      "B200-SXM-180GBx8/Server/llama3_1-405b.py", 4, "fp4", 1.95, 1279.53, 71098521913, 1740977739,
      106047275, 143316958, L405_ISL, "Nebius. TP4 x 2 instances, gpu_batch_size 256.")
log51("MLP51-N3", "llama3.1-405b", L405, "interactive", "B200-SXM-180GBx8_TRT", "llama3.1-405b",
      "B200-SXM-180GBx8/Interactive/llama3_1-405b.py", 4, "fp4", 1.18, 770.67, 42190788040, 1008648482,
      63142047, 78790749, L405_ISL, "Nebius. TP4 x 2 instances, gpu_batch_size 256, max_num_tokens 1536.")


# --- MLPerf v5.1 Offline (summary_results.json): throughput only, no batch -------------------------
def offline51(ident: str, model: str, cat: str, gpu: str, n: int, wp: str, tok_s: float, who: str,
              fw: str = TRT, notes: str = "", gpi: int | None = None, tp: int | None = None,
              pp: int | None = None, fwv: str = "") -> None:
    row(id=ident, source_id="MLPerf-v5.1", source=f"{MLP51}: summary_results.json ({who}). {COMPILED.strip()}",
        source_date="2025-09-09", workload_confidence="M", model=model, model_catalog=cat, hardware=gpu,
        gpu_catalog=GPU.get(gpu, ""), n_gpus=n, gpus_per_instance=gpi,
        instances=None if gpi is None else n // gpi, framework=fw, framework_version=fwv,
        weight_precision=wp, tp=tp, pp=pp, scenario="offline", batching="in_flight",
        throughput_tok_s=tok_s, throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU,
        notes=(notes + " " if notes else "") + "Offline: all queries at once, no latency limit; the decode "
        "batch is not logged.")


for ident, model, cat, gpu, n, wp, tok_s, who, kw in [
    ("MLP51-O1", "deepseek-r1", DS, "B200-SXM-180GBx8", 8, "fp4", 33379, "NVIDIA 5.1-0069", {}),
    ("MLP51-O2", "deepseek-r1", DS, "GB200-NVL72", 72, "fp4", 289712, "NVIDIA 5.1-0071", {}),
    ("MLP51-O3", "deepseek-r1", DS, "GB300-NVL72", 72, "fp4", 420659, "NVIDIA 5.1-0072", {}),
    ("MLP51-O4", "llama2-70b-99", L2, "B200-SXM-180GBx8", 8, "fp4", 102909, "Lenovo 5.1-0061", {}),
    ("MLP51-O5", "llama2-70b-99", L2, "H200-SXM", 8, "fp8", 35317, "Dell 5.1-0026", {}),
    ("MLP51-O6", "llama2-70b-99", L2, "H200-SXM", 8, "fp8", 34812, "Nebius 5.1-0075", {}),
    ("MLP51-O7", "llama2-70b-99", L2, "H100-SXM", 16, "fp8", 62352, "Cisco 5.1-0015", {}),
    ("MLP51-O8", "llama2-70b-99", L2, "8xMI300X", 8, "fp8", 27854, "MangoBoost 5.1-0066", {"fw": ""}),
    ("MLP51-O9", "llama2-70b-99", L2, "8xMI325X", 8, "fp8", 34555, "AMD 5.1-0003", {"fw": "vLLM"}),
    ("MLP51-O10", "llama2-70b-99", L2, "MI355X", 8, "mxfp4", 93046, "AMD 5.1-0098, open division",
     {"fw": "vLLM"}),
    ("MLP51-O11", "llama2-70b-99", L2, "RTX", 8, "fp4", 26206, "HPE 5.1-0051, RTX PRO 6000 Blackwell", {}),
    ("MLP51-O12", "llama3.1-405b", L405, "B200-SXM-180GBx8", 8, "fp4", 1661, "Dell 5.1-0028", {}),
    ("MLP51-O13", "llama3.1-405b", L405, "GB200-NVL72", 72, "fp4", 14774, "NVIDIA 5.1-0071", {}),
    ("MLP51-O14", "llama3.1-405b", L405, "GB300-NVL72", 72, "fp4", 16104, "NVIDIA 5.1-0072", {}),
    ("MLP51-O15", "llama3.1-405b", L405, "H200-SXM", 8, "fp8", 553, "Nebius 5.1-0075",
     {"gpi": 8, "tp": 4, "pp": 2, "notes": "TP4 x PP2."}),
    ("MLP51-O16", "llama3.1-405b", L405, "H100-SXM", 16, "fp8", 783, "Cisco 5.1-0015", {}),
    ("MLP51-O17", "llama3.1-405b", L405, "MI355X", 8, "mxfp4", 2019, "AMD 5.1-0100, open division",
     {"fw": "vLLM"}),
    ("MLP51-O18", "llama3.1-8b", L8, "B200-SXM-180GBx8", 8, "fp4", 146960, "Lenovo 5.1-0062", {}),
    ("MLP51-O19", "llama3.1-8b", L8, "H200-SXM", 8, "fp8", 66037, "HPE 5.1-0049", {}),
    ("MLP51-O20", "llama3.1-8b", L8, "H100-SXM", 1, "fp8", 5777, "RedHat 5.1-0083",
     {"fw": "vLLM", "fwv": "0.10.0", "gpi": 1, "tp": 1, "pp": 1}),
    ("MLP51-O21", "llama3.1-8b", L8, "IBM", 1, "fp8", 1642, "RedHat 5.1-0082, L40S",
     {"fw": "vLLM", "fwv": "0.10.0", "gpi": 1, "tp": 1, "pp": 1}),
    ("MLP51-O22", "mixtral-8x7b", MX, "H200-SXM", 8, "fp8", 62108, "HPE 5.1-0049", {}),
    ("MLP51-O23", "mixtral-8x7b", MX, "8xMI300X", 8, "fp8", 53334, "Dell 5.1-0027", {"fw": ""}),
    ("MLP51-O24", "mixtral-8x7b", MX, "8xMI325X", 8, "fp8", 70036, "Vultr 5.1-0096", {"fw": "vLLM"}),
]:
    offline51(ident, model, cat, gpu, n, wp, tok_s, who, **kw)


# --- MLPerf Inference v4.1, Server (read in the logs and configs) -----------------------------------
def mlperf41(ident: str, model: str, cat: str, system: str, bench: str, n: int, gpi: int | None,
             tp: int | None, wp: str, sps: float, tok_s: float, lat_ns: float, ttft_ns: float,
             tpot_ns: float, p99_ns: float, isl: float | None, notes: str, conf: str = "V",
             submitter: str = "NVIDIA", fw: str = TRT, cfg: str | None = None, kv: str = "",
             act: str = "") -> None:
    path = f"closed/{submitter}/results/{system}/{bench}/Server/performance/run_1/mlperf_log_summary.txt"
    if cfg is None:
        cfg = ("closed/NVIDIA/configs/llama2-70b/Server/__init__.py" if bench.startswith("llama2")
               else "closed/NVIDIA/configs/mixtral-8x7b/__init__.py")
    row(id=ident, source_id="MLPerf-v4.1", source=f"{MLP41}: {path}; layout and precision from {cfg}",
        source_date="2024-08-28", confidence=conf, workload_confidence="M", model=model, model_catalog=cat,
        hardware=system, gpu_catalog=GPU[system.split("_")[0]], n_gpus=n, gpus_per_instance=gpi,
        instances=None if gpi is None else n // gpi, framework=fw, weight_precision=wp, kv_precision=kv,
        activation_precision=act, tp=tp,
        pp=None if tp is None else 1, cuda_graphs=None, scenario="server", batching="in_flight",
        isl=isl, osl_how="throughput_tok_s / samples_per_s", per_user_kind="a", tpot_ms=tpot_ns / 1e6,
        tpot_ms_how=MEASURED, tpot_p99_ms=p99_ns / 1e6, ttft_ms=ttft_ns / 1e6, throughput_tok_s=tok_s,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_tok_s_how=USER_A,
        samples_per_s=sps, mean_latency_ms=lat_ns / 1e6,
        decode_batch_how=BATCH_A if gpi is not None else "", measured_step_ms_how=STEP_A,
        notes=notes + " OSL = completed tokens/s / samples/s [D]; ISL is the dataset's input mean [M]. "
        "Little's law in flight = samples_per_s * mean_latency_ms / 1000 (includes queued and prefilling "
        "requests).")


mlperf41("MLP41-1", "llama2-70b-99.9", L2, "DGX-H100_H100-SXM-80GBx8_TRT", "llama2-70b-99.9", 8, 2, 2, "fp8",
         74.42, 21605.79, 44954547225, 275926440, 154960329, 175354317, LLAMA2_ISL,
         "Config H100_SXM_80GB_TP2x4(_HighAccuracy): tensor_parallelism 2, 4 instances, use_fp8, "
         "gpu_batch_size 1024, server_target_qps 75.")
mlperf41("MLP41-2", "llama2-70b-99", L2, "H200-SXM-141GBx8_TRT", "llama2-70b-99", 8, 1, 1, "fp8",
         100.35, 29228.22, 35854894885, 198269106, 123263268, 146040006, LLAMA2_ISL,
         "Config H200_SXM_141GBx8: tensor_parallelism 1 (8 instances), use_fp8, gpu_batch_size 896.")
mlperf41("MLP41-3", "llama2-70b-99.9", L2, "B200-SXM-180GBx1_TRT", "llama2-70b-99.9", 1, 1, 1, "fp4",
         39.25, 10755.59, 35975781094, 208804128, 131536562, 151920554, LLAMA2_ISL,
         "Preview B200, one GPU. The B200 config is not in the file read: TP1 follows from one GPU; FP4 "
         "weights as NVIDIA reported for this preview submission [M].", conf="?")
mlperf41("MLP41-4", "mixtral-8x7b", MX, "H200-SXM-141GBx8_TRT", "mixtral-8x7b", 8, None, None, "fp8",
         391.79, 57177.20, 20222944271, 227612110, 138388730, 167039660, None,
         "The Server config of this system was not in the files read (layout unknown); FP8 [M]; "
         "use_graphs False in the Mixtral base config.")
mlperf41("MLP41-5", "mixtral-8x7b", MX, "DGX-H100_H100-SXM-80GBx8_TRT", "mixtral-8x7b", 8, None, None, "fp8",
         348.06, 50795.57, 15015963772, 180021403, 102590339, 123136641, None,
         "The Server config of this system was not in the files read (layout unknown); FP8 [M].")


AMD_CFG = ("closed/AMD/code/llama2-70b-99/README.md (Quark w_fp8_a_fp8_o_fp8 quantisation, FP8 KV-cache "
           "scales, vLLM)")
mlperf41("MLP41-6", "llama2-70b-99.9", L2, "1xMI300X_2xEPYC-9374F", "llama2-70b-99.9", 1, 1, 1, "fp8",
         8.59, 2520.27, 45213988589, 401873796, 153377770, 190298723, LLAMA2_ISL,
         "One MI300X (TP1 by construction).", submitter="AMD", fw="vLLM", cfg=AMD_CFG, kv="fp8", act="fp8")
mlperf41("MLP41-7", "llama2-70b-99", L2, "8xMI300X_2xEPYC-9374F", "llama2-70b-99", 8, 1, 1, "fp8",
         71.74, 21028.23, 42835428215, 1006329670, 143097185, 197873909, LLAMA2_ISL,
         "TP1 x 8 instances assumed (the v4.1 scripts read do not show the layout; AMD's v5.1 harness "
         "runs TP1 x 8) [?].", conf="?", submitter="AMD", fw="vLLM", cfg=AMD_CFG, kv="fp8", act="fp8")
mlperf41("MLP41-8", "llama2-70b-99", L2, "8xMI300X_2xEPYC-TURIN", "llama2-70b-99", 8, 1, 1, "fp8",
         74.96, 22020.92, 42927606153, 1038388748, 143074787, 198676867, LLAMA2_ISL,
         "TP1 x 8 instances assumed (as MLP41-7) [?].", conf="?", submitter="AMD", fw="vLLM", cfg=AMD_CFG,
         kv="fp8", act="fp8")

# --- vLLM on 8 x MI300X, static batches (vLLM benchmark_latency.py) ---------------------------------
ORACLE = ("https://blogs.oracle.com/cloud-infrastructure/post/serving-llama-31-405b-model-with-amd-mi300x-gpus "
          "(Oracle blog 'Serving Llama 3.1 405B model with AMD Instinct MI300X Accelerators', 'Latency "
          "measurements' table: vLLM benchmark_latency.py, input 128, output 128 tokens)")
for i, (b, tok, lat_s) in enumerate([(1, 36, 3.530), (2, 71, 3.583), (4, 137, 3.734), (8, 258, 3.974),
                                      (16, 468, 4.375), (32, 798, 5.130), (64, 1184, 6.919),
                                      (128, 1585, 10.340), (256, 1846, 17.750)], 1):
    row(id=f"OCI-405B-{i}", source_id="OCI-MI300X", source=ORACLE, source_date="2024-10-10",
        model="Llama 3.1 405B FP8", model_catalog=L405, hardware="BM.GPU.MI300X.8", gpu_catalog="MI300X",
        n_gpus=8, gpus_per_instance=8, instances=1, framework="vLLM", weight_precision="fp8", tp=8, pp=1,
        scenario="static", batching="static", isl=128, osl=128, batch_size=b, per_user_kind="c",
        throughput_tok_s=tok, throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU,
        mean_latency_ms=lat_s * 1000, per_user_tok_s_how=USER_C, decode_batch_how=BATCH_C,
        measured_step_ms_how=STEP_C,
        notes="One instance on all 8 GPUs (TP8 per the blog's 'single instance ... all eight GPUs'). "
        "Static batch of b prompts: mean_latency_ms / osl is the same step time within rounding. KV "
        "precision not stated.")

# --- TensorRT-LLM static-batch tables (gptSessionBenchmark) -----------------------------------------
def static(ident: str, source_id: str, source: str, date: str, model: str, cat: str, hw: str, gpu: str,
           tp: int, batch: int, isl: int, osl: int, tok: float, per_gpu: bool, wp: str, kv: str,
           version: str, notes: str = "") -> None:
    row(id=ident, source_id=source_id, source=source, source_date=date, model=model, model_catalog=cat,
        hardware=hw, gpu_catalog=gpu, n_gpus=tp, gpus_per_instance=tp, instances=1, framework=TRT,
        framework_version=version, weight_precision=wp, kv_precision=kv, tp=tp, pp=1, scenario="static",
        batching="static", isl=isl, osl=osl, batch_size=batch, per_user_kind="c",
        throughput_tok_s=None if per_gpu else tok, throughput_tok_s_how=TOTAL if per_gpu else MEASURED,
        throughput_tok_s_per_gpu=tok if per_gpu else None,
        throughput_tok_s_per_gpu_how=MEASURED if per_gpu else PER_GPU, per_user_tok_s_how=USER_C,
        decode_batch_how=BATCH_C, measured_step_ms_how=STEP_C,
        notes=(notes + " " if notes else "") + "Static batch: output tokens / (prefill + decode time), so "
        "the step time derived from it includes the prefill (kind c, an upper bound on TPOT).")


H100_ROWS = [  # model, catalog, batch, tp, isl, osl, out tok/s/GPU
    ("GPT-J 6B", "GPT-J-6B", 1024, 1, 128, 128, 26150), ("GPT-J 6B", "GPT-J-6B", 120, 1, 128, 2048, 8011),
    ("GPT-J 6B", "GPT-J-6B", 64, 1, 2048, 128, 2551), ("GPT-J 6B", "GPT-J-6B", 64, 1, 2048, 2048, 3327),
    ("LLaMA 7B", "Llama-2-7B", 768, 1, 128, 128, 19694), ("LLaMA 7B", "Llama-2-7B", 112, 1, 128, 2048, 6818),
    ("LLaMA 7B", "Llama-2-7B", 80, 1, 2048, 128, 2244), ("LLaMA 7B", "Llama-2-7B", 48, 1, 2048, 2048, 2740),
    ("LLaMA 70B", L2, 1024, 2, 128, 128, 2657), ("LLaMA 70B", L2, 480, 4, 128, 2048, 1486),
    ("LLaMA 70B", L2, 96, 2, 2048, 128, 306), ("LLaMA 70B", L2, 64, 2, 2048, 2048, 547),
    ("Falcon 180B", "Falcon-180B-GQA", 1024, 4, 128, 128, 987),
    ("Falcon 180B", "Falcon-180B-GQA", 1024, 8, 128, 2048, 724),
    ("Falcon 180B", "Falcon-180B-GQA", 64, 4, 2048, 128, 112),
    ("Falcon 180B", "Falcon-180B-GQA", 64, 4, 2048, 2048, 264),
]
NAME_NOTE = "'LLaMA 7B/70B' are the Llama-2 models (the file's methodology names Llama2-7b and Llama2-70b)."
for i, (m, cat, b, tp, isl, osl, tok) in enumerate(H100_ROWS, 1):
    static(f"TRT-P06-H{i}", "TRT-P06", TRT_P06, "2023-12", m, cat, "H100-SXM-80GB", "H100-SXM", tp, b, isl,
           osl, tok, True, "fp8", "fp8", "0.6.1", NAME_NOTE if "LLaMA" in m else "")
for i, (b, isl, osl, tok) in enumerate([(64, 128, 128, 3240), (64, 128, 2048, 1622), (32, 2048, 128, 581),
                                        (16, 2048, 2048, 531)], 1):
    static(f"TRT-P06-L{i}", "TRT-P06", TRT_P06, "2023-12", "LLaMA 7B", "Llama-2-7B", "L40S", "L40S", 1, b,
           isl, osl, tok, False, "fp8", "fp8", "0.5", NAME_NOTE + " TP1: out tok/s is also per GPU.")
for i, (b, isl, osl, tok) in enumerate([(384, 128, 128, 5586), (60, 128, 2048, 1928), (52, 2048, 128, 591)], 1):
    static(f"TRT-P06-A{i}", "TRT-P06", TRT_P06, "2023-12", "LLaMA 7B", "Llama-2-7B", "A100-SXM-80GB",
           "A100-SXM-80GB", 1, b, isl, osl, tok, False, "fp16", "fp16", "0.6.1",
           NAME_NOTE + " TP1: out tok/s is also per GPU (the file does not say per GPU for A100 rows).")
for i, (m, cat, b, tp, isl, osl, tok) in enumerate([
        ("llama_13b", "Llama-2-13B", 1024, 1, 128, 128, 11819), ("llama_13b", "Llama-2-13B", 128, 1, 128, 2048, 4750),
        ("llama_13b", "Llama-2-13B", 64, 1, 2048, 128, 1349), ("llama_70b", L2, 512, 1, 128, 128, 3014),
        ("llama_70b", L2, 512, 2, 128, 2048, 1654), ("llama_70b", L2, 64, 1, 2048, 128, 341),
        ("llama_70b", L2, 32, 1, 2048, 128, 303)], 1):
    static(f"TRT-H200-{i}", "TRT-H200", TRT_H200, "2023-11", m, cat, "H200-SXM-141GB", "H200-SXM", tp, b, isl,
           osl, tok, True, "fp8", "", "0.5.0", "llama_13b / llama_70b taken as Llama-2 (2023 release) [?].")


# --- TensorRT-LLM v0.9.0 static-batch tables (found with the search tool; not in the compilation) -----
TRT_P09 = ("https://github.com/NVIDIA/TensorRT-LLM/blob/v0.9.0/docs/source/performance.md (read in the search "
           "index's stored revision of NVIDIA/TensorRT-LLM docs/source/performance.md whose tables say 'All data was "
           "generated using version 0.9.0'; the index gives no commit for it, and that it is the file at tag v0.9.0 "
           "was not checked against the tag). 'Peak Throughput' tables, gptSessionBenchmark, static batch, "
           "'Throughput (out tok/s/GPU)'; H200/H100/L40S engines with quant_algo FP8 and kv_cache_quant_algo FP8, "
           "A100 in FP16 (quantization fields removed), per the same file's methodology")
P09_MODELS = {"GPT-J 6B": "GPT-J-6B", "Mistral 7B": "", "Mixtral 8x7B": "Mixtral-8x7B-v0.1",
              "LLaMA 7B": "Llama-2-7B", "LLaMA 70B": L2, "Falcon 180B": "Falcon-180B-GQA"}
P09_NOTE = ("'LLaMA 7B/70B' are the Llama-2 models (the file's methodology names Llama2-7b and Llama2-70b and "
            "gives the 7B config: 32 KV heads, vocab 32000). Mistral 7B is not in the catalog.")
P09_ROWS: dict[tuple[str, str, str], list[tuple[str, int, int, int, int, float]]] = {
    # (GPU tag, hardware, catalog GPU): [(model, batch, tp, isl, osl, out tok/s/GPU)]
    ("H200", "H200-SXM-141GB", "H200-SXM"): [
        ("GPT-J 6B", 1024, 1, 128, 128, 27304), ("GPT-J 6B", 120, 1, 128, 2048, 8530),
        ("GPT-J 6B", 64, 1, 2048, 128, 2785), ("GPT-J 6B", 64, 1, 2048, 2048, 3753),
        ("Mistral 7B", 896, 1, 128, 128, 20460), ("Mistral 7B", 120, 1, 128, 2048, 8950),
        ("Mistral 7B", 64, 1, 2048, 128, 2423), ("Mistral 7B", 56, 1, 2048, 2048, 3867),
        ("Mixtral 8x7B", 1024, 2, 128, 128, 5444), ("Mixtral 8x7B", 256, 2, 128, 2048, 4973),
        ("Mixtral 8x7B", 64, 2, 2048, 128, 605), ("Mixtral 8x7B", 64, 2, 2048, 2048, 1821),
        ("LLaMA 7B", 896, 1, 128, 128, 20618), ("LLaMA 7B", 120, 1, 128, 2048, 8348),
        ("LLaMA 7B", 64, 1, 2048, 128, 2391), ("LLaMA 7B", 56, 1, 2048, 2048, 3522),
        ("LLaMA 70B", 1024, 1, 128, 128, 3989), ("LLaMA 70B", 512, 2, 128, 2048, 3963),
        ("LLaMA 70B", 64, 1, 2048, 128, 418), ("LLaMA 70B", 64, 1, 2048, 2048, 1458),
        ("Falcon 180B", 1024, 4, 128, 128, 1118), ("Falcon 180B", 1024, 4, 128, 2048, 990),
        ("Falcon 180B", 64, 4, 2048, 128, 118), ("Falcon 180B", 64, 4, 2048, 2048, 265)],
    ("H100", "H100-SXM-80GB", "H100-SXM"): [
        ("GPT-J 6B", 1024, 1, 128, 128, 25860), ("GPT-J 6B", 120, 1, 128, 2048, 7350),
        ("GPT-J 6B", 64, 1, 2048, 128, 2570), ("GPT-J 6B", 64, 1, 2048, 2048, 3212),
        ("Mistral 7B", 896, 1, 128, 128, 20404), ("Mistral 7B", 120, 1, 128, 2048, 8623),
        ("Mistral 7B", 84, 1, 2048, 128, 2405), ("Mistral 7B", 56, 1, 2048, 2048, 3731),
        ("Mixtral 8x7B", 512, 2, 128, 128, 5255), ("Mixtral 8x7B", 128, 2, 128, 2048, 3408),
        ("Mixtral 8x7B", 64, 2, 2048, 128, 588), ("Mixtral 8x7B", 32, 2, 2048, 2048, 1317),
        ("LLaMA 7B", 896, 1, 128, 128, 19854), ("LLaMA 7B", 120, 1, 128, 2048, 6944),
        ("LLaMA 7B", 84, 1, 2048, 128, 2163), ("LLaMA 7B", 56, 1, 2048, 2048, 2826),
        ("LLaMA 70B", 1024, 2, 128, 128, 3214), ("LLaMA 70B", 512, 4, 128, 2048, 2725),
        ("LLaMA 70B", 96, 2, 2048, 128, 346), ("LLaMA 70B", 64, 2, 2048, 2048, 1011),
        ("Falcon 180B", 1024, 4, 128, 128, 1100), ("Falcon 180B", 1024, 8, 128, 2048, 837),
        ("Falcon 180B", 64, 4, 2048, 128, 112), ("Falcon 180B", 64, 4, 2048, 2048, 246)],
    ("L40S", "L40S", "L40S"): [
        ("GPT-J 6B", 512, 1, 128, 128, 7859), ("GPT-J 6B", 64, 1, 128, 2048, 1904),
        ("GPT-J 6B", 32, 1, 2048, 128, 684), ("GPT-J 6B", 32, 1, 2048, 2048, 768),
        ("Mistral 7B", 896, 1, 128, 128, 9562), ("Mistral 7B", 120, 1, 128, 2048, 4387),
        ("Mistral 7B", 84, 1, 2048, 128, 971), ("Mistral 7B", 56, 1, 2048, 2048, 1721),
        ("Mixtral 8x7B", 256, 4, 128, 128, 1266), ("Mixtral 8x7B", 256, 4, 128, 2048, 1490),
        ("Mixtral 8x7B", 64, 4, 2048, 128, 155), ("Mixtral 8x7B", 32, 4, 2048, 2048, 412),
        ("LLaMA 7B", 256, 1, 128, 128, 5885), ("LLaMA 7B", 64, 1, 128, 2048, 1654),
        ("LLaMA 7B", 32, 1, 2048, 128, 574), ("LLaMA 7B", 16, 1, 2048, 2048, 537),
        ("LLaMA 70B", 256, 2, 128, 128, 562), ("LLaMA 70B", 256, 4, 128, 2048, 478),
        ("LLaMA 70B", 16, 2, 2048, 128, 49), ("LLaMA 70B", 64, 4, 2048, 2048, 185),
        ("Falcon 180B", 512, 8, 128, 128, 152), ("Falcon 180B", 256, 8, 128, 2048, 200),
        ("Falcon 180B", 32, 8, 2048, 128, 15), ("Falcon 180B", 32, 8, 2048, 2048, 52)],
    ("A100", "A100-SXM-80GB", "A100-SXM-80GB"): [
        ("GPT-J 6B", 512, 1, 128, 128, 5876), ("GPT-J 6B", 32, 1, 128, 2048, 1549),
        ("GPT-J 6B", 32, 1, 2048, 128, 545), ("GPT-J 6B", 32, 1, 2048, 2048, 815),
        ("Mistral 7B", 896, 1, 128, 128, 6251), ("Mistral 7B", 120, 1, 128, 2048, 3776),
        ("Mistral 7B", 64, 1, 2048, 128, 698), ("Mistral 7B", 56, 1, 2048, 2048, 1576),
        ("Mixtral 8x7B", 512, 2, 128, 128, 2842), ("Mixtral 8x7B", 128, 2, 128, 2048, 1724),
        ("Mixtral 8x7B", 64, 2, 2048, 128, 319), ("Mixtral 8x7B", 32, 2, 2048, 2048, 801),
        ("LLaMA 7B", 256, 1, 128, 128, 5390), ("LLaMA 7B", 32, 1, 128, 2048, 1484),
        ("LLaMA 7B", 32, 1, 2048, 128, 533), ("LLaMA 7B", 16, 1, 2048, 2048, 603),
        ("LLaMA 70B", 1024, 4, 128, 128, 686), ("LLaMA 70B", 512, 8, 128, 2048, 684),
        ("LLaMA 70B", 96, 4, 2048, 128, 80), ("LLaMA 70B", 64, 4, 2048, 2048, 289),
        ("Falcon 180B", 1024, 8, 128, 128, 254), ("Falcon 180B", 512, 8, 128, 2048, 266),
        ("Falcon 180B", 64, 8, 2048, 128, 29), ("Falcon 180B", 64, 8, 2048, 2048, 93)],
}
for (tag, hw, gpu), rows_ in P09_ROWS.items():
    prec = "fp16" if tag == "A100" else "fp8"
    for i, (m, b, tp, isl, osl, tok) in enumerate(rows_, 1):
        static(f"TRT-P09-{tag}-{i}", "TRT-P09", TRT_P09, "2024-04", m, P09_MODELS[m], hw, gpu, tp, b, isl, osl,
               tok, True, prec, prec, "0.9.0", P09_NOTE if m in ("LLaMA 7B", "LLaMA 70B", "Mistral 7B") else "")

for r_ in ROWS:  # read as printed, but not physically possible as labelled (docs/measurements.md)
    if r_["id"] == "TRT-P09-A100-12":
        r_["confidence"] = "?"
        r_["notes"] += (" Inconsistent as labelled [?]: at TP2 in FP16 each GPU holds 46.7 GB of Mixtral weights, "
                        "all touched at batch 32 (top-2 of 8 experts), which take 22.9 ms to read at the A100's "
                        "2.04 TB/s; the derived step is 20.0 ms. The TP, precision or per-GPU label of this cell "
                        "is probably not what the table says.")


# --- DeepSeek-R1 on TensorRT-LLM (A.2 of the compilation) -------------------------------------------
def dsr1(ident: str, src: str, gpu: str, wp: str, kv: str, spec: str, conc: float, user: float | None,
         tok_s: float | None, notes: str, *, tp: int, ep: int, adp: int | None, expert: str = "",
         attn: str = "", model: str = "DeepSeek-R1", read: bool = False, sps: float | None = None,
         lat_ms: float | None = None, graphs: bool | None = None, fwv: str = "") -> None:
    row(id=ident, source_id=ident.rsplit("-", 1)[0], source=src + ("" if read else ". " + COMPILED.strip()),
        source_date="2025", samples_per_s=sps, mean_latency_ms=lat_ms, cuda_graphs=graphs,
        framework_version=fwv, model=model, model_catalog=DS, hardware=f"8x{gpu}", gpu_catalog=gpu, n_gpus=8,
        gpus_per_instance=8, instances=1, framework=TRT, weight_precision=wp, expert_precision=expert,
        attention_precision=attn, kv_precision=kv, tp=tp, pp=1, ep=ep, attention_dp=adp,
        scenario="in_flight", batching="in_flight", isl=1024, osl=2048, concurrency=conc, spec_decoding=spec,
        per_user_kind="b", per_user_tok_s=user, per_user_tok_s_how=MEASURED if user is not None else "",
        throughput_tok_s=tok_s, throughput_tok_s_how=MEASURED if tok_s is not None else "",
        throughput_tok_s_per_gpu_how=PER_GPU if tok_s is not None else "",
        decode_batch_how=BATCH_B, measured_step_ms_how=STEP_B if user is not None else "",
        notes=notes + " trtllm-bench per-user output speed includes TTFT (kind b).")


dsr1("TRT-BP-1", TRT_BP + " (B200 min-latency)", "B200", "nvfp4", "", "MTP3", 1, 274.7188, 274.4168,
     "Batch 1, 10 requests of a real dataset, MTP with 3 layers; trtllm-bench --tp 8 --ep 2 (MoE TP4 x "
     "EP2).", tp=8, ep=2, adp=None, expert="nvfp4", attn="bf16", read=True, sps=0.1341, lat_ms=7456.1219)
B1_NOTE = ("Batch 1, ISL/OSL 1k/2k. Precision strategy of the blog: attention BF16, dense and MoE FFNs "
           "NVFP4; CUDA graphs on. At batch 1 and OSL 2K the TTFT is under 1% of a request, so (b) is close "
           "to (a).")
dsr1("TRT-B1-1", TRT_B1 + " ('Autoregressive MTP Layers' table, 'Without MTP')", "B200", "nvfp4", "",
     "none", 1, 111, None, B1_NOTE + " No speculative decoding; the layout of this row is the blog's final "
     "TP8 attention / MoE TP4 x EP2 as far as stated [?].", tp=8, ep=2, adp=None, expert="nvfp4",
     attn="bf16", read=True, graphs=True)
dsr1("TRT-B1-7", TRT_B1 + " ('Key Optimizations' table, 'Baseline: CUDA Graph + EP8TP8')", "B200", "nvfp4",
     "", "none", 1, 67, None, B1_NOTE + " The starting point of the optimisation: TP8 attention, EP8 experts, "
     "no MTP.", tp=8, ep=8, adp=None, expert="nvfp4", attn="bf16", read=True, graphs=True)
for k, (mtp, user) in enumerate([(1, 198), (2, 250), (3, 253), (4, 245), (5, 239)], 2):
    dsr1(f"TRT-B1-{k}", TRT_B1 + " ('Autoregressive MTP Layers' table)", "B200", "nvfp4", "", f"MTP{mtp}", 1,
         user, None, B1_NOTE + f" MTP{mtp} (acceptance {[1.92, 2.58, 2.82, 2.99, 3.01][mtp - 1]} tokens per "
         "step as reported).", tp=8, ep=2, adp=None, expert="nvfp4", attn="bf16", read=True, graphs=True)
dsr1("TRT-BP-2", TRT_BP + " (H200 min-latency)", "H200-SXM", "fp8", "", "MTP3", 1, 158.1196, 158.0669,
     "Batch 1, 10 requests of a real dataset, MTP3; --tp 8 --ep 4.", tp=8, ep=4, adp=None, read=True,
     sps=0.0772, lat_ms=12945.9379)
dsr1("TRT-BP-3", TRT_BP + " (B200 max-throughput, FP16 KV)", "B200", "nvfp4", "fp16", "none", 3072, 11.9263,
     36384.0838, "Attention DP8 + EP8 (--tp 8 --ep 8, enable_attention_dp), max_batch_size 384 per rank, "
     "max_num_tokens 1536, 49,152 synthetic requests of exactly 1024 in / 2048 out; CUDA graphs for batch "
     "sizes 1-384.", tp=1, ep=8, adp=8, expert="nvfp4", read=True, sps=17.7657, lat_ms=172321.7206,
     graphs=True, fwv="commit b6261862419c33d6ce2313aff1e7116067d6037d")
dsr1("TRT-BP-4", TRT_BP + " (B200 max-throughput, FP8 KV)", "B200", "nvfp4", "fp8", "none", 7168, 6.1806,
     43146.2042, "DeepSeek-R1-0528-FP4; attention DP8 + EP8, max_batch_size 896, max_num_tokens 2048, "
     "114,688 requests; CUDA graphs for batch sizes 1-896.", tp=1, ep=8, adp=8, expert="nvfp4",
     model="DeepSeek-R1-0528", read=True, sps=21.0675, lat_ms=332826.9898, graphs=True,
     fwv="commit b6261862419c33d6ce2313aff1e7116067d6037d")
dsr1("TRT-BP-5", TRT_BP + " (H200 max-throughput)", "H200-SXM", "fp8", "", "none", 1024, 11.3476,
     11489.2671, "Attention DP8 + EP8, max_batch_size 128 per rank, max_num_tokens 1151, 5,120 synthetic "
     "requests of 1024 in / 2048 out; CUDA graph for batch 128. The per-user figure is printed without "
     "'[w/ ctx]' here.", tp=1, ep=8, adp=8, read=True, sps=5.61, lat_ms=181540.5739, graphs=True)

# --- TensorRT-LLM v1.0 perf overview: saturation throughput, no concurrency --------------------------
# The file's tables, read: one column per GPU (its TP and weight format in the header), one row per
# ISL/OSL. The 1000/1000 cells came first (from the compilation, ids TRT-PO-1..19, kept); the other
# ISL/OSL cells of the catalogued models were read in the same file for this dataset (TRT-PO-20 on).
PO_PAIRS = ((128, 128), (128, 2048), (128, 4096), (500, 2000), (1000, 1000), (1000, 2000), (2048, 128),
            (2048, 2048), (5000, 500), (20000, 2000))
PO_TABLES: list[tuple[str, str, list[tuple[str, str, int, str]], list[tuple[int | None, ...]]]] = [
    ("Llama 3.3 70B", "Llama-3.1-70B",
     [("B200", "B200", 1, "fp4"), ("GB200", "GB200-NVL72", 1, "fp4"), ("H200", "H200-SXM", 1, "fp8"),
      ("H100", "H100-SXM", 2, "fp8")],
     [(11147, 12189, 3803, 6378), (9922, 11309, 4336, 6651), (6831, 7849, 2872, 4199), (7762, 9028, 3666, 5222),
      (7007, 7326, 2909, 4205), (6271, 6513, 2994, 4146), (1339, 1450, 442, 762), (4783, 5646, 2003, 3082),
      (1459, 1602, 566, 898), (665, 755, 283, 437)]),
    ("Qwen3-235B-A22B", "Qwen3-235B-A22B",
     [("B200", "B200", 8, "fp4"), ("H200", "H200-SXM", 8, "fp8"), ("H100", "H100-SXM", 8, "fp8")],
     [(63362, 30429, None), (66057, 42821, 19658), (39496, 26852, 12447), (57117, 28026, 18351),
      (42391, 23789, 14898), (34105, 22061, 15136), (7329, 3331, None), (26854, 16672, 9924),
      (8190, 3623, 3225), (4453, 1876, None)]),
    ("Llama 4 Maverick", "Llama-4-Maverick",
     [("B200", "B200", 8, "fp4"), ("H200", "H200-SXM", 8, "fp8"), ("H100", "H100-SXM", 8, "fp8")],
     [(124323, 63994, None), (112676, 40572, 10829), (68170, 24616, 6744), (None, 37835, 10108),
      (79617, 31782, 9677), (63766, 34734, 9151), (18088, 7307, None), (52195, 20957, 6916),
      (None, 8456, 3457), (12678, 4106, None)]),
    ("Llama 3.1 405B", L405,
     [("B200", "B200", 4, "fp4"), ("GB200", "GB200-NVL72", 4, "fp4"), ("H200", "H200-SXM", 8, "fp8"),
      ("H100", "H100-SXM", 8, "fp8")],
     [(6281, 6740, 3814, 3627), (8020, 8151, 5348, 4340), (6345, 6608, 4741, 3116), (6244, 6540, 4724, 3994),
      (5209, 5389, 3330, 2919), (4933, 5135, 3722, 2895), (749, 797, 456, 453), (4212, 4407, 2948, 2296),
      (1048, 1112, 650, 610), (672, 739, 505, 345)]),
    ("Llama 3.1 8B", L8,
     [("H200", "H200-SXM", 1, "fp8"), ("H100", "H100-SXM", 1, "fp8")],
     [(27911, 28312), (26221, 22714), (18027, 14325), (20770, 17660), (17744, 15220), (16828, 13899),
      (3538, 3450), (12194, 9305), (3902, 3459), (1804, 1351)]),
]
#: The MoE models ran with the file's MoE options: `enable_attention_dp: true` and `--ep $ep_size`,
#: whose value the tables do not give (their header says TP8): attention DP over the 8 GPUs with
#: experts over all 8 (EP8) is assumed.
PO_MOE = frozenset({"Qwen3-235B-A22B", "Llama-4-Maverick", "Llama 4 Scout", "Qwen3-30B-A3B"})
PO_KV = ("KV cache FP8 [S]: TensorRT-LLM takes the checkpoint's KV dtype (its quantization docs: FP8 KV "
         "can be enabled 'even for checkpoints that do not have it enabled by default'), and ModelOpt's "
         "checkpoints carry kv_cache_quant_algo FP8 in hf_quant_config.json (ModelOpt's own example "
         "config; a third-party deployment note on the nvidia/ FP8 builds), not read in each checkpoint. ")
PO_NOTE = ("Max load: trtllm-bench throughput queues every request at once (the file: 'an offline maximum "
           "throughput scenario such that all requests are queued in rapid succession'; 1,500-30,000 "
           "requests of fixed ISL/OSL); the decode batch reached is not in the table, so the step is an "
           "instance's time per output token (kind d). ModelOpt FP8/FP4 checkpoints; CUDA graphs with "
           "padding; KV-cache memory fraction 0.95 'in many cases', else the default 0.90. ")


def perf_overview(ident: str, model: str, cat: str, hw: str, gpu: str, tp: int, wp: str, isl: int, osl: int,
                  tok: float, via: str) -> None:
    moe = cat in PO_MOE or model in PO_MOE
    layout = (dict(tp=1, ep=tp, attention_dp=tp) if moe else dict(tp=tp))
    row(id=ident, source_id="TRT-PO", source=TRT_PO + ". " + via, source_date="2025",
        model=model, model_catalog=cat, hardware=hw, gpu_catalog=gpu, n_gpus=tp, gpus_per_instance=tp, instances=1,
        framework=TRT, framework_version="1.0", weight_precision=wp, kv_precision="fp8", pp=1, **layout,
        cuda_graphs=True, scenario="offline", batching="in_flight", isl=isl, osl=osl, throughput_tok_s=tok,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_kind="d",
        measured_step_ms_how=STEP_D,
        notes=PO_NOTE + PO_KV + (f"Layout ? : the table says TP{tp}; the MoE options enable attention DP and "
                                 f"pass --ep without its value: attention DP{tp} with EP{tp} assumed."
                                 if moe else ""))


for i, (m, cat, hw, gpu, tp, wp, tok) in enumerate([
        ("Llama 3.1 8B", L8, "H100", "H100-SXM", 1, "fp8", 15220),
        ("Llama 3.1 8B", L8, "H200", "H200-SXM", 1, "fp8", 17744),
        ("Llama 3.3 70B", "Llama-3.1-70B", "H100", "H100-SXM", 2, "fp8", 4205),
        ("Llama 3.3 70B", "Llama-3.1-70B", "H200", "H200-SXM", 1, "fp8", 2909),
        ("Llama 3.3 70B", "Llama-3.1-70B", "B200", "B200", 1, "fp4", 7007),
        ("Llama 3.3 70B", "Llama-3.1-70B", "GB200", "GB200-NVL72", 1, "fp4", 7326),
        ("Llama 3.1 405B", L405, "H100", "H100-SXM", 8, "fp8", 2919),
        ("Llama 3.1 405B", L405, "H200", "H200-SXM", 8, "fp8", 3330),
        ("Llama 3.1 405B", L405, "B200", "B200", 4, "fp4", 5209),
        ("Llama 4 Scout", "", "H100", "H100-SXM", 4, "fp8", 12129),
        ("Llama 4 Scout", "", "H200", "H200-SXM", 4, "fp8", 21636),
        ("Llama 4 Scout", "", "B200", "B200", 1, "fp4", 10591),
        ("Llama 4 Maverick", "Llama-4-Maverick", "H100", "H100-SXM", 8, "fp8", 9677),
        ("Llama 4 Maverick", "Llama-4-Maverick", "H200", "H200-SXM", 8, "fp8", 31782),
        ("Llama 4 Maverick", "Llama-4-Maverick", "B200", "B200", 8, "fp4", 79617),
        ("Qwen3-235B-A22B", "Qwen3-235B-A22B", "H100", "H100-SXM", 8, "fp8", 14898),
        ("Qwen3-235B-A22B", "Qwen3-235B-A22B", "H200", "H200-SXM", 8, "fp8", 23789),
        ("Qwen3-235B-A22B", "Qwen3-235B-A22B", "B200", "B200", 8, "fp4", 42391),
        ("Qwen3-30B-A3B", "", "B200", "B200", 1, "fp4", 25828)], 1):
    perf_overview(f"TRT-PO-{i}", m, cat, hw, gpu, tp, wp, 1000, 1000, tok, COMPILED.strip())
_po_seen = {(r_["model"], r_["hardware"], r_["isl"], r_["osl"]): r_["throughput_tok_s"]
            for r_ in ROWS if r_["source_id"] == "TRT-PO"}
_po_next = 20
for m, cat, cols, cells in PO_TABLES:
    for (isl, osl), values in zip(PO_PAIRS, cells, strict=True):
        for (hw, gpu, tp, wp), tok in zip(cols, values, strict=True):
            if (m, hw, isl, osl) in _po_seen:  # a 1000/1000 cell of the compilation: the same number
                assert _po_seen[(m, hw, isl, osl)] == tok, (m, hw, isl, osl)
                continue
            if tok is None:
                continue
            perf_overview(f"TRT-PO-{_po_next}", m, cat, hw, gpu, tp, wp, isl, osl, tok, "Read in the file for this dataset.")
            _po_next += 1


# --- SGLang v0.3.0 against vLLM v0.6.0 (the SGLang repository's reproduction README) ---------------
SGL060 = ("sgl-project/sglang @ 120affb9613cc3f5bcd055ec09c7621d3ced0ebc: benchmark/benchmark_vllm_060/README.md "
          "('Online benchmark results' and 'Offline benchmark results' tables; launch and bench_serving commands "
          "in the same file)")
#: ShareGPT input mean: the README gives none; 202 is the mean of 500 ShareGPT prompts sampled by vLLM's
#: benchmark with the same length filter (vllm-project/vllm-project.github.io @
#: 0dd37adf406d4bc9e780a6605548bb84a378f5f9: _posts/2024-09-05-perf-update.md, 'Average input tokens: 202,
#: average output tokens: 179'), a different sample of the same file.
SHAREGPT_ISL = 202.0
SGL060_OFFLINE = {"SGLang": (19.84, 3856.01), "vLLM": (19.04, 3700.64)}   # 70B on 4 x H100: req/s, out tok/s
SGL060_OFFLINE_8B = {"SGLang": (22.03, 4281.51), "vLLM": (21.27, 4132.37)}  # 8B on 1 x A100
SGL060_NOTE = ("ShareGPT (sglang.bench_serving --dataset-name sharegpt, ignore_eos on by default), Poisson arrivals "
               "at the stated RPS; the table gives medians only: tpot_ms is the median TPOT, ttft_ms the median TTFT "
               "(the means are not given). samples_per_s is the offered request rate (RPS), the completed rate in a "
               "steady state. OSL is the mean output of the same engine's offline run in the same README "
               "(output tok/s / req/s over 5000 prompts; the online runs use the first 1200 or 2400) [D]; ISL = 202 "
               "is the ShareGPT input mean of vLLM's v0.6.0 blog, a different 500-prompt sample [S]. Prefix cache "
               "off. KV cache dtype not stated (both engines default to the model dtype, BF16).")
SGL060_ENGINE = {"SGLang": ("0.3.0", "SGLang v0.3.0 (pip sglang==0.3.0)."),
                 "vLLM": ("0.6.0", "vLLM v0.6.0 with --num-scheduler-steps 10 (multi-step scheduling), so its "
                          "median ITL (129-275 ms) is a 10-token chunk, not a step; the median TPOT is the step.")}
for m, cat, hw, gpu, tp, offline, rows_ in [
        ("Llama 3.1 70B Instruct", "Llama-3.1-70B", "4 x H100 80G", "H100-SXM", 4, SGL060_OFFLINE,
         [(4, "SGLang", 53.94, 25.03), (4, "vLLM", 179.15, 23.58), (8, "SGLang", 58.11, 33.07),
          (8, "vLLM", 207.12, 29.15)]),
        ("Llama 3.1 8B Instruct", "Llama-3.1-8B", "1 x A100 80G", "A100-SXM-80GB", 1, SGL060_OFFLINE_8B,
         [(4, "SGLang", 31.98, 13.17), (4, "vLLM", 100.48, 14.14), (8, "SGLang", 35.68, 17.85),
          (8, "vLLM", 120.39, 17.09)])]:
    size = "70B" if tp == 4 else "8B"
    gpu_note = (" 'H100 80G' taken as the SXM part [?]." if gpu == "H100-SXM" else
                " 'A100 80G' taken as the SXM part (the form factor is not stated) [?]. SGLang launched with "
                "--enable-torch-compile.")
    for rps, eng, ttft, tpot in rows_:
        sps, tok = offline[eng]
        fwv, eng_note = SGL060_ENGINE[eng]
        row(id=f"SGL060-{size}-{eng}-{rps}", source_id="SGL-VLLM060", source=SGL060, source_date="2024-09",
            workload_confidence="S", model=m, model_catalog=cat, hardware=hw, gpu_catalog=gpu, n_gpus=tp,
            gpus_per_instance=tp, instances=1, framework=eng, framework_version=fwv, weight_precision="bf16",
            tp=tp, pp=1, scenario="server", batching="in_flight", isl=SHAREGPT_ISL, osl_how=f"{tok} / {sps}",
            per_user_kind="a", tpot_ms=tpot, tpot_ms_how=MEASURED, ttft_ms=ttft, samples_per_s=float(rps),
            throughput_tok_s_how="samples_per_s * osl", throughput_tok_s_per_gpu_how=PER_GPU,
            per_user_tok_s_how=USER_A, decode_batch_how=BATCH_A, measured_step_ms_how=STEP_A,
            notes=f"{m} (BF16 checkpoint, no quantisation flag), TP{tp}. {eng_note}{gpu_note} {SGL060_NOTE} "
            "throughput_tok_s = RPS x OSL (the steady-state output rate) [D].")
    for eng, (sps, tok) in offline.items():
        fwv, eng_note = SGL060_ENGINE[eng]
        row(id=f"SGL060-{size}-{eng}-offline", source_id="SGL-VLLM060", source=SGL060, source_date="2024-09",
            workload_confidence="S", model=m, model_catalog=cat, hardware=hw, gpu_catalog=gpu, n_gpus=tp,
            gpus_per_instance=tp, instances=1, framework=eng, framework_version=fwv, weight_precision="bf16",
            tp=tp, pp=1, scenario="offline", batching="in_flight", isl=SHAREGPT_ISL,
            osl_how="throughput_tok_s / samples_per_s", samples_per_s=sps, throughput_tok_s=tok,
            throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_kind="d",
            measured_step_ms_how=STEP_D,
            notes=f"{m}, TP{tp}. {eng_note}{gpu_note} 5000 ShareGPT prompts at once (RPS inf): a saturation run, "
            "the decode batch reached is not reported (kind d: an instance's time per output token). The "
            "engines' batch caps (max_num_seqs, max running requests) are not stated: their defaults apply. "
            "ISL = 202 from vLLM's "
            "v0.6.0 blog [S]; OSL = out tok/s / req/s [D].")


# --- SGLang on H200 (DataCrunch's raw bench_serving results) -----------------------------------------
DC_H200 = "datacrunch-research/h200-benchmarks @ c091ef530a525d2e788bc41c39a4450b09c9f2ad"
DC_NOTE = ("One JSON line of sglang.bench_serving's output file: ISL = total_input_tokens / completed, samples_per_s "
           "= completed / duration (computed here from the logged numbers) [D]; OSL = output tok/s / samples/s [D]; "
           "mean_latency_ms is the logged mean E2E latency. The log has no TPOT: tpot_ms is the median ITL (one "
           "token per streamed chunk, no multi-step) and ttft_ms the median TTFT. Poisson arrivals at the stated "
           "rate. --disable-radix-cache --enable-torch-compile; KV cache dtype not stated (SGLang's default is the "
           "model dtype, BF16); SGLang version not stated. Date: the run is linked from SGLang's "
           "benchmark/benchmark_v0.4.1.post4 README (SGLang v0.4.1.post4, January 2025) [?].")
for m, cat, tp, script, out, rows51 in [
        ("Llama 3.3 70B Instruct", "Llama-3.1-70B", 4, "llama_3_3_70b_sglang.sh", "llama_3_3_70b_online_output.jsonl",
         [("random", 1.0, 152612, 160347, 7840.616212638561, 85.74514742940664, 13.638956006616354,
           537.4142851849319, 298.3675805060193, 300),
          ("random", 2.0, 308748, 308712, 8540.55180882259, 87.55627297796309, 14.830046566203237,
           987.3125216200807, 312.6791094408836, 600),
          ("random", 4.0, 615860, 607936, 12896.330808075727, 106.06311704032123, 19.419891061261296,
           2047.9108281108272, 296.8566754250787, 1200),
          ("sharegpt", 4.0, 269081, 226901, 3201.4825566502986, 68.27884959056973, 13.841505162417889,
           746.0750970739618, 304.126221193932, 1200),
          ("sharegpt", 8.0, 540779, 461874, 5302.550664339797, 83.16566958092153, 17.667690059170127,
           1471.0864833760852, 313.96794493007474, 2400)]),
        ("Llama 3.1 405B Instruct", "Llama-3.1-405B", 8, "llama_405b_sglang.sh", "llama_405b_online_output.jsonl",
         [("random", 1.0, 152612, 160347, 24370.785914754182, 218.80842198152095, 38.78233698196709,
           504.95546378579655, 317.54681650106795, 300),
          ("random", 2.0, 308748, 308712, 29965.90228974431, 244.2639688961208, 43.30068698618561,
           911.1440313922673, 338.81800172501244, 600),
          ("sharegpt", 4.0, 269081, 226901, 11741.376012132, 182.45959852356464, 42.32156742364168,
           705.0134392448288, 321.83925492689013, 1200)])]:
    size = "70B" if tp == 4 else "405B"
    for ds, rps, tin, tout, lat, ttft, itl, tok, dur, done in rows51:
        data = ("random 1024/1024 with --random-range-ratio 0.0 (lengths drawn up to 1024: the means are about half)"
                if ds == "random" else "ShareGPT")
        row(id=f"DC-H200-{size}-{ds}-{int(rps)}", source_id="DC-H200",
            source=f"{DC_H200}: sglang/outputs/{out} (the line with dataset_name {ds!r}, request_rate {rps}); "
            f"model, TP and precision from sglang/experiments/{script}", source_date="2025-01",
            workload_confidence="D", model=m, model_catalog=cat, hardware=f"{tp} x H200 141GB", gpu_catalog="H200-SXM",
            n_gpus=tp, gpus_per_instance=tp, instances=1, framework="SGLang", weight_precision="bf16", tp=tp, pp=1,
            scenario="server", batching="in_flight", isl=tin / done, osl_how="throughput_tok_s / samples_per_s",
            per_user_kind="a", tpot_ms=itl, tpot_ms_how=MEASURED, ttft_ms=ttft, throughput_tok_s=tok,
            throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_tok_s_how=USER_A,
            samples_per_s=done / dur, mean_latency_ms=lat, decode_batch_how=BATCH_A, measured_step_ms_how=STEP_A,
            notes=f"{m}, BF16 ('(bf16)' in the launch line), TP{tp}, one instance. Dataset {data}; {done} prompts "
            f"at {rps:g} req/s: {tin} input and {tout} output tokens over {dur:.1f} s. {DC_NOTE} The same file's "
            "higher rates (random 8 and 16 req/s for 70B, 4 and 8 for 405B; ShareGPT 8 for 405B) are left out: "
            "output tok/s falls short of rate x OSL and latency grows over the run (queueing, no steady state).")


DC_OFFLINE = [  # dataset, --random-input, --random-output, total_input_tokens, total_output_tokens, output tok/s, duration, completed
    ("random", 1024, 1024, 1525074, 1544818, 4520.698730654741, 341.72106836596504, 3000),
    ("random", 1024, 512, 2034177, 1029594, 3492.2944910189917, 294.8187796440907, 4000),
    ("random", 4096, 2048, 1637669, 818620, 2051.287161036558, 399.0762558989227, 800),
    ("random", 4096, 1024, 3097487, 760205, 1654.9938601765348, 459.340072668856, 1500),
    ("random", 256, 512, 777987, 1529561, 6648.4389207099675, 230.06317997979932, 6000),
    ("sharegpt", 0, 0, 448102, 383064, 3939.9256459856624, 97.2262002939824, 2000)]
for ds, rin, rout, tin, tout, tok, dur, done in DC_OFFLINE:
    tag = f"{ds}-{rin}-{rout}" if ds == "random" else ds
    data = (f"random --random-input {rin} --random-output {rout} with --random-range-ratio 0.0 (lengths drawn up to "
            "the stated values: the means are about half)" if ds == "random" else "ShareGPT")
    repeat = (" The file repeats this run (1652.86 tok/s over 459.93 s); the first line is taken."
              if (rin, rout) == (4096, 1024) else "")
    row(id=f"DC-H200-70B-offline-{tag}", source_id="DC-H200",
        source=f"{DC_H200}: sglang/outputs/llama_3_3_70b_offline_output.jsonl (the line with dataset_name {ds!r}"
        + (f", random_input_len {rin}, random_output_len {rout}" if ds == "random" else "")
        + "); model, TP and precision from sglang/experiments/llama_3_3_70b_sglang.sh", source_date="2025-01",
        workload_confidence="D", model="Llama 3.3 70B Instruct", model_catalog="Llama-3.1-70B",
        hardware="4 x H200 141GB", gpu_catalog="H200-SXM", n_gpus=4, gpus_per_instance=4, instances=1,
        framework="SGLang", weight_precision="bf16", tp=4, pp=1, scenario="offline", batching="in_flight",
        isl=tin / done, osl_how="throughput_tok_s / samples_per_s", samples_per_s=done / dur, throughput_tok_s=tok,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_kind="d",
        measured_step_ms_how=STEP_D,
        notes=f"Llama 3.3 70B Instruct, BF16, TP4, one instance. {done} prompts at request rate inf (every request "
        f"queued at once: a saturation run, kind d); dataset {data}: {tin} input and {tout} output tokens over "
        f"{dur:.1f} s; ISL = total_input_tokens / completed and samples_per_s = completed / duration (computed "
        "here) [D], OSL = output tok/s / samples/s [D]. SGLang's max running requests not stated (its default "
        "applies). --disable-radix-cache --enable-torch-compile; KV dtype and SGLang version not stated; date as "
        "the online rows [?]." + repeat)


# --- SGLang gpt-oss-120b at batch 1 (LMSYS blog, reproduction in SGLang's benchmark/gpt_oss) ----------
GPTOSS = ("lm-sys/lm-sys.github.io @ dbd47f49bac0d5a080e2a6647c42ddb1b0fb4122: blog/2025-08-27-gpt-oss.md "
          "('Low-Latency Performance (Batch Size = 1)' table); commands in sgl-project/sglang @ "
          "1dc322ca15c48c959c2a84a9fc6421897973789a: benchmark/gpt_oss/README.md")
GPTOSS_NOTE = ("Single-batch decode throughput of sglang.bench_one_batch_server --batch-size 1 --input-len 1024 "
               "--output-len 512 (the README's command): output_len / (latency - TTFT), the decode cadence "
               "without the prefill (kind a: tpot_ms = 1000 / tok/s) [D]. One request of random token ids, so the "
               "batch is exactly 1 and ISL/OSL exact. SGLang v0.5.1.post3 per the README (the blog says >= 0.5.2) "
               "[?]. The stored blog revision carries the authors' banner 'All the red text should be re-checked'; "
               "this table is not in red. KV cache dtype not stated.")
for ident, hw, gpu, tp, prec, tok in [("B200-MXFP4", "NVIDIA B200", "B200", 4, "mxfp4", 416.02),
                                      ("B200-BF16", "NVIDIA B200", "B200", 4, "bf16", 315.63),
                                      ("H100-MXFP4", "NVIDIA H100", "H100-SXM", 8, "mxfp4", 318.53),
                                      ("H100-BF16", "NVIDIA H100", "H100-SXM", 8, "bf16", 293.12)]:
    ckpt = "openai/gpt-oss-120b (MoE weights MXFP4, attention and embeddings BF16)" if prec == "mxfp4" else \
        "lmsys/gpt-oss-120b-bf16 (all BF16)"
    attn = " --attention-backend triton (the README's H100 launch)." if gpu == "H100-SXM" else ""
    row(id=f"SGL-GPTOSS-{ident}", source_id="SGL-GPTOSS", source=GPTOSS, source_date="2025-08-27",
        model="gpt-oss-120b", model_catalog="gpt-oss-120b", hardware=hw, gpu_catalog=gpu, n_gpus=tp,
        gpus_per_instance=tp, instances=1, framework="SGLang", framework_version="0.5.1.post3",
        weight_precision="bf16", expert_precision=prec, tp=tp, pp=1, scenario="static", batching="static",
        isl=1024, osl=512, batch_size=1, per_user_kind="a", per_user_tok_s=tok, per_user_tok_s_how=MEASURED,
        tpot_ms_how="1000 / per_user_tok_s", decode_batch_how=BATCH_C, measured_step_ms_how=STEP_A,
        notes=f"{ckpt}, TP{tp} ('B200 was tested with TP=4, H100 with TP=8 and triton attention').{attn} "
        "'H100' taken as the SXM part [?]. MoE layers tensor-parallel (no expert-parallel flag). " + GPTOSS_NOTE)


# --- vLLM gpt-oss-120b on 8 x H200 (the vLLM perf dashboard's committed result) ------------------
PERFDASH = ("vllm-project/perf-dashboard @ 5533cde66f7a52fdf5802d654f447e9201a01875: benchmark/results/"
            "gptoss_fp4_vllm_tp8_isl1024_osl1024_conc64.json (vllm bench serve result); hardware, concurrency and "
            "layout from agg_gptoss_fp4_vllm_tp8_isl1024_osl1024_conc64.json, server arguments from config.yaml and "
            "server.log in the same folder")
row(id="VLLM-PD-H200-GPTOSS-64", source_id="VLLM-PERFDASH", source=PERFDASH, source_date="2026-02-10",
    model="openai/gpt-oss-120b", model_catalog="gpt-oss-120b", hardware="h200 (8 GPUs)", gpu_catalog="H200-SXM",
    n_gpus=8, gpus_per_instance=8, instances=1, framework="vLLM", framework_version="0.15.1",
    weight_precision="bf16", expert_precision="mxfp4", activation_precision="bf16", tp=8, pp=1, cuda_graphs=True,
    scenario="in_flight", batching="in_flight", isl=655360 / 640, osl_how="throughput_tok_s / samples_per_s",
    concurrency=64, per_user_kind="a", tpot_ms=6.62102150155639, tpot_ms_how=MEASURED,
    tpot_p99_ms=6.897321920645206, ttft_ms=333.58662858906206, throughput_tok_s=9216.782789196563,
    throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_tok_s_how=USER_A,
    samples_per_s=9.000764442574768, mean_latency_ms=7106.891624681248, decode_batch_how=BATCH_A,
    measured_step_ms_how=STEP_A,
    notes="640 random prompts of exactly 1024 in / 1024 out (total_input_tokens 655360 and total_output_tokens 655360 "
    "over 640 completed: ISL = 655360 / 640 [D]), request rate inf at max_concurrency 64 (a closed loop; "
    "max_num_seqs 64). TP8, MoE tensor-parallel (no --enable-expert-parallel), one instance. The log shows the MXFP4 "
    "experts run as weight-only FP4 on the Marlin backend ('Your GPU does not have native support for FP4 "
    "computation ... Weight-only FP4 compression'), activations and dtype BF16, kv_cache_dtype auto (BF16), "
    "async scheduling, chunked prefill with max_num_batched_tokens 8192, CUDA graphs FULL_AND_PIECEWISE, "
    "prefix caching off, FLASH_ATTN backend. Version: server.log's banner says 0.15.1, the summary file's image "
    "field vllm/vllm-openai:v0.13.0 [?]; 'h200' is the summary's hw field.")



# --- Krai's MLPerf open-division vLLM / SGLang runs on H100 and H200 (read in the logs) -------------
FORK50 = "ntuhpc/mlperf_inference_results_v5.0 @ cf354115915ea369f05db424b051da8c5bf957dc"
FORK50_NOTE = ("(ntuhpc's repository is a fork carrying mlcommons/inference_results_v5.0; the index holds the "
               "fork)")
KRAI_NOTE = ("Krai's KISS harness: LoadGen Server/Interactive (Poisson arrivals at target_qps) sending the "
             "OpenOrca prompts to data-parallel OpenAI-API servers (framework=openai), one per instance. OSL = "
             "completed tokens/s / samples/s [D]; mean TPOT, mean TTFT and mean latency are the log's. In-flight "
             "batching with chunked prefill: arriving prompts are mixed into the decode steps (A.0.2), and the "
             "servers ran near their SLA (TPOT limit 200 ms Server, 40 ms Interactive). KV cache dtype not set "
             "(kv_cache_dtype auto: BF16). Open division: the same benchmark and SLAs as closed, other "
             "software.")
#: Llama-3.1-70B on the llama2-70b task (OpenOrca): the prompts are the Llama-2 set's, tokenised by the
#: Llama 3 tokenizer (128k vocabulary, fewer tokens per word than Llama 2's 32k): the input mean is not
#: known; 205 (the Llama-2-tokenised mean, LLAMA2_ISL) is an upper estimate.
KRAI_L31_ISL_NOTE = ("ISL: the llama2-70b task's OpenOrca prompts sent as text and tokenised by Llama 3.1's "
                     "tokenizer; its input mean is not known. 205, the Llama-2-tokenised mean (LLAMA2_ISL) "
                     "[S], is taken as an upper estimate [?].")


def krai(ident: str, src_id: str, fork: str, date: str, system: str, bench: str, scenario: str, model: str,
         cat: str, gpu: str, n: int, tp: int, fw: str, fwv: str, ckpt: str, sps: float, tok_s: float,
         lat_ns: float, ttft_ns: float, tpot_ns: float, p99_ns: float, cfg: str, notes: str,
         folder: str = "") -> None:
    sc = scenario.lower()
    path = f"open/Krai/results/{system}/{bench}/{folder or sc}/performance/run_1/mlperf_log_summary.txt"
    readme = f"open/Krai/measurements/{system}/{bench}/{folder or sc}/README.md"
    llama2 = cat == "Llama-2-70B"
    fork_note = FORK51_NOTE if fork == FORK51 else FORK50_NOTE
    row(id=ident, source_id=src_id, source=f"{fork}: {path}; layout, precision and server flags from the "
        f"Performance command in {readme}; the system's description in open/Krai/results/{system}/README.md "
        f"{fork_note}", source_date=date, workload_confidence="S" if llama2 else "?", model=model,
        model_catalog=cat, hardware=system, gpu_catalog=gpu, n_gpus=n, gpus_per_instance=tp, instances=n // tp,
        framework=fw, framework_version=fwv, weight_precision="fp8", tp=tp, pp=1, scenario=sc,
        batching="in_flight", isl=LLAMA2_ISL, osl_how="throughput_tok_s / samples_per_s", per_user_kind="a",
        tpot_ms=tpot_ns / 1e6, tpot_ms_how=MEASURED, tpot_p99_ms=p99_ns / 1e6, ttft_ms=ttft_ns / 1e6,
        throughput_tok_s=tok_s, throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU,
        per_user_tok_s_how=USER_A, samples_per_s=sps, mean_latency_ms=lat_ns / 1e6, decode_batch_how=BATCH_A,
        measured_step_ms_how=STEP_A,
        notes=f"{ckpt} TP{tp} x {n // tp} instances (tp={tp}, dp={n // tp} in the command). {cfg} {notes} "
        f"{KRAI_NOTE} " + (LLAMA2_ISL_NOTE + "." if llama2 else KRAI_L31_ISL_NOTE)
        + " Little's law in flight = samples_per_s * mean_latency_ms / 1000 (includes queued and prefilling "
        "requests).")


L70 = "Llama-3.1-70B"
DYN2 = ("Llama-2-70B-chat, the benchmark's BF16 checkpoint (the command names no path), quantised at load with --quantization fp8 (vLLM's "
        "dynamic FP8: FP8 weights, per-tensor dynamic FP8 activations, FP8 GEMMs on Hopper).")
DYN31 = ("Llama-3.1-70B-Instruct (BF16 checkpoint) quantised at load with --quantization fp8 (dynamic FP8 "
         "weights and activations, FP8 GEMMs).")
PRE31 = ("Meta-Llama-3.1-70B-Instruct-FP8 (a pre-quantised FP8 W8A8 compressed-tensors checkpoint, "
         "quantization=compressed-tensors).")
# MLPerf v5.0 (submitted 2025-02; published 2025-04-02): Llama-2-70B, 8 x H200, vLLM 0.6.4 / 0.7.3, TP1 x 8
for ident, system, fwv, sps, tok_s, lat, ttft, tpot, p99, cfg, note in [
        ("KRAI50-H200-VLLM064", "xd670_h200_x8_vllm_064", "0.6.4", 46.48, 13716.75, 36395205952, 343991965,
         122759970, 138964966, "max_num_seqs 256, max_num_batched_tokens 16384, gpu_memory_utilization 0.95, "
         "max_seq_len_to_capture 1024, target_qps 48.", "HPE Cray XD670, vLLM v0.6.4 (the system name)."),
        ("KRAI50-H200-VLLM064-FI", "xd670_h200_x8_vllm_064_flashinfer", "0.6.4", 66.49, 19618.09, 50493386946,
         665165091, 170549845, 197063553, "max_num_seqs 1024, max_num_batched_tokens 8192, "
         "gpu_memory_utilization 0.95, max_seq_len_to_capture 1024, target_qps 70.",
         "HPE Cray XD670, vLLM v0.6.4 with the FlashInfer attention backend (the system name) [?]."),
        ("KRAI50-H200-VLLM073", "xd670_h200_x8_vllm_073", "0.7.3", 48.36, 14426.38, 38222843278, 432868488,
         127341041, 143059840, "max_num_seqs 256, max_num_batched_tokens 16384, gpu_memory_utilization 0.95, "
         "max_seq_len_to_capture 1024, target_qps 50.",
         "HPE Cray XD670 (8x H200-SXM-141GB, vLLM v0.7.3: the results page's title).")]:
    krai(ident, "KRAI-v5.0", FORK50, "2025-04-02", system, "llama2-70b-fp8_dyn", "server", "llama2-70b (fp8_dyn)",
         L2, "H200-SXM", 8, 1, "vLLM", fwv, DYN2, sps, tok_s, lat, ttft, tpot, p99, cfg, note)

# The same round's SGLang system: Llama-3.1-70B (pre-quantised FP8) on the llama2-70b task, Server and the
# llama2-70b-interactive benchmark (LoadGen's Server scenario with the Interactive SLAs, in a "server" folder)
SGL50 = ("HPE Cray XD670, 8x H200; SGLang per the system name and the compliance command's "
         "inference_server=sglang, server_docker_image lmsysorg/sglang:latest (version not stated) [?]. The "
         "Performance command carries vLLM-named flags (max_num_seqs 700, max_num_batched_tokens 8192, "
         "gpu_memory_utilization 0.95), whose effect on SGLang is not stated [?]. SGLang streams one token per "
         "chunk.")
for ident, bench, scenario, sps, tok_s, lat, ttft, tpot, p99, qps in [
        ("KRAI50-H200-SGL-S", "llama3_1-70b-fp8_pre", "Server", 89.32, 26074.42, 36124016592, 292578401,
         124737450, 159260617, 90),
        ("KRAI50-H200-SGL-I", "llama3_1-70b-interactive-fp8_pre", "Interactive", 41.85, 12192.40, 9002725212,
         185308429, 30679734, 38890896, 42)]:
    krai(ident, "KRAI-v5.0", FORK50, "2025-04-02", "xd670_h200_x8_sglang", bench, scenario,
         f"llama3.1-70b ({bench.removeprefix('llama3_1-70b-')})", L70, "H200-SXM", 8, 1, "SGLang", "",
         PRE31.replace(", quantization=compressed-tensors", ", no quantization flag"), sps, tok_s, lat, ttft, tpot,
         p99, f"target_qps {qps}" + (" (TTFT limit 450 ms, TPOT 40 ms)." if scenario == "Interactive" else "."),
         SGL50, folder="server")


# MLPerf v5.1 (published 2025-09-09): Llama-3.1-70B on the llama2-70b task, vLLM 0.9.2 and SGLang 0.4.9
for ident, system, bench, scenario, gpu, n, tp, fw, fwv, ckpt, sps, tok_s, lat, ttft, tpot, p99, cfg, note in [
        ("KRAI51-H100-VLLM092-S", "xe9680_h100_x8_vllm_092", "llama3_1-70b-fp8_dyn", "Server", "H100-SXM", 8, 2,
         "vLLM", "0.9.2", DYN31, 72.97, 21433.25, 30935337828, 300639534, 105803203, 133753662,
         "max_num_seqs 2476, max_num_batched_tokens 12140, gpu_memory_utilization 0.9, max_seq_len_to_capture "
         "1024, target_qps 75.", "Dell PowerEdge XE9680, 8x NVIDIA H100-SXM-80GB; vllm/vllm-openai:v0.9.2 "
         "(the results page)."),
        ("KRAI51-H100-VLLM092-I", "xe9680_h100_x8_vllm_092", "llama3_1-70b-fp8_dyn", "Interactive", "H100-SXM", 8,
         2, "vLLM", "0.9.2", DYN31, 34.65, 10180.09, 8968661716, 115243745, 30531402, 36915719,
         "max_num_seqs 2476, max_num_batched_tokens 12140, gpu_memory_utilization 0.9, max_seq_len_to_capture "
         "1024, target_qps 35 (TTFT limit 450 ms, TPOT 40 ms).", "Dell PowerEdge XE9680, 8x NVIDIA "
         "H100-SXM-80GB; vllm/vllm-openai:v0.9.2 (the results page)."),
        ("KRAI51-H200-VLLM092-DYN", "xd670_h200_x8_vllm_092", "llama3_1-70b-fp8_dyn", "Server", "H200-SXM", 8, 1,
         "vLLM", "0.9.2", DYN31, 90.89, 26903.40, 32269245537, 276185427, 109589897, 135300614,
         "max_num_seqs 858, max_num_batched_tokens 36498, gpu_memory_utilization 0.95, max_seq_len_to_capture "
         "1024, target_qps 93.", "HPE Cray XD670, 8x H200; vLLM 0.9.2 (the system name) [?]."),
        ("KRAI51-H200-VLLM092-PRE", "xd670_h200_x8_vllm_092", "llama3_1-70b-fp8_pre", "Server", "H200-SXM", 8, 1,
         "vLLM", "0.9.2", PRE31, 88.02, 25627.92, 38380319450, 336987127, 132680399, 170637735,
         "max_num_seqs 917, max_num_batched_tokens 30850, gpu_memory_utilization 0.95, max_seq_len_to_capture "
         "1024, target_qps 90.", "HPE Cray XD670, 8x H200; vLLM 0.9.2 (the system name) [?]."),
        ("KRAI51-H200x16-VLLM092", "xd670_h200_x16_vllm_092", "llama3_1-70b-fp8_dyn", "Server", "H200-SXM", 16, 1,
         "vLLM", "0.9.2", DYN31, 191.03, 56544.81, 43958512864, 391572497, 149619305, 192631609,
         "max_num_seqs 909, max_num_batched_tokens 25162, gpu_memory_utilization 0.95, max_seq_len_to_capture "
         "1024, target_qps 200.", "Two HPE Cray XD670 nodes (16x H200), one single-GPU server per GPU; vLLM "
         "0.9.2 (the system name) [?]."),
        ("KRAI51-H200x24-VLLM092", "xd670_h200_x24_vllm_092", "llama3_1-70b-fp8_dyn", "Server", "H200-SXM", 24, 1,
         "vLLM", "0.9.2", DYN31, 292.42, 86558.78, 45240501351, 408071031, 154024830, 198234288,
         "max_num_seqs 914, max_num_batched_tokens 31167, gpu_memory_utilization 0.95, max_seq_len_to_capture "
         "1024, target_qps 307.", "Three HPE Cray XD670 nodes (24x H200), one single-GPU server per GPU; vLLM "
         "0.9.2 (the system name) [?]."),
        ("KRAI51-H200-SGL049-DYN", "xd670_h200_x8_sglang_049", "llama3_1-70b-fp8_dyn", "Server", "H200-SXM", 8, 1,
         "SGLang", "0.4.9", DYN31.replace("--quantization fp8 (dynamic", "SGLang's --quantization fp8 (dynamic"),
         88.27, 26434.83, 36557621270, 304958142, 123002599, 150538029,
         "max_running_requests 1558, mem_fraction_static 0.9, attention_backend fa3, target_qps 90.",
         "HPE Cray XD670, 8x H200; SGLang 0.4.9 (the system name) [?]; SGLang streams one token per chunk."),
        ("KRAI51-H200-SGL049-PRE", "xd670_h200_x8_sglang_049", "llama3_1-70b-fp8_pre", "Server", "H200-SXM", 8, 1,
         "SGLang", "0.4.9", PRE31.replace(", quantization=compressed-tensors", ", quantization None: read from "
                                          "the checkpoint"),
         103.94, 30304.02, 31199633060, 356274466, 107564951, 138044858,
         "max_running_requests 1405, mem_fraction_static 0.9, attention_backend fa3, target_qps 106.",
         "HPE Cray XD670, 8x H200; SGLang 0.4.9 (the system name) [?]; SGLang streams one token per chunk.")]:
    krai(ident, "KRAI-v5.1", FORK51, "2025-09-09", system, bench, scenario, f"llama3.1-70b ({bench.split('-')[-1]})",
         L70, gpu, n, tp, fw, fwv, ckpt, sps, tok_s, lat, ttft, tpot, p99, cfg, note)


def krai_offline(ident: str, src_id: str, fork: str, date: str, system: str, bench: str, model: str, cat: str,
                 gpu: str, n: int, tp: int, fw: str, fwv: str, ckpt: str, sps: float, tok_s: float, cfg: str) -> None:
    path = f"open/Krai/results/{system}/{bench}/offline/performance/run_1/mlperf_log_summary.txt"
    readme = f"open/Krai/measurements/{system}/{bench}/offline/README.md"
    llama2 = cat == "Llama-2-70B"
    fork_note = FORK51_NOTE if fork == FORK51 else FORK50_NOTE
    row(id=ident, source_id=src_id, source=f"{fork}: {path}; layout, precision and server flags from the "
        f"Performance command in {readme} {fork_note}", source_date=date,
        workload_confidence="S" if llama2 else "?", model=model, model_catalog=cat, hardware=system,
        gpu_catalog=gpu, n_gpus=n, gpus_per_instance=tp, instances=n // tp, framework=fw, framework_version=fwv,
        weight_precision="fp8", tp=tp, pp=1, scenario="offline", batching="in_flight", isl=LLAMA2_ISL,
        osl_how="throughput_tok_s / samples_per_s", samples_per_s=sps, throughput_tok_s=tok_s,
        throughput_tok_s_how=MEASURED, throughput_tok_s_per_gpu_how=PER_GPU, per_user_kind="d",
        measured_step_ms_how=STEP_D,
        notes=f"{ckpt} TP{tp} x {n // tp} instances (tp={tp}, dp={n // tp} in the command). {cfg} LoadGen "
        "Offline: every query issued at once (a saturation run, kind d: an instance's time per output token); "
        "the decode batch reached is not logged, and the server's own cap on it (max_num_seqs / "
        "max_running_requests above) is not modelled. OSL = tokens/s / samples/s [D]. KV cache dtype not set "
        "(BF16). " + (LLAMA2_ISL_NOTE + "." if llama2 else KRAI_L31_ISL_NOTE))


for ident, system, fwv, sps, tok_s, cfg in [
        ("KRAI50-H200-VLLM064-OFF", "xd670_h200_x8_vllm_064", "0.6.4", 53.6459, 15906.1,
         "max_num_seqs 1024, max_num_batched_tokens 8192, gpu_memory_utilization 0.95."),
        ("KRAI50-H200-VLLM064-FI-OFF", "xd670_h200_x8_vllm_064_flashinfer", "0.6.4", 72.0235, 21372.3,
         "max_num_seqs 1024, max_num_batched_tokens 8192, gpu_memory_utilization 0.95; FlashInfer attention "
         "(the system name) [?]."),
        ("KRAI50-H200-VLLM073-OFF", "xd670_h200_x8_vllm_073", "0.7.3", 54.7354, 16229.0,
         "max_num_seqs 1024, max_num_batched_tokens 8192, gpu_memory_utilization 0.95 (the Performance "
         "command; the Accuracy command has 768 and 16384).")]:
    krai_offline(ident, "KRAI-v5.0", FORK50, "2025-04-02", system, "llama2-70b-fp8_dyn", "llama2-70b (fp8_dyn)",
                 L2, "H200-SXM", 8, 1, "vLLM", fwv, DYN2, sps, tok_s, cfg)

for ident, system, bench, gpu, n, tp, fw, fwv, ckpt, sps, tok_s, cfg in [
        ("KRAI51-H100-VLLM092-OFF", "xe9680_h100_x8_vllm_092", "llama3_1-70b-fp8_dyn", "H100-SXM", 8, 2, "vLLM",
         "0.9.2", DYN31, 77.6951, 22819.6, "max_num_seqs 3264, max_num_batched_tokens 14768, "
         "gpu_memory_utilization 0.9; vllm/vllm-openai:v0.9.2, 8x H100-SXM-80GB."),
        ("KRAI51-H200-VLLM092-DYN-OFF", "xd670_h200_x8_vllm_092", "llama3_1-70b-fp8_dyn", "H200-SXM", 8, 1, "vLLM",
         "0.9.2", DYN31, 104.369, 30893.1, "max_num_seqs 1232, max_num_batched_tokens 8121, "
         "gpu_memory_utilization 0.95; vLLM 0.9.2 (the system name) [?]."),
        ("KRAI51-H200-VLLM092-PRE-OFF", "xd670_h200_x8_vllm_092", "llama3_1-70b-fp8_pre", "H200-SXM", 8, 1, "vLLM",
         "0.9.2", PRE31, 90.3972, 26318.8, "max_num_seqs 630, max_num_batched_tokens 7427, "
         "gpu_memory_utilization 0.95; vLLM 0.9.2 (the system name) [?]."),
        ("KRAI51-H200x16-VLLM092-OFF", "xd670_h200_x16_vllm_092", "llama3_1-70b-fp8_dyn", "H200-SXM", 16, 1,
         "vLLM", "0.9.2", DYN31, 198.028, 58617.3, "max_num_seqs 1029, max_num_batched_tokens 21307, "
         "gpu_memory_utilization 0.95; two nodes, one single-GPU server per GPU; vLLM 0.9.2 (the system name) "
         "[?]."),
        ("KRAI51-H200x24-VLLM092-OFF", "xd670_h200_x24_vllm_092", "llama3_1-70b-fp8_dyn", "H200-SXM", 24, 1,
         "vLLM", "0.9.2", DYN31, 295.041, 87334.0, "max_num_seqs 2401, max_num_batched_tokens 30574, "
         "gpu_memory_utilization 0.95; three nodes, one single-GPU server per GPU; vLLM 0.9.2 (the system "
         "name) [?]."),
        ("KRAI51-H200-SGL049-DYN-OFF", "xd670_h200_x8_sglang_049", "llama3_1-70b-fp8_dyn", "H200-SXM", 8, 1,
         "SGLang", "0.4.9", DYN31.replace("--quantization fp8 (dynamic", "SGLang's --quantization fp8 (dynamic"),
         92.4929, 27697.0, "max_running_requests 1422, mem_fraction_static 0.9, attention_backend fa3; SGLang "
         "0.4.9 (the system name) [?]."),
        ("KRAI51-H200-SGL049-PRE-OFF", "xd670_h200_x8_sglang_049", "llama3_1-70b-fp8_pre", "H200-SXM", 8, 1,
         "SGLang", "0.4.9", PRE31.replace(", quantization=compressed-tensors", ", quantization None: read from "
                                          "the checkpoint"),
         107.643, 31383.2, "max_running_requests 1047, mem_fraction_static 0.9, attention_backend fa3; SGLang "
         "0.4.9 (the system name) [?].")]:
    krai_offline(ident, "KRAI-v5.1", FORK51, "2025-09-09", system, bench, f"llama3.1-70b ({bench.split('-')[-1]})",
                 L70, gpu, n, tp, fw, fwv, ckpt, sps, tok_s, cfg)

for r_ in ROWS:  # the Llama-2-70B MLPerf rows: their ISL is the sampled dataset mean, not the recalled one
    if r_["isl"] == LLAMA2_ISL and r_["source_id"].startswith("MLPerf"):
        assert "ISL is the dataset's input mean [M]" in r_["notes"], r_["id"]
        r_["notes"] = r_["notes"].replace("ISL is the dataset's input mean [M]", LLAMA2_ISL_NOTE)
        r_["workload_confidence"] = "S"


def fill(r: dict[str, Any]) -> dict[str, Any]:
    """Compute every derived column from its formula, in dependency order."""
    for col in ("osl", "throughput_tok_s", "throughput_tok_s_per_gpu", "tpot_ms", "per_user_tok_s", "decode_batch",
                "measured_step_ms"):
        how = r[f"{col}_how"]
        if not how and r[col] is not None:
            how = r[f"{col}_how"] = MEASURED
        if how and how != MEASURED:
            r[col] = derive(how, r)
        elif how == MEASURED and r[col] is None:
            raise ValueError(f"{r['id']}: {col} is marked measured but empty")
    return r


def cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def render() -> str:
    """The CSV text of the rows above (tests/test_measurements.py checks the shipped file equals it)."""
    ids = [r["id"] for r in ROWS]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"duplicate ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    f = io.StringIO()
    w = csv.DictWriter(f, fieldnames=list(SCHEMA), lineterminator="\n")
    w.writeheader()
    for r in ROWS:
        w.writerow({k: cell(v) for k, v in fill(dict(r)).items()})
    return f.getvalue()


def main() -> None:
    OUT.write_text(render(), encoding="utf-8", newline="")
    print(f"wrote {len(ROWS)} rows to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
