"""gunicorn settings shared by `make run`, the Docker image and the tests (`gunicorn -c config/gunicorn.py`).

Anything here can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Threaded workers keep one long upload from blocking other requests. Two processes per CPU
# this process may run on: Python runs one thread at a time per process, and with only one
# per CPU, a worker that happens to hold most keep-alive connections leaves a CPU idle.
worker_class = "config.workers.ThreadWorker"  # gthread, accepting only with a thread free
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * len(os.sched_getaffinity(0))))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A 10 GB layer takes minutes: the timeout covers the 10-minute upload window.
timeout = 900
graceful_timeout = 30
keepalive = 75
# Blob GETs of local files go out with sendfile(), gunicorn's default. Don't set `sendfile`
# here: gunicorn reads any value, True included, as --no-sendfile.
# Several servers run side by side (tests, two app servers on one host); they must not
# fight over one control socket in $HOME.
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# gunicorn's logger, writing the default format's access line without logging's machinery when
# that is all logging would do (config/access_log.py).
logger_class = "config.access_log.AccessLogger"

# glibc raises its mmap threshold each time a large buffer is freed, after which blob-sized
# buffers (S3 parts, read buffers) come from per-thread arenas that never shrink: a worker's
# RSS then grows with its thread count. A fixed threshold keeps every buffer of 1 MiB or more
# in its own mapping, handed back to the system when freed.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024


def post_fork(server, worker):
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


def _metrics_dir() -> str:
    data_dir = os.environ.get("BERTH_DATA_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "var")
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(os.path.abspath(data_dir), "metrics")


def on_starting(server):
    # Every process counts into files of its own there (prometheus-client's multiprocess mode, config/metrics.py);
    # files of processes no longer running are an earlier run's and are dropped.
    directory = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _metrics_dir())
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        pid = name.rpartition("_")[2].partition(".")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            os.unlink(os.path.join(directory, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
