"""What the benchmark reports: its figures with their targets, and the table of a run's results."""

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from config import gunicorn as gunicorn_settings


@dataclass(frozen=True)
class Figure:
    label: str
    unit: str
    higher_is_better: bool
    # The Berth/distribution ratio to reach (>= when higher is better), or an absolute Berth limit.
    target_ratio: float | None = None
    berth_below: float | None = None
    target_ratio_s3: float | None = None  # on the S3 pass, when it differs

    def target(self, storage: str) -> float | None:
        return self.target_ratio_s3 if storage == "s3" and self.target_ratio_s3 is not None else self.target_ratio


def push(label: str) -> Figure:
    return Figure(f"blob push, {label}", "MB/s", True, target_ratio=2.0, target_ratio_s3=1.5)


FIGURES = {
    "push_monolithic": push("monolithic POST+PUT"),
    "push_chunked": push("16 MiB PATCHes, one connection"),
    "push_stream": push("stream: one chunked-encoding PATCH"),
    "push_length": push("length: one Content-Length PATCH"),
    "push_chunks": push("chunks: 16 MiB PATCHes, a new connection each"),
    "push_chunks_nginx": push("chunks via nginx, two Berth servers (distribution: one)"),
    "pull": Figure("blob pull", "MB/s", True, target_ratio=1.0),
    "pull_cpu": Figure("server CPU per GB pulled", "s/GB", False),
    "manifest_rps": Figure("manifest GET, 16 connections", "req/s", True, target_ratio=1.0),
    "manifest_p50": Figure("manifest GET p50 latency", "ms", False),
    "manifest_p99": Figure("manifest GET p99 latency", "ms", False),
    "docker_push": Figure("docker push, image with one layer", "s", False),
    "docker_pull": Figure("docker pull, same image", "s", False),
    "rss_peak_total": Figure("peak RSS during 1 GiB push, all processes", "MB", False),
    "rss_peak_worker": Figure("peak RSS during 1 GiB push, per worker", "MB", False, berth_below=150.0),
}



def target_text(figure: Figure, storage: str) -> str:
    if figure.target(storage) is not None:
        return f">= {figure.target(storage):g}x"
    if figure.berth_below is not None:
        return f"< {figure.berth_below:g} {figure.unit}"
    return ""


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    version = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(memory / 1024**3, 1),
            "kernel": platform.release(), "python": platform.python_version(), "distribution": version,
            "web_concurrency": gunicorn_settings.workers, "gunicorn_threads": gunicorn_settings.threads}


def number(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def table(results: dict) -> str:
    m = results["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}; "
             f"{m['distribution']}; Berth: gunicorn {m['web_concurrency']} workers x {m['gunicorn_threads']} threads; "
             f"{results['reps']} repetitions, medians; blobs {results['blob_mib']} MiB.", ""]
    for name, summary in results["passes"].items():
        lines.append(f"Pass: {name} storage (the ratio is better above 1 for MB/s and req/s, below 1 for s, ms and MB)")
        lines.append("| figure | unit | Berth | distribution | Berth/distribution | target | met |")
        lines.append("|---|---|---:|---:|---:|---|---|")
        for figure in summary["figures"].values():
            ratio = f"{figure['ratio']:.2f}x" if figure["ratio"] is not None else "-"
            met = {True: "yes", False: "**MISSED**", None: ""}[figure["met"]]
            lines.append(f"| {figure['label']} | {figure['unit']} | {number(figure['berth_median'])} | "
                         f"{number(figure['distribution_median'])} | {ratio} | {figure['target']} | {met} |")
        for key, note in summary["notes"].items():
            lines.append(f"{key}: {note}")
        lines.append("")
    return "\n".join(lines)
