#!/usr/bin/env python3
"""moto's S3 (and the rest of moto) on 127.0.0.1, counting what it serves.

    python tests/servers/s3.py        (the Python of a venv with moto[server], see remote-requirements.txt)

Prints `PORT <n>` once it listens. The same WSGI app `moto_server` runs, behind a middleware
that counts the requests and the response body bytes per bucket/key:

  GET  /_stats        -> JSON {"total_bytes", "requests", "objects": {"<bucket>/<key>":
                         {"requests", "bytes"}}, "log": ["METHOD target Range status bytes"...]}
                         (HEAD answers count no bytes)
  POST /_stats/reset

(no S3 bucket can be named `_stats`, so these never shadow a bucket.)
"""

import json
import sys
import threading
import urllib.parse

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

LOCK = threading.Lock()


def fresh():
    return {"total_bytes": 0, "requests": 0, "objects": {}, "log": []}


STATS = fresh()


class Counting:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        global STATS
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in ("/_stats", "/_stats/reset"):
            if path == "/_stats/reset" and method == "POST":
                with LOCK:
                    STATS = fresh()
                body = b'{"ok": true}'
            else:
                with LOCK:
                    body = json.dumps(STATS).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        status = {}

        def sr(s, headers, exc_info=None):
            status["s"] = s.split(" ", 1)[0]
            return start_response(s, headers, exc_info)

        result = self.app(environ, sr)
        key = urllib.parse.unquote(path.lstrip("/"))
        target = path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        rng = environ.get("HTTP_RANGE", "-")

        def gen():
            n = 0
            try:
                for chunk in result:
                    if method != "HEAD":
                        n += len(chunk)
                    yield chunk
            finally:
                if hasattr(result, "close"):
                    result.close()
                with LOCK:
                    STATS["requests"] += 1
                    STATS["total_bytes"] += n
                    o = STATS["objects"].setdefault(key, {"requests": 0, "bytes": 0})
                    o["requests"] += 1
                    o["bytes"] += n
                    STATS["log"].append("%s %s %s %s %d" % (method, target, rng, status.get("s"), n))

        return gen()


def main():
    app = Counting(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    print("PORT %d" % server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
