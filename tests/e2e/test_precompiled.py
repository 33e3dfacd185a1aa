"""`pyhost compile` and precompiled artifacts: a host with an empty cache
loads a shipped artifact without compiling; an artifact for another CPU,
other engine settings, another Wasmtime or another .wasm, or a corrupted
one, is refused with the mismatch named; the runtime-only build runs only
precompiled plugins."""

import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import BUILD, CACHE_DIR, PYHOST, plugin

RUNTIME_ONLY = pathlib.Path(os.environ.get("PYHOST_RUNTIME_ONLY_BINARY",
                                           BUILD / "pyhost-runtime-only"))
HOST_TRIPLE = "x86_64-unknown-linux-gnu"


def run(binary, *args, timeout=180):
    env = dict(os.environ, XDG_CACHE_HOME=str(CACHE_DIR))
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def compile_artifact(wasm, out, *extra):
    result = run(PYHOST, "compile", wasm, "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The example plugin compiled once for this host (signed) and once for
    aarch64 (unsigned), and two Ed25519 key pairs."""
    directory = tmp_path_factory.mktemp("artifacts")
    keys = {}
    for name in ("signer", "other"):
        private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", private],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public],
                       check=True, capture_output=True)
        keys[name] = (private, public)
    wasm = plugin("sensor-logic")
    # Without -o: NAME.cwasm beside NAME.wasm, where the host looks for it.
    shutil.copyfile(wasm, directory / "native.wasm")
    native = run(PYHOST, "compile", directory / "native.wasm", "--sign-key", keys["signer"][0])
    assert native.returncode == 0, native.stderr
    assert "compiled for this machine" in native.stdout
    return {
        "keys": keys,
        "native": directory / "native.cwasm",
        "aarch64": compile_artifact(wasm, directory / "aarch64.cwasm",
                                    "--target", "aarch64-unknown-linux-gnu"),
    }


def deploy(tmp_path, artifact, wasm=None, key=None):
    """A device-style directory: the .wasm with NAME.cwasm beside it, an
    empty cache of its own; returns (plugin path, config path, cache dir)."""
    device = tmp_path / "device"
    device.mkdir()
    target = device / "sensor-logic.wasm"
    shutil.copyfile(wasm or plugin("sensor-logic"), target)
    if artifact is not None:
        shutil.copyfile(artifact, device / "sensor-logic.cwasm")
    cache = tmp_path / "cache"
    config = tmp_path / "pyhost.ini"
    config.write_text(f"[host]\ncache_dir = {cache}\nstate_dir = {tmp_path / 'state'}\n"
                      + (f"precompiled_key = {key}\n" if key else "")
                      + "[board]\nscript_celsius = 21\n")
    return target, config, cache


def call(binary, wasm, config):
    return run(binary, "call", "--polls", "1", "--config", config, wasm)


def rewrite_header(artifact, out, key, value):
    data = artifact.read_bytes()
    end = data.index(b"\nend\n") + 5
    lines = data[:end].split(b"\n")
    lines = [f"{key} {value}".encode() if line.startswith(key.encode() + b" ") else line
             for line in lines]
    out.write_bytes(b"\n".join(lines) + data[end:])
    return out


def test_an_empty_cache_loads_the_artifact_without_compiling(tmp_path, artifacts):
    wasm, config, cache = deploy(tmp_path, artifacts["native"])
    result = call(PYHOST, wasm, config)
    assert result.returncode == 0, result.stderr
    assert "loaded precompiled" in result.stderr
    assert "compiling" not in result.stderr
    assert result.stdout.count("temperature") == 1
    # Installed in the cache: the next start maps it from there.
    assert list(cache.glob("wasmtime-*/*.cwasm"))
    again = call(PYHOST, wasm, config)
    assert again.returncode == 0, again.stderr
    assert "loaded precompiled" not in again.stderr
    assert "compiling" not in again.stderr


def test_the_header_binds_source_target_engine_and_wasmtime(artifacts):
    header = artifacts["aarch64"].read_bytes()[:1024].decode(errors="replace")
    digest = subprocess.run(["sha256sum", str(plugin("sensor-logic"))], capture_output=True,
                            text=True, check=True).stdout.split()[0]
    assert header.startswith("pyhost-precompiled 1\n")
    assert "\ntarget aarch64-unknown-linux-gnu\n" in header
    assert f"\nwasm-sha256 {digest}\n" in header
    assert "\nwasmtime 48.0.8\n" in header
    assert "\nengine cranelift," in header and "epoch-interruption" in header


def refused(tmp_path, artifact, wasm=None, key=None):
    target, config, cache = deploy(tmp_path, artifact, wasm, key)
    result = call(PYHOST, target, config)
    assert result.returncode != 0
    assert "precompiled artifact" in result.stderr and "refused" in result.stderr
    # Never compiled instead, never loaded, nothing cached.
    assert "compiling" not in result.stderr
    assert "loaded precompiled" not in result.stderr
    assert not list(cache.glob("wasmtime-*/*.cwasm"))
    return result.stderr


def test_an_artifact_for_aarch64_is_refused_on_x86_64(tmp_path, artifacts):
    stderr = refused(tmp_path, artifacts["aarch64"])
    assert f"compiled for target aarch64-unknown-linux-gnu; this host is {HOST_TRIPLE}" in stderr
    assert "pyhost compile" in stderr


def test_an_artifact_with_other_engine_settings_is_refused(tmp_path, artifacts):
    other = rewrite_header(artifacts["native"], tmp_path / "plain.cwasm", "engine",
                           "cranelift,default-opt")
    stderr = refused(tmp_path, other)
    assert "compiled with engine settings cranelift,default-opt; this host's are" in stderr


def test_an_artifact_of_another_wasmtime_is_refused(tmp_path, artifacts):
    other = rewrite_header(artifacts["native"], tmp_path / "old.cwasm", "wasmtime", "47.0.0")
    stderr = refused(tmp_path, other)
    assert "made by Wasmtime 47.0.0; this pyhost runs Wasmtime 48.0.8" in stderr


def test_an_artifact_of_another_wasm_is_refused(tmp_path, artifacts):
    stderr = refused(tmp_path, artifacts["native"], wasm=plugin("counter"))
    assert "compiled from another .wasm" in stderr


def test_a_corrupted_artifact_is_refused(tmp_path, artifacts):
    data = bytearray(artifacts["native"].read_bytes())
    data[len(data) // 2] ^= 0x01
    corrupted = tmp_path / "corrupted.cwasm"
    corrupted.write_bytes(bytes(data))
    stderr = refused(tmp_path, corrupted)
    assert "corrupt: its payload's SHA-256 does not match its header" in stderr


def test_a_truncated_artifact_is_refused(tmp_path, artifacts):
    truncated = tmp_path / "truncated.cwasm"
    truncated.write_bytes(artifacts["native"].read_bytes()[:-4096])
    stderr = refused(tmp_path, truncated)
    assert "corrupt: its payload is" in stderr


def test_a_signed_artifact_loads_with_its_key(tmp_path, artifacts):
    wasm, config, _ = deploy(tmp_path, artifacts["native"], key=artifacts["keys"]["signer"][1])
    result = call(PYHOST, wasm, config)
    assert result.returncode == 0, result.stderr
    assert "loaded precompiled" in result.stderr


def test_an_unsigned_artifact_is_refused_when_a_key_is_configured(tmp_path, artifacts):
    unsigned = tmp_path / "unsigned.cwasm"
    data = artifacts["native"].read_bytes()
    start = data.index(b"\nsignature ") + 1
    unsigned.write_bytes(data[:start] + data[data.index(b"\n", start) + 1:])
    stderr = refused(tmp_path, unsigned, key=artifacts["keys"]["signer"][1])
    assert "not signed, and [host] precompiled_key requires a signature" in stderr


def test_an_artifact_signed_with_another_key_is_refused(tmp_path, artifacts):
    other_key = artifacts["keys"]["other"][1]
    stderr = refused(tmp_path, artifacts["native"], key=other_key)
    assert f"its signature does not verify with the key {other_key}" in stderr


def test_a_header_edited_after_signing_is_refused(tmp_path, artifacts):
    # The payload's digest is in the signed header: a new payload needs a new
    # digest there, which breaks the signature.
    edited = rewrite_header(artifacts["native"], tmp_path / "edited.cwasm", "payload-sha256",
                            "0" * 64)
    stderr = refused(tmp_path, edited, key=artifacts["keys"]["signer"][1])
    assert "its signature does not verify" in stderr


def test_compile_refuses_a_target_without_a_backend(tmp_path):
    result = run(PYHOST, "compile", plugin("sensor-logic"), "-o", tmp_path / "x.cwasm",
                 "--target", "armv7-unknown-linux-gnueabihf")
    assert result.returncode == 1
    assert "unsupported target 'armv7-unknown-linux-gnueabihf'" in result.stderr
    assert not (tmp_path / "x.cwasm").exists()


requires_runtime_only = pytest.mark.skipif(
    not RUNTIME_ONLY.exists(), reason=f"{RUNTIME_ONLY} not built (make runtime-only)")


@requires_runtime_only
def test_the_runtime_only_build_runs_a_precompiled_plugin(tmp_path, artifacts):
    wasm, config, _ = deploy(tmp_path, artifacts["native"])
    result = call(RUNTIME_ONLY, wasm, config)
    assert result.returncode == 0, result.stderr
    assert "loaded precompiled" in result.stderr
    assert result.stdout.count("temperature") == 1


@requires_runtime_only
def test_the_runtime_only_build_refuses_an_uncompiled_plugin_and_says_how(tmp_path):
    wasm, config, _ = deploy(tmp_path, None)
    result = call(RUNTIME_ONLY, wasm, config)
    assert result.returncode != 0
    assert "not precompiled, and this pyhost is runtime-only" in result.stderr
    assert (f"pyhost compile {wasm} --target {HOST_TRIPLE} -o "
            f"{wasm.with_suffix('.cwasm')}") in result.stderr


@requires_runtime_only
def test_the_runtime_only_build_cannot_compile(tmp_path):
    result = run(RUNTIME_ONLY, "compile", plugin("sensor-logic"), "-o", tmp_path / "x.cwasm")
    assert result.returncode == 1
    assert "runtime-only" in result.stderr
