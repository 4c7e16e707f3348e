#!/usr/bin/env python3
"""A webhook receiver on loopback for the tests: writes each POST body as
one line to LOG, answers 503 to the first FAILS requests, and hangs
(never answers) while the file HANG exists. Prints its port to PORTFILE."""
import http.server, json, os, sys, time

log, portfile, fails = sys.argv[1], sys.argv[2], int(sys.argv[3])
hang = log + ".hang"
seen = {"n": 0}


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen["n"] += 1
        with open(log + ".tries", "a") as f:
            f.write("%d\n" % seen["n"])
        while os.path.exists(hang):
            time.sleep(0.05)
        if seen["n"] <= fails:
            self.send_response(503)
            self.end_headers()
            return
        json.loads(body)
        with open(log, "a") as f:
            f.write(body.decode() + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
