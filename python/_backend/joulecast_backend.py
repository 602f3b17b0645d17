"""A minimal PEP 517 / PEP 660 build backend for the joulecast client, standard library only.

Why not setuptools: building a wheel with setuptools < 70.1 also needs the separate `wheel` package, and
`pip install` would otherwise try to download its build backend. This backend needs nothing, so
`pip install ./python` (and `pip install -e ./python`) work offline. The package is one pure-Python module
folder, so a wheel is just a zip with three metadata files. Metadata comes from the [project] table of
pyproject.toml (simple `key = "value"` lines only).
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = "joulecast"


def _project():
    fields = {}
    in_project = False
    with open(os.path.join(_ROOT, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                in_project = line == "[project]"
                continue
            match = re.match(r'^([A-Za-z-]+)\s*=\s*"(.*)"$', line)
            if in_project and match:
                fields[match.group(1)] = match.group(2)
    return fields


def _metadata():
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: " + project["name"],
        "Version: " + project["version"],
        "Summary: " + project.get("description", ""),
        "Requires-Python: " + project.get("requires-python", ">=3.9"),
    ]
    readme = os.path.join(_ROOT, project.get("readme", "README.md"))
    body = ""
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist_name():
    project = _project()
    return "%s-%s" % (project["name"].replace("-", "_"), project["version"])


def _package_files():
    base = os.path.join(_ROOT, _PACKAGE)
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                full = os.path.join(folder, name)
                yield full, os.path.relpath(full, _ROOT).replace(os.sep, "/")


def _write_wheel(wheel_directory, contents):
    """contents: list of (archive name, bytes). Adds the dist-info files and RECORD; returns the file name."""
    dist = _dist_name()
    info = dist + ".dist-info"
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: joulecast_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    contents = list(contents) + [
        (info + "/METADATA", _metadata().encode("utf-8")),
        (info + "/WHEEL", wheel_meta.encode("utf-8")),
        (info + "/top_level.txt", (_PACKAGE + "\n").encode("utf-8")),
    ]
    record = []
    for name, data in contents:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(info + "/RECORD,,")
    contents.append((info + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))

    filename = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents:
            entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    contents = []
    for full, name in _package_files():
        with open(full, "rb") as f:
            contents.append((name, f.read()))
    return _write_wheel(wheel_directory, contents)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file puts this source folder on sys.path, so edits take effect without reinstalling.
    return _write_wheel(wheel_directory, [(_PACKAGE + "_editable.pth", (_ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory, config_settings=None):
    dist = _dist_name()
    filename = dist + ".tar.gz"
    members = [os.path.join(_ROOT, name) for name in ("pyproject.toml", "README.md")]
    members.append(os.path.abspath(__file__))
    members += [full for full, _ in _package_files()]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        for full in members:
            if os.path.exists(full):
                sdist.add(full, arcname=dist + "/" + os.path.relpath(full, _ROOT).replace(os.sep, "/"))
        pkg_info = _metadata().encode("utf-8")
        entry = tarfile.TarInfo(dist + "/PKG-INFO")
        entry.size = len(pkg_info)
        entry.mode = 0o644
        sdist.addfile(entry, io.BytesIO(pkg_info))
    return filename
