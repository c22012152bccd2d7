"""gunicorn's logger, writing the access log's line for gunicorn's default format itself.

For every request gunicorn builds a dictionary of every atom its format language knows (each
request and response header and each environ entry among them), copies it to escape quotes and
hands it to logging, which makes a LogRecord and formats it: a quarter of what a trivial request
costs a worker, a tenth of a manifest pull. The default format uses nine of those atoms.
AccessLogger works those nine out as gunicorn does (its own _get_user() and now()) and writes the
line to the handlers gunicorn made, under their locks, when logging would do nothing more: the
default format, the access log enabled for INFO, not propagated, no filters, and only plain
stream and file handlers with the plain "%(message)s" formatter. Any other format or logging
configuration (logconfig_dict, syslog, a filter) goes through gunicorn and logging as before.
tests/test_access_log.py checks that both write the same line.

config/gunicorn.py sets it as gunicorn's logger_class.
"""

import logging
import traceback

from gunicorn import glogging
from gunicorn.config import AccessLogFormat

DEFAULT_FORMAT = AccessLogFormat.default
PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)


class AccessLogger(glogging.Logger):
    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        handlers = self.plain_handlers()
        if handlers is None or self.cfg.access_log_format != DEFAULT_FORMAT:
            return super().access(resp, req, environ, request_time)
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "b": sent is not None and str(sent) or "-",
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }
        line = DEFAULT_FORMAT % self.atoms_wrapper_class(atoms)  # gunicorn's quote escaping
        for handler in handlers:
            handler.acquire()
            try:
                handler.stream.write(line + handler.terminator)
                handler.flush()
            except Exception:
                self.error(traceback.format_exc())
            finally:
                handler.release()

    def plain_handlers(self) -> list[logging.Handler] | None:
        """Return the access log's handlers if writing its line to them is all logging would do, else None."""
        log = self.access_log
        if log.propagate or log.filters or not log.isEnabledFor(logging.INFO) or not log.handlers:
            return None
        for handler in log.handlers:
            formatter = handler.formatter
            if (type(handler) not in PLAIN_HANDLERS or handler.filters or handler.level > logging.INFO
                    or getattr(handler, "stream", None) is None or type(formatter) is not logging.Formatter
                    or formatter._fmt != self.access_fmt or formatter._style.__class__ is not logging.PercentStyle):
                return None
        return log.handlers
