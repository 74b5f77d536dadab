#!/usr/bin/env python3
"""Register the simulator's clusters with the server: compose.yaml (profile `sim`) and `make demo`.

Waits for EXPECTED_CLUSTERS kubeconfigs in KUBECONFIG_DIR and for SERVER_URL/readyz, then
registers each kubeconfig as a cluster named after its file (`sim-1.yaml` -> `sim-1`) through
`POST /api/v1/clusters`, with CLUSTER_LABELS (`k=v,k2=v2`) and CLUSTER_DESCRIPTION. A cluster that
is already registered (409) is left as it is, so running it again is harmless; with
REPLACE_EXISTING=1 its kubeconfig is replaced instead (PATCH), which `make demo` needs: its
simulator writes kubeconfigs with a fresh CA on each start. Standard library only: it runs in a
stock Python image.
"""

import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request

SERVER_URL = os.environ.get("SERVER_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")
KUBECONFIG_DIR = pathlib.Path(os.environ.get("KUBECONFIG_DIR", "/kubeconfigs"))
EXPECTED = int(os.environ.get("EXPECTED_CLUSTERS", "1"))
TIMEOUT_SECS = int(os.environ.get("TIMEOUT_SECS", "180"))
REPLACE_EXISTING = os.environ.get("REPLACE_EXISTING", "") == "1"
LABELS = dict(
    pair.split("=", 1)
    for pair in os.environ.get("CLUSTER_LABELS", "simulated=true").split(",")
    if "=" in pair
)
DESCRIPTION = os.environ.get("CLUSTER_DESCRIPTION", "simulated cluster (compose profile sim)")


def request(method, path, body=None):
    """(status, body text) of one request to the server."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(SERVER_URL + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if ADMIN_TOKEN:
        req.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(what, ready):
    """Poll `ready()` every second until it is true or the timeout passes."""
    deadline = time.monotonic() + TIMEOUT_SECS
    while not ready():
        if time.monotonic() > deadline:
            sys.exit(f"register-sim: gave up waiting for {what} after {TIMEOUT_SECS} s")
        time.sleep(1)


def kubeconfigs():
    return sorted(KUBECONFIG_DIR.glob("*.yaml"))


def server_ready():
    try:
        return request("GET", "/readyz")[0] == 200
    except OSError:
        return False


def register(path):
    """Register one kubeconfig; True when the cluster is registered afterwards."""
    body = {
        "name": path.stem,
        "description": DESCRIPTION,
        "labels": LABELS,
        "kubeconfig": path.read_text(),
    }
    status, text = request("POST", "/api/v1/clusters", body)
    if status == 409 and REPLACE_EXISTING:
        status, text = request("PATCH", f"/api/v1/clusters/{path.stem}", {"kubeconfig": body["kubeconfig"]})
        if status == 200:
            print(f"register-sim: {path.stem}: kubeconfig replaced")
            return True
    elif status == 201:
        print(f"register-sim: registered {path.stem}")
        return True
    elif status == 409:
        print(f"register-sim: {path.stem} is already registered")
        return True
    print(f"register-sim: {path.stem}: HTTP {status}: {text}", file=sys.stderr)
    return False


def main():
    wait_for(f"{EXPECTED} kubeconfigs in {KUBECONFIG_DIR}", lambda: len(kubeconfigs()) >= EXPECTED)
    wait_for(f"{SERVER_URL}/readyz", server_ready)
    time.sleep(1)  # the simulator writes each kubeconfig in one call; let the last one finish
    failed = sum(not register(path) for path in kubeconfigs())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
