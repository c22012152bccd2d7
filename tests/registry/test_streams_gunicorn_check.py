"""registry/api/streams.py checks gunicorn's body readers at import and stays out of their way if they changed."""

import importlib
import logging

from gunicorn.http import unreader

import registry.api.streams as streams


def test_the_pinned_gunicorn_has_what_the_socket_readers_need():
    assert streams.gunicorn_missing() == []
    assert streams.DIRECT


def test_a_gunicorn_without_take_buffered_falls_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.delattr(unreader.Unreader, "take_buffered")
    with caplog.at_level(logging.WARNING, logger="registry.api.streams"):
        reloaded = importlib.reload(streams)
    try:
        assert not reloaded.DIRECT
        assert "Unreader.take_buffered" in caplog.text
        # A gunicorn request environ is then read through wsgi.input, never taken over.
        reader = type("LengthReader", (), {"__module__": "gunicorn.http.body", "length": 5})()
        environ = {"gunicorn.socket": object(), "wsgi.input": type("Body", (), {"reader": reader})()}
        assert reloaded._gunicorn_reader(environ, "LengthReader") is None
    finally:
        monkeypatch.undo()
        importlib.reload(streams)
    assert streams.DIRECT
