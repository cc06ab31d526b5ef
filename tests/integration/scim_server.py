#!/usr/bin/python3
"""A loopback HTTPS SCIM service for the tests: serves the Users and Groups
of the ListResponse files given, one resource a page unless asked for
more, answering only a request with the right bearer token. Each request
is logged, one line, to LOG.

usage: scim_server.py CERT KEY TOKEN LOG PORTFILE FILE...
"""
import http.server
import json
import os
import ssl
import sys
import urllib.parse

cert, key, token, log, portfile = sys.argv[1:6]
resources = {"Users": [], "Groups": []}
for path in sys.argv[6:]:
    with open(path) as f:
        for r in json.load(f)["Resources"]:
            kind = "Groups" if any("Group" in s for s in r.get("schemas", [])) else "Users"
            resources[kind].append(r)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        kind = url.path.rstrip("/").split("/")[-1]
        with open(log, "a") as f:
            f.write(f"{url.path} {url.query} {self.headers.get('Authorization', '-')}\n")
        if self.headers.get("Authorization") != f"Bearer {token}":
            return self.answer(401, {"detail": "no"})
        if kind not in resources:
            return self.answer(404, {"detail": "no such endpoint"})
        start = int(q.get("startIndex", ["1"])[0])
        count = min(int(q.get("count", ["1"])[0]), 1)
        page = resources[kind][start - 1:start - 1 + count]
        self.answer(200, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources[kind]), "startIndex": start,
            "itemsPerPage": len(page), "Resources": page})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
