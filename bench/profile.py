"""Profile Berth's hot paths: `python -m bench.profile manifest|push|chunked|pull`.

Starts Berth as the benchmark does (PostgreSQL, gunicorn, production settings) and pushes what
the workload needs. manifest is profiled with cProfile in this process: Berth's WSGI application
(config/wsgi.py) on the server's database and settings answers the benchmark's manifest GET in
a loop (first without the profiler, for the time a pull takes), so the figures are what a pull
costs in Python and in its SQL round trips, without gunicorn's parsing or the network.
The other workloads record every gunicorn worker with `py-spy record` (pip install py-spy).
Results (pstats or py-spy output, and the top functions) go to bench/results/.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import client
from bench.measure import DataFile, MiB, log
from bench.run import MANIFEST_TYPE, RESULTS, Pass
from bench.servers import Postgres


def summarize(collapsed: str, top: int = 25) -> str:
    """Return the functions with the most samples, inclusive and own, from py-spy's raw (collapsed) output."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    lines = [f"{total} samples"]
    for title, table in (("inclusive", inclusive), ("own", own)):
        lines.append(f"-- top {top} by {title} time")
        for frame, n in sorted(table.items(), key=lambda item: -item[1])[:top]:
            lines.append(f"{100 * n / max(total, 1):5.1f}%  {frame}")
    return "\n".join(lines)


def manifest_environ(host: str, path: str, headers: dict[str, str]) -> dict:
    """Return the WSGI environ gunicorn builds for a GET of path with headers."""
    server, _, port = host.partition(":")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": server, "SERVER_PORT": port, "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def profile_manifest(run: Pass, seconds: int) -> Path:
    """Answer the benchmark's manifest GET in this process for seconds under cProfile; return the stats file."""
    run.manifests()  # with reps=0: only the pushes
    name = "alice/bench-manifest"
    token = run.user.registry_token([name], "pull")
    # This process becomes a Berth worker: same database, data folder and settings as the server.
    os.environ.update(run.berth.env)
    from config.wsgi import application

    environ = manifest_environ(run.berth.host, f"/v2/{name}/manifests/latest",
                               {"Authorization": f"Bearer {token}", "Accept": MANIFEST_TYPE})
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    def loop(deadline: float) -> int:
        count = 0
        while time.monotonic() < deadline:
            body = application(dict(environ, **{"wsgi.input": io.BytesIO()}), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
            count += 1
        return count

    loop(time.monotonic() + 1)  # warm up: connection, prepared statements, route cache
    started, cpu = time.perf_counter(), time.process_time()
    count = loop(time.monotonic() + seconds)
    spent, cpu = time.perf_counter() - started, time.process_time() - cpu
    # CPU time is the steadier figure on a busy machine: it leaves out PostgreSQL's share and waits.
    log(f"manifest: {count} GETs in {spent:.1f} s, {1e6 * spent / count:.0f} us each "
        f"({1e6 * cpu / count:.0f} us of CPU in this process)")
    statuses.clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    count = profiler.runcall(loop, time.monotonic() + seconds)
    spent = time.perf_counter() - started
    refused = [status for status in statuses if not status.startswith("200")]
    if refused:
        raise client.BenchError(f"{len(refused)} of {count} pulls were not answered 200: {refused[0]}")
    log(f"manifest: {count} GETs in {spent:.1f} s under cProfile ({1e6 * spent / count:.0f} us each)")
    out = RESULTS / "profile-manifest.pstats"
    profiler.dump_stats(out)
    for order in ("cumulative", "tottime"):
        pstats.Stats(str(out)).sort_stats(order).print_stats(30)
    return out


def profile_workers(run: Pass, workload: str, seconds: int, output_format: str, work: Path) -> None:
    """Drive workload against the server and record its workers with py-spy."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit(f"py-spy is not installed (pip install py-spy); the {workload} workload needs it")
    berth = run.registries["berth"]
    name = run.repository("profile")
    data = DataFile(work / "blob.bin", 256 * MiB)
    digest = data.fresh()
    if workload == "pull":
        client.push_monolithic(berth, name, str(data.path), digest)

    def work_fn():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if workload == "push":
                client.push_monolithic(berth, name, str(data.path), data.fresh())
            elif workload == "chunked":
                client.push_chunked(berth, name, str(data.path), data.fresh(), 16 * MiB)
            else:
                client.pull(berth, name, digest, data.size)

    recorders, outputs = [], []
    for pid in run.berth.worker_pids():
        out = RESULTS / f"profile-{workload}-{pid}.{'json' if output_format == 'speedscope' else 'txt'}"
        outputs.append(out)
        recorders.append(subprocess.Popen(
            [py_spy, "record", "-p", str(pid), "-d", str(seconds + 2), "-r", "200", "-f", output_format,
             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1)
    thread = threading.Thread(target=work_fn)
    thread.start()
    thread.join()
    for recorder in recorders:
        recorder.wait()
    for out in outputs:
        log(f"profile: {out}")
        if output_format == "raw":
            print(summarize(out.read_text()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("workload", choices=["manifest", "push", "chunked", "pull"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--format", default="raw", choices=["raw", "speedscope", "flamegraph"],
                        help="py-spy's output format (workloads other than manifest)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="berth-profile-"))
    postgres = Postgres().start()
    options = argparse.Namespace(reps=0, wrk_seconds=args.seconds, shapes=set(), stream_chunk_kib=32)
    run = Pass("filesystem", work / "fs", options, postgres, None)
    RESULTS.mkdir(exist_ok=True)
    try:
        run.start()
        if args.workload == "manifest":
            log(f"profile: {profile_manifest(run, args.seconds)}")
        else:
            profile_workers(run, args.workload, args.seconds, args.format, work)
    finally:
        run.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
