"""Build `.dvc/plots/offline.html`: DVC's plots page with Vega, Vega-Lite and vega-embed inlined.

Usage: python tools/offline_plots.py
`dvc plots show` and `dvc plots diff` load these three scripts from a CDN unless the page
template carries them (`plots.html_template` in `.dvc/config`). This downloads the npm releases
DVC's own page asks for, checks each against the registry's sha512 integrity, and writes the
template beside the scripts' licence texts. The output is committed; rerun only to change a version.
"""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

PLOTS_DIR = Path(".dvc/plots")
TEMPLATE = PLOTS_DIR / "offline.html"
LICENSES = PLOTS_DIR / "THIRD_PARTY_LICENSES.txt"
REGISTRY = "https://registry.npmjs.org"

# name, version (those of dvc-render 1.0.2's CDN links), npm's dist.integrity, script in the package
PACKAGES = (
    ("vega", "5.20.2",
     "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw==",
     "build/vega.min.js"),
    ("vega-lite", "5.2.0",
     "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw==",
     "build/vega-lite.min.js"),
    ("vega-embed", "6.18.2",
     "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg==",
     "build/vega-embed.min.js"),
)

# dvc-render fills {refresh_tag} and {plot_divs}; leaving out {scripts} keeps its CDN links off the page.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots</title>
<!-- Vega %(vega)s, Vega-Lite %(vega-lite)s, vega-embed %(vega-embed)s (BSD-3-Clause; see THIRD_PARTY_LICENSES.txt) -->
%(scripts)s
<style>
body{font:14px system-ui,sans-serif;margin:16px}
table{border-spacing:15px}
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def download(name: str, version: str, integrity: str) -> tarfile.TarFile:
    url = f"{REGISTRY}/{name}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=60) as response:
        payload = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(payload).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"{url}: integrity {digest} is not the pinned {integrity}")
    return tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz")


def main() -> None:
    scripts, licences, versions = [], [], {}
    for name, version, integrity, script in PACKAGES:
        with download(name, version, integrity) as archive:
            code = archive.extractfile(f"package/{script}").read().decode("utf-8")
            licence = archive.extractfile("package/LICENSE").read().decode("utf-8")
        if "</script" in code.lower():
            raise SystemExit(f"{name}: the script contains '</script' and cannot be inlined as is")
        scripts.append(f"<script>\n{code.strip()}\n</script>")
        licences.append(f"{name} {version} ({REGISTRY}/{name}/-/{name}-{version}.tgz)\n\n{licence.strip()}\n")
        versions[name] = version
    PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_text(PAGE % {**versions, "scripts": "\n".join(scripts)}, encoding="utf-8")
    LICENSES.write_text(("\n" + "=" * 72 + "\n\n").join(licences), encoding="utf-8")
    print(f"{TEMPLATE}: {TEMPLATE.stat().st_size // 1024} KiB ({', '.join(f'{n} {v}' for n, v in versions.items())})")


if __name__ == "__main__":
    main()
