#!/usr/bin/env python3
"""Validate rendered Kubernetes manifests against the API's JSON schemas, offline.

Reads a multi-document YAML stream (`kubectl kustomize ...`) on stdin and checks every object,
strictly (an unknown field is an error), against each Kubernetes version given with -k. Unlike
`kubernetes-validate`'s own command line, an object whose kind has no schema is an error, not a
warning, and a requested version the package does not ship is an error, not a fallback to an
older one. Used by tests/it/deploy_manifests.rs; needs the packages in requirements-test.txt.

Exit status: 0 when every object is valid against every version, 1 otherwise, 2 on bad setup.
"""

import argparse
import pathlib
import re
import sys

REQUIREMENTS = pathlib.Path(__file__).with_name("requirements-test.txt")
INSTALL_HINT = (
    "install the pinned validator: python3 -m venv target/deploy-venv && "
    "target/deploy-venv/bin/pip install -r deploy/requirements-test.txt"
)


def pinned_version():
    """The kubernetes-validate version pinned in requirements-test.txt."""
    for line in REQUIREMENTS.read_text().splitlines():
        match = re.fullmatch(r"kubernetes-validate==(\S+)", line.strip())
        if match:
            return match.group(1)
    sys.exit(f"FATAL {REQUIREMENTS} pins no kubernetes-validate version")


def load():
    """Import the validator, checking it is the pinned release."""
    try:
        import kubernetes_validate
        import yaml
        from kubernetes_validate import utils
        from kubernetes_validate.version import __version__
    except ImportError as e:
        print(f"FATAL {e}: {INSTALL_HINT}", file=sys.stderr)
        sys.exit(2)
    wanted = pinned_version()
    if __version__ != wanted:
        print(
            f"FATAL kubernetes-validate {__version__} is installed, {wanted} is pinned: {INSTALL_HINT}",
            file=sys.stderr,
        )
        sys.exit(2)
    return kubernetes_validate, utils, yaml


def name_of(obj):
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-k", "--kubernetes-version", action="append", required=True,
        help="Kubernetes minor version to validate against, e.g. 1.29 (repeatable)",
    )
    args = parser.parse_args()
    kv, utils, yaml = load()

    shipped = {utils.major_minor(v) for v in utils.all_versions()}
    missing = [v for v in args.kubernetes_version if v not in shipped]
    if missing:
        print(
            f"FATAL the installed kubernetes-validate ships no schemas for {', '.join(missing)} "
            f"(it has {', '.join(sorted(shipped, key=lambda v: tuple(map(int, v.split('.')))))})",
            file=sys.stderr,
        )
        sys.exit(2)

    objects = [doc for doc in yaml.safe_load_all(sys.stdin) if doc]
    if not objects:
        print("FATAL no objects on stdin", file=sys.stderr)
        sys.exit(2)

    failures = 0
    for version in args.kubernetes_version:
        for obj in objects:
            try:
                kv.validate(obj, version, strict=True)
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                print(f"ERROR {name_of(obj)} (Kubernetes {version}): {path}: {e.message}")
                failures += 1
            except utils.SchemaNotFoundError as e:
                print(f"ERROR {name_of(obj)} (Kubernetes {version}): {e.message}")
                failures += 1
    checked = len(objects) * len(args.kubernetes_version)
    print(f"validated {len(objects)} objects against Kubernetes {', '.join(args.kubernetes_version)}: "
          f"{checked - failures} valid, {failures} invalid")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
