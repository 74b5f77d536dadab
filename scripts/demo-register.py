#!/usr/bin/env python3
"""Register (or re-register) every kubeconfig in a directory with the server.

Used by `make demo`: the simulator writes `<cluster>.yaml` kubeconfigs with a fresh CA on each
start, so a cluster that is already registered gets its kubeconfig replaced (PATCH) rather
than skipped. Standard library only.

usage: ADMIN_TOKEN=... demo-register.py SERVER_URL KUBECONFIG_DIR EXPECTED_COUNT
"""

import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    token = os.environ.get("ADMIN_TOKEN", "")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def main():
    server, directory, expected = sys.argv[1].rstrip("/"), pathlib.Path(sys.argv[2]), int(sys.argv[3])
    deadline = time.time() + 180
    while time.time() < deadline:
        files = sorted(directory.glob("*.yaml"))
        ready, _ = call("GET", server + "/readyz")
        if len(files) >= expected and ready == 200:
            break
        time.sleep(0.5)
    else:
        sys.exit(f"demo: gave up waiting for {expected} kubeconfigs in {directory} and {server}/readyz")
    for f in files:
        name = f.stem
        body = {"name": name, "kubeconfig": f.read_text(), "labels": {"env": "demo"},
                "description": "Simulated cluster (flux-orchestrator sim)"}
        status, text = call("POST", server + "/api/v1/clusters", body)
        if status == 409:
            status, text = call("PATCH", f"{server}/api/v1/clusters/{name}", {"kubeconfig": body["kubeconfig"]})
        if status not in (200, 201):
            sys.exit(f"demo: registering {name} failed ({status}): {text}")
        print(f"demo: cluster {name} registered")


if __name__ == "__main__":
    main()
