#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an S3 test double (moto, s3rver).

  s3_fault_proxy.py --target 127.0.0.1:PORT --port-file FILE

Listens on 127.0.0.1 (a free port, written to FILE once it listens) and
forwards every request unchanged (the Host header too: it is signed) to the
target.  Python 3 standard library only.

Control (never forwarded), from the test:
  POST /__fault/set   body: JSON {"mode": M, "count": N, "delay_ms": D, "match": S}
                      the next N requests (whose "METHOD path?query" contains S,
                      when given) get fault M:
        "503"       503 SlowDown, request not forwarded
        "500"       500 InternalError, not forwarded
        "403"       403 AccessDenied, not forwarded
        "expired"   400 ExpiredToken, not forwarded
        "skew"      403 RequestTimeTooSkewed, ServerTime 20 minutes ahead
        "reset"     forwarded, then the answer's headers and half its body are
                    sent and the connection is reset (RST)
        "delay"     forwarded after D ms
        "error200"  200 whose body is an S3 Error (InternalError), not forwarded
  GET  /__fault/stats  {"requests": forwarded-or-faulted requests, "faults": N,
                        "connections": distinct client connections they came on}
  POST /__fault/reset  clears the fault and the counters
"""
import argparse
import datetime
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"mode": None, "count": 0, "delay_ms": 0, "match": "", "requests": 0, "faults": 0,
         "peers": set()}
TARGET = ("127.0.0.1", 0)


def error_xml(code, message, extra=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message>%s<RequestId>fault-proxy</RequestId></Error>'
            % (code, message, extra)).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("s3_fault_proxy: " + (fmt % args) + "\n")

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, body):
        if self.path == "/__fault/set":
            cfg = json.loads(body or b"{}")
            with LOCK:
                STATE.update(mode=cfg.get("mode"), count=int(cfg.get("count", 1)),
                             delay_ms=int(cfg.get("delay_ms", 0)), match=cfg.get("match", ""))
            return self._send(200, b"{}", "application/json")
        if self.path == "/__fault/reset":
            with LOCK:
                STATE.update(mode=None, count=0, delay_ms=0, match="", requests=0, faults=0,
                             peers=set())
            return self._send(200, b"{}", "application/json")
        if self.path == "/__fault/stats":
            with LOCK:
                out = {"requests": STATE["requests"], "faults": STATE["faults"],
                       "connections": len(STATE["peers"])}
            return self._send(200, json.dumps(out).encode(), "application/json")
        return self._send(404, b"{}", "application/json")

    def _pick_fault(self):
        with LOCK:
            STATE["requests"] += 1
            STATE["peers"].add(self.client_address)
            what = self.command + " " + self.path
            if STATE["mode"] and STATE["count"] > 0 and STATE["match"] in what:
                STATE["count"] -= 1
                STATE["faults"] += 1
                return STATE["mode"], STATE["delay_ms"]
        return None, 0

    def _forward(self, body):
        conn = http.client.HTTPConnection(*TARGET, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "proxy-connection")}
        conn.request(self.command, self.path, body=body if body or self.command in
                     ("PUT", "POST") else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.getheaders(), data

    def _handle(self):
        body = self._body()
        if self.path.startswith("/__fault/"):
            return self._control(body)
        mode, delay_ms = self._pick_fault()
        if mode == "503":
            return self._send(503, error_xml("SlowDown", "Please reduce your request rate."))
        if mode == "500":
            return self._send(500, error_xml("InternalError", "We encountered an internal error."))
        if mode == "403":
            return self._send(403, error_xml("AccessDenied", "Access Denied"))
        if mode == "expired":
            return self._send(400, error_xml("ExpiredToken",
                                             "The provided token has expired."))
        if mode == "skew":
            now = datetime.datetime.now(datetime.timezone.utc)
            ahead = now + datetime.timedelta(minutes=20)
            extra = ("<RequestTime>%s</RequestTime><ServerTime>%s</ServerTime>"
                     "<MaxAllowedTime>900000</MaxAllowedTime>"
                     % (now.strftime("%Y%m%dT%H%M%SZ"), ahead.strftime("%Y-%m-%dT%H:%M:%SZ")))
            return self._send(403, error_xml(
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                extra))
        if mode == "error200":
            return self._send(200, b"\n \n" + error_xml("InternalError", "Please try again."))
        if mode == "delay":
            time.sleep(delay_ms / 1000.0)
        status, headers, data = self._forward(body)
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                 "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "reset":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        self.wfile.write(data)
        return None

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET


def main():
    global TARGET
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    TARGET = (host, int(port))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
