"""An installed ACD (``pip install .``, as the systemd unit and the container do) can migrate.

The wheel must carry the Alembic migrations, which live at the repo root beside the package, and
nothing of the tooling beside them (phonefarm/, bench/, tests/).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = tmp_path.glob("acd-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split(".data/data/", 1)[1] for n in names if ".data/data/share/acd/migrations/" in n}
    expected = {
        f"share/acd/{p.relative_to(ROOT).as_posix()}"
        for p in (ROOT / "migrations").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected, "no migrations found in the checkout"
    assert shipped == expected
    static = {f"acd/http/static/{p.name}" for p in (ROOT / "acd" / "http" / "static").iterdir() if p.is_file()}
    assert static, "no wallboard files found in the checkout"
    assert static <= set(names), "the wheel must carry the wallboard's page"
    shipped_packages = {n.split("/", 1)[0] for n in names if not n.startswith("acd-")}  # not *.dist-info, *.data
    assert shipped_packages == {"acd"}, "the wheel carries the product only: phonefarm/, bench/, tests/ stay out"
