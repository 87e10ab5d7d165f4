"""A stand-in for AMD KDS and Intel PCS in the fetcher's tests: a threaded HTTP server on
127.0.0.1 that answers each request path (with its query) from a routes file read anew on
every request, and appends every path it is asked for to a log file, so a test can prove
that nothing was asked (fetching off, a cached item) or exactly what was.

    python3 fetch_server.py PORTFILE ROUTES LOG [CERT KEY]

writes the port it bound to PORTFILE; with CERT and KEY (PEM) it speaks HTTPS. ROUTES is JSON: {"/path?query": {"status": 200,
"file": PATH, "headers": {name: value}, "mode": "slow"}}; an unknown path is a 404.
"slow" sends the headers and then never the body (the client's timeout must end it).
Stopped by the test with SIGTERM to its PID."""

import http.server
import json
import os
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        with LOCK:
            with open(LOG, "a") as f:
                f.write(self.path + "\n")
        with open(ROUTES) as f:
            route = json.load(f).get(self.path)
        if route is None:
            body = b"no such resource\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = b""
        if route.get("file"):
            with open(route["file"], "rb") as f:
                body = f.read()
        self.send_response(route.get("status", 200))
        for k, v in route.get("headers", {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if route.get("mode") == "slow":
            self.wfile.flush()
            while True:
                time.sleep(1)
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    portfile, ROUTES, LOG = sys.argv[1:4]
    LOCK = threading.Lock()
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 6:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    srv.serve_forever()
