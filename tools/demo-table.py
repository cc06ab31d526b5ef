#!/usr/bin/env python3
"""Print the decisions of an audit chain as a table: every exec, connect
and denial, one row each (repeats folded), then a count of the allowed
opens. Used by `make demo`; reads the chain, never writes it."""
import json
import sys


def printable(text):
    """An object name as it can be shown on a terminal: control characters
    (a newline, an escape sequence an agent chose) are shown escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode()
                   for c in text)


def main():
    rows, seen, opens = [], set(), 0
    for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
        r = json.loads(line)
        if r.get("type") != "decision":
            continue
        key = (r["action"], printable(r["object"]), r["decision"], r["rule"])
        interesting = r["action"] != "open" or r["decision"] == "deny"
        if not interesting:
            opens += 1
            continue
        if key not in seen:
            seen.add(key)
            rows.append(key)
    width = max([len(k[1]) for k in rows] + [6])
    width = min(width, 60)
    print(f"  {'action':<8} {'object':<{width}} {'decision':<8} rule")
    for action, obj, decision, rule in rows:
        if len(obj) > width:
            obj = "..." + obj[-(width - 3):]
        print(f"  {action:<8} {obj:<{width}} {decision:<8} {rule}")
    print(f"  (and {opens} allowed file opens)")


if __name__ == "__main__":
    main()
