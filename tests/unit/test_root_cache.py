"""The cached Asterisk root is rebuilt when what goes into it changes, and only then.

``deploy/asterisk/pbx.sh fresh`` is the check ``pbx.sh build`` makes before it debootstraps: it is run
here on a copy of the script (as a fresh clone has it: every file new) against a fake root, a folder
holding only the build marker. No debootstrap, no root privileges, nothing of the real root is read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "asterisk" / "pbx.sh"
LONG_AGO = 946_684_800  # 2000-01-01: the marker is older than any clone of the script


def script_text() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def shipped(name: str) -> str:
    found = re.search(rf"^{name}=(\S+)$", script_text(), re.MULTILINE)
    assert found, f"no {name}= in pbx.sh"
    return found.group(1)


class Clone:
    """A copy of pbx.sh in a new folder, and a fake root for it."""

    def __init__(self, base: Path, text: str) -> None:
        self.script = base / "clone" / "deploy" / "asterisk" / "pbx.sh"
        self.script.parent.mkdir(parents=True)
        self.script.write_text(text, encoding="utf-8")
        self.root = base / "root"
        self.root.mkdir(exist_ok=True)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ACD_ASTERISK_ROOT": str(self.root)}
        return subprocess.run(
            ["bash", str(self.script), *args], capture_output=True, text=True, env=env, timeout=30, check=False
        )

    def key(self) -> str:
        done = self.run("key")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def fresh(self) -> bool:
        done = self.run("fresh")
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return done.returncode == 0

    def mark(self, line: str) -> None:
        marker = self.root / ".acd-root-built"
        marker.write_text(line + "\n", encoding="utf-8")
        os.utime(marker, (LONG_AGO, LONG_AGO))


def built_by(clone: Clone) -> str:
    """The marker line a build by ``clone`` writes."""
    return f"suite={shipped('SUITE')} packages={shipped('PACKAGES')} key={clone.key()} built=2000-01-01T00:00:00Z"


def legacy_marker() -> str:
    """A marker as builds wrote it before the cache had a key: suite and packages only."""
    return f"suite={shipped('SUITE')} packages={shipped('PACKAGES')} built=2000-01-01T00:00:00Z"


@pytest.fixture()
def bash() -> None:
    if shutil.which("bash") is None or shutil.which("sha256sum") is None:
        pytest.fail("bash and sha256sum are needed to run pbx.sh")


@pytest.mark.usefixtures("bash")
class TestRootCache:
    def test_a_fresh_clone_does_not_rebuild_a_root_an_older_clone_built(self, tmp_path: Path) -> None:
        builder = Clone(tmp_path / "a", script_text())
        later = Clone(tmp_path / "b", script_text())
        later.root = builder.root
        builder.mark(built_by(builder))
        assert (builder.root / ".acd-root-built").stat().st_mtime < later.script.stat().st_mtime
        assert later.fresh()

    def test_a_changed_package_list_rebuilds(self, tmp_path: Path) -> None:
        clone = Clone(tmp_path, script_text())
        clone.mark(built_by(clone))
        assert clone.fresh()
        packages = shipped("PACKAGES")
        clone.script.write_text(
            script_text().replace(f"PACKAGES={packages}\n", f"PACKAGES={packages},sipsak\n"), encoding="utf-8"
        )
        done = clone.run("fresh")
        assert done.returncode == 1
        assert "stale" in done.stdout

    def test_a_changed_suite_or_recipe_rebuilds(self, tmp_path: Path) -> None:
        text = script_text()
        for changed in (
            text.replace("\nSUITE=sid\n", "\nSUITE=trixie\n"),
            text.replace("--variant=minbase", "--variant=buildd"),
        ):
            assert changed != text
            clone = Clone(tmp_path / str(len(list(tmp_path.iterdir()))), text)
            clone.mark(built_by(clone))
            clone.script.write_text(changed, encoding="utf-8")
            assert not clone.fresh()

    def test_editing_install_start_or_comments_does_not_rebuild(self, tmp_path: Path) -> None:
        clone = Clone(tmp_path, script_text())
        clone.mark(built_by(clone))
        text = script_text()
        edited = (
            text.replace('log "install: $AGENTS agents', 'log "install: now $AGENTS agents')
            .replace("# make_root <dir>: debootstrap the root", "# make_root <dir>: debootstraps the root")
            .replace("    debootstrap --variant", "        debootstrap --variant")
        )
        assert edited.count("now $AGENTS agents") == 1 and "debootstraps the root" in edited
        clone.script.write_text(edited, encoding="utf-8")
        assert clone.fresh()

    def test_a_marker_from_before_keys_is_adopted_while_the_recipe_is_unchanged(self, tmp_path: Path) -> None:
        clone = Clone(tmp_path, script_text())
        clone.mark(legacy_marker())
        assert clone.fresh()
        clone.mark(legacy_marker().replace("asterisk-modules,", ""))
        assert not clone.fresh()
        clone.mark(legacy_marker())
        clone.script.write_text(script_text().replace("--variant=minbase", "--variant=buildd"), encoding="utf-8")
        assert not clone.fresh()

    def test_no_root_or_no_marker_is_stale(self, tmp_path: Path) -> None:
        clone = Clone(tmp_path, script_text())
        assert not clone.fresh()
        shutil.rmtree(clone.root)
        assert not clone.fresh()

    def test_fresh_changes_nothing(self, tmp_path: Path) -> None:
        clone = Clone(tmp_path, script_text())
        clone.mark(legacy_marker())
        before = {p.name: (p.read_bytes(), p.stat().st_mtime) for p in clone.root.iterdir()}
        clone.run("fresh")
        assert {p.name: (p.read_bytes(), p.stat().st_mtime) for p in clone.root.iterdir()} == before
