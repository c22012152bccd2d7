"""config/access_log.py writes the access log's line exactly as gunicorn's logger, and leaves other setups to it."""

import base64
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from config.access_log import AccessLogger

REQUESTS = [
    # environ, response status, bytes sent
    ({"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET", "RAW_URI": "/v2/alice/app/manifests/1?x=\"y\"",
      "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": 'docker/27.0 go/1.22 "quoted"',
      "HTTP_REFERER": "https://example.com/"}, "200 OK", 1234),
    ({"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "PUT", "RAW_URI": "/v2/alice/app/blobs/uploads/1",
      "SERVER_PROTOCOL": "HTTP/1.0",
      "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:secret").decode()}, "201 Created", None),
    ({"REQUEST_METHOD": "HEAD", "RAW_URI": "/v2/", "SERVER_PROTOCOL": "HTTP/1.1",
      "HTTP_AUTHORIZATION": "Basic not-base64!"}, 401, 0),
]


def logger(cls, tmp_path, name: str, **settings):
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / name))
    for key, value in settings.items():
        cfg.set(key, value)
    return cls(cfg)


def lines(log, tmp_path, name: str) -> list[str]:
    for status, environ, sent in ((s, e, b) for e, s, b in REQUESTS):
        resp = SimpleNamespace(status=status, sent=sent, headers=[("Content-Type", "application/json")])
        req = SimpleNamespace(headers=[("USER-AGENT", environ.get("HTTP_USER_AGENT", ""))])
        log.access(resp, req, environ, timedelta(seconds=1, microseconds=2345))
    for handler in log.access_log.handlers:
        handler.flush()
    return (tmp_path / name).read_text().splitlines()


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch):
    monkeypatch.setattr(glogging.Logger, "now", lambda self: "[01/Dec/2026:12:00:00 +0000]")


def test_the_default_format_gives_gunicorns_line(tmp_path, monkeypatch):
    expected = lines(logger(glogging.Logger, tmp_path, "gunicorn.log"), tmp_path, "gunicorn.log")
    ours = logger(AccessLogger, tmp_path, "berth.log")
    # The line must come from AccessLogger itself, not from gunicorn's path.
    monkeypatch.setattr(glogging.Logger, "access", lambda *args: pytest.fail("went through gunicorn's access()"))
    assert lines(ours, tmp_path, "berth.log") == expected
    assert expected[0] == ('10.0.0.7 - - [01/Dec/2026:12:00:00 +0000] "GET /v2/alice/app/manifests/1?x=\\"y\\" '
                           'HTTP/1.1" 200 1234 "https://example.com/" "docker/27.0 go/1.22 \\"quoted\\""')
    assert expected[1].startswith('127.0.0.1 - alice ') and expected[1].endswith('201 - "-" "-"')
    assert expected[2].startswith('- - - ') and ' 401 0 ' in expected[2]


def test_another_format_goes_through_gunicorn(tmp_path):
    custom = '%(h)s %(m)s %(U)s %(s)s %(L)s %({content-type}o)s'
    expected = lines(logger(glogging.Logger, tmp_path, "a.log", access_log_format=custom), tmp_path, "a.log")
    assert lines(logger(AccessLogger, tmp_path, "b.log", access_log_format=custom), tmp_path, "b.log") == expected
    assert expected[0] == "10.0.0.7 GET None 200 1.002345 application/json"


def test_a_filter_or_another_handler_gets_its_records(tmp_path):
    ours = logger(AccessLogger, tmp_path, "berth.log")
    seen = []
    ours.access_log.addFilter(lambda record: seen.append(record.getMessage()) or True)
    written = lines(ours, tmp_path, "berth.log")
    assert seen == written and len(written) == len(REQUESTS)

    other = logger(AccessLogger, tmp_path, "other.log")
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    other.access_log.addHandler(Collect())
    assert lines(other, tmp_path, "other.log") == records == written


def test_a_disabled_access_log_writes_nothing(tmp_path):
    cfg = Config()
    log = AccessLogger(cfg)
    assert not log.access_log_enabled
    log.access(SimpleNamespace(status="200 OK", sent=1, headers=[]), SimpleNamespace(headers=[]),
               REQUESTS[0][0], timedelta())
    assert list(tmp_path.iterdir()) == []
