"""config/metrics.py: the first requests of a process arrive on several threads at once."""

import threading

from config import metrics


def test_metrics_are_made_once_when_many_threads_count_first(monkeypatch, tmp_path, settings):
    monkeypatch.setattr(metrics, "_made", {})
    monkeypatch.setattr(metrics, "_children", {})
    made = []
    real = metrics._make

    def slow_make():
        made.append(1)
        threading.Event().wait(0.05)  # widen the window the threads race in
        return real()

    monkeypatch.setattr(metrics, "_make", slow_make)
    errors, start = [], threading.Barrier(8)

    def count():
        start.wait()
        try:
            metrics.child("requests", "manifests", "GET", "200").inc()
        except Exception as error:  # DuplicateTimeseries before the lock
            errors.append(error)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and made == [1]
