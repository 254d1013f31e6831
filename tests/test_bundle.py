"""The offline bundle (`.ci/bundle`), installed and served with no network at all: a network namespace of its own
(`unshare -rn`, loopback only), registry settings in the environment that would fail if pip used them; its systemd
unit checked by systemd-analyze. A damaged bundle is refused before anything is installed."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

PLACES = {"晋城市", "济源市", "保定市"}

# inside the namespace: bring up loopback, install, serve the seed corpus, ask over the plain HTTP API
OFFLINE = r"""
set -euo pipefail
ip link set lo up
export PIP_INDEX_URL=http://registry.invalid/simple PIP_EXTRA_INDEX_URL=http://registry.invalid/more
export PIP_FIND_LINKS=http://registry.invalid/links HOME="$WORK/home"
mkdir -p "$HOME"
cd "$WORK" && tar xf "$ARCHIVE"
./zhqa-offline/install.sh "$WORK/prefix"
# the unit as install.sh --service writes it for this prefix: systemd's own checker (keys, the executable)
sed "s#/opt/zhqa#$WORK/prefix#g" ./zhqa-offline/zhqa.service > "$WORK/zhqa.service"
systemd-analyze verify "$WORK/zhqa.service"
"$WORK/prefix/bin/zhqa" serve --corpus "$CORPUS" --index "$WORK/index" --port 7899 > "$WORK/serve.log" 2>&1 &
"$WORK/prefix/bin/python" - <<'PY'
import json, time, urllib.request
deadline = time.monotonic() + 600
while True:
    try:
        urllib.request.urlopen("http://127.0.0.1:7899/healthz", timeout=5)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(1)
body = json.dumps({"question": "哪些城市推行拿地即开工?"}).encode()
request = urllib.request.Request("http://127.0.0.1:7899/api/ask", body, {"Content-Type": "application/json"}, method="POST")
print("ANSWER " + urllib.request.urlopen(request, timeout=300).read().decode())
PY
kill %1
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    done = subprocess.run(["bash", str(ROOT / ".ci" / "bundle"), str(out)], cwd=ROOT, capture_output=True, text=True)
    said = [line for line in done.stderr.splitlines() if "WARNING: Location" not in line]  # the mirror's noise
    assert done.returncode == 0, "\n".join(said[-40:])
    archive = Path(done.stdout.strip().splitlines()[-1])
    assert re.fullmatch(r"zhqa-offline-[0-9.]+\.tar\.gz", archive.name) and archive.is_file()
    assert "bundle: " in done.stderr and "largest wheels" in done.stderr  # its size and what takes it
    return archive


def test_the_bundle_holds_wheels_the_model_and_checksums(bundle):
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert all(n == "zhqa-offline" or n.startswith("zhqa-offline/") for n in names)  # one folder
    wheels = [n for n in names if n.endswith(".whl")]
    assert any("/torch-2.13.0+cpu" in n for n in wheels) and any("/zhqa-" in n for n in wheels)
    assert any(n.endswith(".body.onnx") for n in names) and any(n.endswith(".words.npy") for n in names)
    assert not any(n.endswith("model.safetensors") for n in names)  # only the float32 path reads it
    assert {"zhqa-offline/install.sh", "zhqa-offline/SHA256SUMS", "zhqa-offline/zhqa.service"} <= set(names)


def test_installed_and_served_with_no_network(bundle, tmp_path):
    work = tmp_path / "target"
    work.mkdir()
    env = {**os.environ, "WORK": str(work), "ARCHIVE": str(bundle), "CORPUS": str(CORPUS)}
    done = subprocess.run(["unshare", "-rn", "bash", "-c", OFFLINE], env=env, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:],
                                  (work / "serve.log").read_text(errors="replace")[-2000:] if (work / "serve.log").exists() else "")
    answer = json.loads(done.stdout.split("ANSWER ", 1)[1])
    assert PLACES <= {item["name"] for item in answer["answer"]["items"]}
    assert answer["passages"] and all(p["citation"] for p in answer["passages"])


def test_a_damaged_bundle_is_refused_before_anything_is_installed(bundle, tmp_path):
    with tarfile.open(bundle) as tar:
        tar.extractall(tmp_path, filter="data")
    model = next((tmp_path / "zhqa-offline" / "models").rglob("*.body.onnx"))
    data = bytearray(model.read_bytes())
    data[1000:1004] = bytes(b ^ 0xFF for b in data[1000:1004])  # four bytes changed, whatever they were
    model.write_bytes(bytes(data))
    done = subprocess.run(["bash", str(tmp_path / "zhqa-offline" / "install.sh"), str(tmp_path / "prefix")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "damaged" in done.stderr
    assert not (tmp_path / "prefix").exists()
