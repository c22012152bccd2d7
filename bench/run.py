"""Run the benchmark: `python -m bench` (or `make bench`); see `python -m bench --help`.

Each pass starts Berth (gunicorn, config/gunicorn.py, DEBUG=false, PostgreSQL) and distribution
(Debian's docker-registry) on loopback, then measures both with the same client, alternating which
goes first, and prints the medians and the Berth/distribution ratio of every figure.

Blob pushes come in the shapes clients use: monolithic POST+PUT; one chunked-encoding PATCH (the
docker CLI's, 32 KiB chunks as Go's io.Copy writes them); one Content-Length PATCH; 16 MiB
PATCHes on one connection, and each on a new connection, directly and through a round-robin
nginx over two Berth servers sharing one database and one blob store (distribution: one server).
"""

import argparse
import json
import os
import shutil
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench import client
from bench.figures import FIGURES, machine, table, target_text
from bench.measure import DataFile, PeakRSS, log, median, wrk
from bench.nginx import Nginx
from bench.servers import (
    Berth,
    BerthUser,
    Distribution,
    Dockerd,
    Postgres,
    S3Server,
    cpu_seconds,
    free_port,
    http_up,
    wait_until,
)

RESULTS = Path(__file__).resolve().parent / "results"
MiB = 1024 * 1024
MB = 1000 * 1000
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
PULLS_PER_SAMPLE = 5


class Pass:
    """One side-by-side run: Berth and distribution on the same storage kind."""

    def __init__(self, name: str, work: Path, args, postgres: Postgres, dockerd: Dockerd | None):
        self.name, self.work, self.args = name, work, args
        self.postgres, self.dockerd = postgres, dockerd
        self.samples: dict[str, dict[str, list[float]]] = {key: {"berth": [], "distribution": []} for key in FIGURES}
        self.notes: dict[str, str] = {}
        self.s3: S3Server | None = None
        self.berth2: Berth | None = None
        self.nginx: Nginx | None = None

    # -- servers ---------------------------------------------------------------------------
    def start(self):
        env = {}
        storage = None
        if self.name == "s3":
            self.work.mkdir(parents=True, exist_ok=True)
            self.s3 = S3Server(self.work / "moto.log").start()
            env = self.s3.env(self.s3.create_bucket())
            bucket = self.s3.create_bucket()
            storage = {"s3": {"accesskey": env["AWS_ACCESS_KEY_ID"], "secretkey": env["AWS_SECRET_ACCESS_KEY"],
                              "region": env["AWS_S3_REGION_NAME"], "regionendpoint": self.s3.url,
                              "bucket": bucket, "secure": False, "v4auth": True}}
        database = self.postgres.database(f"bench_{self.name}")
        self.berth = Berth(self.work / "berth", database, env).start()
        self.distribution = Distribution(self.work / "distribution", storage).start()
        self.user = BerthUser(self.berth)
        self.servers = {"berth": self.berth, "distribution": self.distribution}
        self.registries = {
            "berth": client.Registry("berth", self.berth.url, self.user.headers),
            "distribution": client.Registry("distribution", self.distribution.url),
        }
        log(f"{self.name}: Berth at {self.berth.url} (workers {self.berth.worker_pids()}), "
            f"distribution at {self.distribution.url}")
        if "push_chunks_nginx" in self.args.shapes:
            # A second app server on the same database and blob store, both behind one nginx.
            self.berth2 = Berth(self.work / "berth2", database, env, data_dir=self.berth.data_dir).start()
            self.nginx = Nginx(self.work / "nginx", f"127.0.0.1:{free_port()}",
                               [self.berth.host, self.berth2.host]).start()
            wait_until(lambda: self.nginx.alive() and http_up(f"{self.nginx.url}/v2/"), timeout=30,
                       what="nginx", log=self.nginx.log)
            self.registries["berth_nginx"] = client.Registry("berth", self.nginx.url, self.user.headers)
            log(f"{self.name}: nginx at {self.nginx.url} over Berth at {self.berth.url} and {self.berth2.url}")

    def stop(self):
        for server in (self.nginx, self.berth2, getattr(self, "berth", None), getattr(self, "distribution", None),
                       self.s3):
            if server is not None:
                server.stop()

    def repository(self, name: str) -> str:
        repository = f"alice/bench-{name}"
        self.user.names.add(repository)
        self.user._token = None
        return repository

    def order(self, rep: int) -> list[str]:
        return ["berth", "distribution"] if rep % 2 == 0 else ["distribution", "berth"]

    # -- figures ---------------------------------------------------------------------------
    def settle(self, size: int) -> None:
        """Start a push sample from the same memory state whichever server it is for.

        Writes go to the page cache. Virtual machines like the one these figures come from hand
        free memory back to their host, and writing into memory the host must map again ran at
        ~400 MB/s for either server (the first sample of a run, after freed memory, at 5 GB/s).
        So: flush what earlier samples wrote, then write and delete a scratch file of twice the
        blob's size, leaving that much memory freed and mapped for the sample to use.
        """
        os.sync()
        scratch = self.work / "scratch"
        block = bytes(MiB)
        with scratch.open("wb") as f:
            for _ in range(2 * size // MiB):
                f.write(block)
        scratch.unlink()

    def pushes(self, size: int) -> dict:
        """Return, per push figure, the function that pushes a blob in that shape."""
        piece = self.args.stream_chunk_kib * 1024
        chunks = partial(client.push_chunked, chunk=16 * MiB, reconnect=True)
        return {
            "push_monolithic": client.push_monolithic,
            "push_chunked": partial(client.push_chunked, chunk=16 * MiB),
            "push_stream": partial(client.push_stream, piece=piece),
            "push_length": partial(client.push_chunked, chunk=size),
            "push_chunks": chunks,
            "push_chunks_nginx": chunks,
        }

    def blobs(self, data: DataFile):
        mono = self.repository("mono")
        size = data.size
        shapes = [key for key in self.pushes(size) if key in self.args.shapes]
        repositories = {key: mono if key == "push_monolithic" else self.repository(key.removeprefix("push_"))
                        for key in shapes}
        for rep in range(self.args.reps):
            for key in shapes:
                pushed = data.fresh()
                if key == "push_monolithic":
                    digest = pushed  # the blob the pull figures read
                for label in self.order(rep):
                    registry = self.registries["berth_nginx" if key == "push_chunks_nginx" and label == "berth"
                                               else label]
                    self.settle(size)
                    seconds = self.pushes(size)[key](registry, repositories[key], str(data.path), pushed)
                    self.samples[key][label].append(size / seconds / MB)
            if "push_monolithic" not in shapes:
                digest = data.fresh()
                for registry in self.registries.values():
                    client.push_monolithic(registry, mono, str(data.path), digest)
            for label in self.order(rep):
                # Several pulls per sample: one 256 MiB pull takes ~0.1 s on loopback.
                server = self.servers[label]
                before = cpu_seconds(server.pids())
                speeds = [size / client.pull(self.registries[label], mono, digest, size) / MB
                          for _ in range(PULLS_PER_SAMPLE)]
                spent = cpu_seconds(server.pids()) - before
                self.samples["pull"][label].append(median(speeds))
                self.samples["pull_cpu"][label].append(spent / (PULLS_PER_SAMPLE * size / 1e9))
            log(f"{self.name}: blobs rep {rep + 1}: " + self._last((*shapes, "pull", "pull_cpu")))

    def manifests(self):
        name = self.repository("manifest")
        config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
        layer = os.urandom(1024)
        for registry in self.registries.values():
            config_digest = client.put_blob_bytes(registry, name, config)
            layer_digest = client.put_blob_bytes(registry, name, layer)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                           "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                            "size": len(layer)}],
            }).encode()
            client.put_manifest(registry, name, "latest", manifest, MANIFEST_TYPE)
        # A pull token for the private package, as docker pull would hold.
        token = self.user.registry_token([name], "pull")
        headers = {"berth": {"Authorization": f"Bearer {token}", "Accept": MANIFEST_TYPE},
                   "distribution": {"Accept": MANIFEST_TYPE}}
        for rep in range(self.args.reps):
            for label in self.order(rep):
                url = f"{self.registries[label].base_url}/v2/{name}/manifests/latest"
                wrk(url, headers[label], 1)  # warm up: connections, caches
                result = wrk(url, headers[label], self.args.wrk_seconds)
                self.samples["manifest_rps"][label].append(result["rps"])
                self.samples["manifest_p50"][label].append(result["p50"])
                self.samples["manifest_p99"][label].append(result["p99"])
            log(f"{self.name}: manifests rep {rep + 1}: "
                + self._last(("manifest_rps", "manifest_p50", "manifest_p99")))

    def docker(self, data: DataFile):
        docker = self.dockerd.docker
        docker("login", self.berth.host, "-u", self.user.username, "--password-stdin", input=self.user.pat.encode())
        hosts = {"berth": self.berth.host, "distribution": self.distribution.host}
        for rep in range(self.args.reps):
            data.fresh()
            archive = self.work / "layer.tar"
            with tarfile.open(archive, "w") as tar:
                tar.add(data.path, arcname="layer.bin")
            local = f"berth-bench-{self.name}:{rep}"
            docker("import", str(archive), local)
            archive.unlink()
            refs = {label: f"{host}/alice/bench-docker:{self.name}-{rep}" for label, host in hosts.items()}
            for ref in refs.values():
                docker("tag", local, ref)
            for label in self.order(rep):
                start = time.perf_counter()
                docker("push", refs[label])
                self.samples["docker_push"][label].append(time.perf_counter() - start)
            docker("rmi", local, *refs.values())
            for label in self.order(rep):
                start = time.perf_counter()
                docker("pull", refs[label])
                self.samples["docker_pull"][label].append(time.perf_counter() - start)
                docker("rmi", refs[label])
            log(f"{self.name}: docker rep {rep + 1}: " + self._last(("docker_push", "docker_pull")))

    def memory(self, big: DataFile):
        """Peak RSS while a 1 GiB blob is pushed monolithically and in chunks."""
        name = self.repository("memory")
        pids = {"berth": self.berth.pids, "distribution": self.distribution.pids}
        for label in ("berth", "distribution"):
            registry = self.registries[label]
            registry.headers()  # the token request is not part of the push
            with PeakRSS(pids[label]) as peak:
                client.push_monolithic(registry, name, str(big.path), big.fresh())
                client.push_chunked(registry, name, str(big.path), big.fresh(), 16 * MiB)
            per_worker = [size for pid, size in peak.per_process.items() if label == "distribution"
                          or pid != self.berth.process.pid]
            self.samples["rss_peak_total"][label].append(peak.total / MB)
            self.samples["rss_peak_worker"][label].append(max(per_worker) / MB)
            if label == "berth":
                self.notes["rss_per_process"] = ", ".join(
                    f"{'master' if pid == self.berth.process.pid else 'worker'} {pid}: {size / MB:.0f} MB"
                    for pid, size in sorted(peak.per_process.items()))
        log(f"{self.name}: memory: " + self._last(("rss_peak_total", "rss_peak_worker")))

    def _last(self, keys) -> str:
        parts = []
        for key in keys:
            values = self.samples[key]
            parts.append(f"{key} berth {values['berth'][-1]:.1f} / distribution {values['distribution'][-1]:.1f}")
        return "; ".join(parts)

    # -- results ---------------------------------------------------------------------------
    def summary(self) -> dict:
        figures = {}
        for key, figure in FIGURES.items():
            berth, distribution = self.samples[key]["berth"], self.samples[key]["distribution"]
            if not berth or not distribution:
                continue
            b, d = median(berth), median(distribution)
            ratio = b / d if d else None
            met = None
            target = figure.target(self.name)
            if target is not None and ratio is not None:
                met = ratio >= target
            if figure.berth_below is not None:
                met = b < figure.berth_below
            figures[key] = {
                "label": figure.label, "unit": figure.unit, "higher_is_better": figure.higher_is_better,
                "berth": berth, "distribution": distribution, "berth_median": b, "distribution_median": d,
                "ratio": ratio, "target": target_text(figure, self.name), "met": met,
            }
        return {"figures": figures, "notes": self.notes}


def check_tools(skip_docker: bool, nginx: bool) -> None:
    missing = [tool for tool in ("docker-registry", "wrk") if shutil.which(tool) is None]
    if not skip_docker:
        missing += [tool for tool in ("docker", "dockerd") if shutil.which(tool) is None]
    if nginx and shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        missing.append("nginx")
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install -y docker-registry wrk docker.io nginx")
    # Debian's package may start its own registry service on :5000; the bench never uses it.


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of every figure (median reported)")
    parser.add_argument("--blob-mib", type=int, default=256, help="size of the pushed and pulled blob")
    parser.add_argument("--memory-mib", type=int, default=1024, help="size of the blob pushed while RSS is sampled")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--passes", default="filesystem,s3", help="comma-separated: filesystem, s3")
    parser.add_argument("--only", default="blobs,manifests,docker,memory",
                        help="comma-separated parts: blobs, manifests, docker, memory")
    parser.add_argument("--shapes", default=",".join(key for key in FIGURES if key.startswith("push_")),
                        help="comma-separated push figures of the blobs part (push_monolithic, push_stream, ...)")
    parser.add_argument("--stream-chunk-kib", type=int, default=32,
                        help="chunk size of the chunked-encoding PATCH (Go's io.Copy writes 32 KiB)")
    args = parser.parse_args(argv)
    args.shapes = set(args.shapes.split(",")) if "blobs" in args.only.split(",") else set()
    parts = set(args.only.split(","))
    check_tools("docker" not in parts, "push_chunks_nginx" in args.shapes)
    work = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    results = {"started": datetime.now(UTC).isoformat(), "machine": machine(), "reps": args.reps,
               "blob_mib": args.blob_mib, "passes": {}}
    postgres = dockerd = None
    try:
        log(f"working in {work}; writing {args.blob_mib} MiB and {args.memory_mib} MiB of random data")
        data = DataFile(work / "blob.bin", args.blob_mib * MiB)
        big = DataFile(work / "big.bin", args.memory_mib * MiB) if "memory" in parts else None
        postgres = Postgres().start()
        if "docker" in parts:
            dockerd = Dockerd().start()
        for name in args.passes.split(","):
            run = Pass(name, work / name, args, postgres, dockerd)
            try:
                run.start()
                if "blobs" in parts:
                    run.blobs(data)
                if "manifests" in parts:
                    run.manifests()
                if "docker" in parts:
                    run.docker(data)
                if "memory" in parts:
                    run.memory(big)
            finally:
                run.stop()
                results["passes"][name] = run.summary()
                shutil.rmtree(work / name, ignore_errors=True)
    finally:
        if dockerd is not None:
            dockerd.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["finished"] = datetime.now(UTC).isoformat()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\nJSON: {path}")
    return 0
