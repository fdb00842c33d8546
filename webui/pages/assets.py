"""Front-end libraries from the npm registry, served straight out of ``node_modules``, and
the bundles built from them.

``package.json`` / ``package-lock.json`` pin them and ``make install`` runs ``npm ci``;
nothing is copied into the repository. Only each library's prebuilt ``dist`` folder is
reachable, so the rest of ``node_modules`` never leaves the server.

Libraries that ship ES modules only (the BPMN properties panel) are bundled by esbuild
during ``make install`` (``npm run build:editors``: ``webui/static/editors/*.mjs`` ->
``build/editors/``, a gitignored folder) and served from ``/bundles/``; no built file is
committed.
"""
from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, send_from_directory, url_for

from engine.settings import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"
# name in URLs -> npm package and the folder of it that is served
LIBRARIES = {
    "bpmn-js": ("bpmn-js", "dist"),
    "dmn-js": ("dmn-js", "dist"),
    "json-editor": ("@json-editor/json-editor", "dist"),
    "properties-panel": ("@bpmn-io/properties-panel", "dist"),
}
BUNDLE_DIR = PROJECT_ROOT / "build" / "editors"
BUNDLES = ("bpmn-modeler.js",)  # what `npm run build:editors` writes
ONE_YEAR_S = 365 * 24 * 3600

bp = Blueprint("assets", __name__)


def _package_dir(name: str) -> Path:
    package, _ = LIBRARIES[name]
    return NODE_MODULES / package


@cache
def library_version(name: str) -> str | None:
    """The installed version of a library, or None when ``npm ci`` has not run."""
    try:
        return json.loads((_package_dir(name) / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def libraries_installed() -> bool:
    return all(library_version(name) for name in LIBRARIES)


def vendor_url(name: str, filename: str) -> str:
    """URL of a library file, versioned so browsers may cache it for good."""
    return url_for("assets.vendor", name=name, filename=filename, v=library_version(name) or "missing")


def bundle_version(filename: str) -> str | None:
    """A fingerprint of a built bundle (it changes whenever the bundle is rebuilt), or None
    when ``make install`` has not built it."""
    try:
        stat = (BUNDLE_DIR / filename).stat()
    except OSError:
        return None
    return hashlib.sha1(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:12]


def bundles_built() -> bool:
    return all(bundle_version(name) for name in BUNDLES)


def bundle_url(filename: str) -> str:
    return url_for("assets.bundle", filename=filename, v=bundle_version(filename) or "missing")


@bp.get("/bundles/<filename>")
def bundle(filename: str):
    if filename not in BUNDLES or bundle_version(filename) is None:
        abort(404)
    return send_from_directory(BUNDLE_DIR, filename, max_age=ONE_YEAR_S)


@bp.get("/vendor/<name>/<path:filename>")
def vendor(name: str, filename: str):
    if name not in LIBRARIES or library_version(name) is None:
        abort(404)
    package_dir = _package_dir(name)
    return send_from_directory(package_dir / LIBRARIES[name][1], filename, max_age=ONE_YEAR_S)


@bp.app_context_processor
def _asset_helpers():
    return {"vendor_url": vendor_url, "libraries_installed": libraries_installed, "bundle_url": bundle_url,
            "bundles_built": bundles_built}
