"""Profile Berth's hot paths with py-spy: `python -m bench.profile manifest|push|chunked|pull`.

Starts Berth alone (as the benchmark does), drives one workload for a few seconds and records
every gunicorn worker with `py-spy record` (pip install py-spy), writing a flame graph (SVG)
and the top functions by own time to bench/results/.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import client
from bench.measure import DataFile, MiB, log, wrk
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("workload", choices=["manifest", "push", "chunked", "pull"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--format", default="raw", choices=["raw", "speedscope", "flamegraph"])
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="berth-profile-"))
    postgres = Postgres().start()
    options = argparse.Namespace(reps=1, wrk_seconds=args.seconds, shapes=set(), stream_chunk_kib=32)
    run = Pass("filesystem", work / "fs", options, postgres, None)
    RESULTS.mkdir(exist_ok=True)
    try:
        run.start()
        berth = run.registries["berth"]
        name = run.repository("profile")
        if args.workload == "manifest":
            options.reps = 0  # only the setup: push a manifest to both registries
            run.manifests()
            token = run.user.registry_token(["alice/bench-manifest"], "pull")
            url = f"{berth.base_url}/v2/alice/bench-manifest/manifests/latest"
            work_fn = lambda: wrk(url, {"Authorization": f"Bearer {token}", "Accept": MANIFEST_TYPE},  # noqa: E731
                                  args.seconds)
        else:
            data = DataFile(work / "blob.bin", 256 * MiB)
            digest = data.fresh()
            if args.workload == "pull":
                client.push_monolithic(berth, name, str(data.path), digest)

            def work_fn():
                deadline = time.monotonic() + args.seconds
                while time.monotonic() < deadline:
                    if args.workload == "push":
                        client.push_monolithic(berth, name, str(data.path), data.fresh())
                    elif args.workload == "chunked":
                        client.push_chunked(berth, name, str(data.path), data.fresh(), 16 * MiB)
                    else:
                        client.pull(berth, name, digest, data.size)
        recorders, outputs = [], []
        for pid in run.berth.worker_pids():
            out = RESULTS / f"profile-{args.workload}-{pid}.{'json' if args.format == 'speedscope' else 'txt'}"
            outputs.append(out)
            recorders.append(subprocess.Popen(
                [py_spy, "record", "-p", str(pid), "-d", str(args.seconds + 2), "-r", "200", "-f", args.format,
                 "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)
        thread = threading.Thread(target=lambda: log(f"result: {work_fn()}"))
        thread.start()
        thread.join()
        for recorder in recorders:
            recorder.wait()
        for out in outputs:
            log(f"profile: {out}")
            if args.format == "raw":
                print(summarize(out.read_text()))
    finally:
        run.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
