#!/usr/bin/env python3
"""Unpacks the standard library of the Python runtime's CPython:
    scripts/python-stdlib.py VENV OUTPUT_DIR

The shared Python runtime (plugins/python-runtime) is CPython 3.14 for
wasm32-wasi as componentize-py ships it. componentize-py keeps that CPython's
`Lib/` as a zstd-compressed tar inside its own library and maps it into the
guest as /python while it builds a component; the built component keeps only
the modules imported then. The host grants the runtime's instances this
directory, read-only, as /python again (src/plugin/instance.c), so that a
`.py` plugin can import any other standard-library module on demand.

The tar is found by content (the zstd frame whose tar holds os.py and the
wasi sysconfig data), never downloaded. Modules that cannot run in the
sandbox at all (GUI, package installers) are left out. The result is cached
outside the clone, keyed by componentize-py's library and this script, and
OUTPUT_DIR becomes a symbolic link to it. Idempotent.
"""

import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MARKERS = ("os.py", "_sysconfigdata__wasi_wasm32-wasi.py")
# Never runnable in the sandbox: GUI toolkits and the tools that install packages.
LEFT_OUT = ("idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "venv", "site-packages")


def library_of(venv: pathlib.Path) -> pathlib.Path:
    found = sorted(venv.glob("lib/python3*/site-packages/componentize_py/componentize_py*.so"))
    if not found:
        sys.exit(f"python-stdlib: no componentize-py library under {venv}")
    return found[0]


def find_stdlib_tar(data: bytes) -> tarfile.TarFile:
    start = data.find(ZSTD_MAGIC)
    while start >= 0:
        # zstd decodes one frame and stops at the first bytes that are not one.
        result = subprocess.run(["zstd", "-dcq"], input=data[start:], capture_output=True)
        if result.stdout[257:262] == b"ustar":
            tar = tarfile.open(fileobj=io.BytesIO(result.stdout))
            names = set(tar.getnames())
            if all(marker in names for marker in MARKERS):
                return tar
        start = data.find(ZSTD_MAGIC, start + 1)
    sys.exit("python-stdlib: no standard library found in componentize-py's library")


def is_kept(member: tarfile.TarInfo) -> bool:
    top = member.name.split("/", 1)[0]
    return (member.isfile() or member.isdir()) and top not in LEFT_OUT and \
        "__pycache__" not in member.name.split("/")


def main() -> None:
    venv, output = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    library = library_of(venv)
    key = hashlib.sha256(library.read_bytes() + pathlib.Path(__file__).read_bytes())
    cache = pathlib.Path(os.environ.get("PYHOST_CACHE", pathlib.Path.home() / ".cache/pyhost"))
    target = cache / f"python-stdlib-{key.hexdigest()[:12]}"
    complete = target.with_name(target.name + ".complete")
    if not complete.exists():
        tar = find_stdlib_tar(library.read_bytes())
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for member in tar.getmembers():
            if is_kept(member):
                tar.extract(member, partial, filter="data")
        for path in partial.rglob("*"):  # read-only for everyone: it is a library
            path.chmod(0o755 if path.is_dir() else 0o444)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        complete.touch()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.is_symlink() or output.exists():
        if output.is_symlink() and os.readlink(output) == str(target):
            return
        if output.is_dir() and not output.is_symlink():
            shutil.rmtree(output)
        else:
            output.unlink()
    output.symlink_to(target)


if __name__ == "__main__":
    main()
