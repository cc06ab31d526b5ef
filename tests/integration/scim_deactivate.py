#!/usr/bin/python3
"""Copy SCIM documents (one after another) from stdin to stdout with the
user of id ID made inactive, written as VALUE (a JSON value: false, or
"false" as some providers send it).

usage: scim_deactivate.py ID VALUE <in >out
"""
import json
import sys

user_id, value = sys.argv[1], json.loads(sys.argv[2])
raw, dec, at, out = sys.stdin.read(), json.JSONDecoder(), 0, []
while raw[at:].strip():
    while raw[at].isspace():
        at += 1
    doc, at = dec.raw_decode(raw, at)
    for r in doc.get("Resources", []):
        if r.get("id") == user_id:
            r["active"] = value
    out.append(json.dumps(doc))
print("\n".join(out))
