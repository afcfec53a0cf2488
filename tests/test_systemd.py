"""The unit file: valid (stderr checked: verify exits 0 on a misspelled key) and hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "hotocr.service"

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def local_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's hotocr (verify checks it exists)."""
    hotocr = Path(sys.executable).parent / "hotocr"
    unit = tmp_path / "hotocr.service"
    unit.write_text(UNIT.read_text().replace("/opt/hotocr/.venv/bin/hotocr", str(hotocr)))
    return unit


def test_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    out = subprocess.run(
        ["systemd-analyze", "verify", str(local_unit(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    assert out.stderr.strip() == ""


def test_the_verification_stations_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    hotocr = Path(sys.executable).parent / "hotocr"
    unit = tmp_path / "hotocr-verify.service"
    text = (UNIT.parent / "hotocr-verify.service").read_text()
    unit.write_text(text.replace("/opt/hotocr/.venv/bin/hotocr", str(hotocr)))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    exposure = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    level = float(re.search(r"Overall exposure level for .*: (\d+\.\d+)", exposure).group(1))  # type: ignore[union-attr]
    assert level <= 2.5, exposure[-800:]


def test_verify_would_catch_a_misspelled_key(tmp_path: Path) -> None:
    unit = local_unit(tmp_path)
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert "NoNewPrivilege" in out.stderr


def test_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(local_unit(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout)
    assert match, out.stdout[-500:] + out.stderr
    assert float(match.group(1)) <= 2.0


def test_unit_has_what_the_daemon_relies_on() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "KillMode=mixed",
        "TimeoutStopSec=",
        "ProtectSystem=strict",
        "ReadWritePaths=",
        "StateDirectory=hotocr",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "UMask=",
        "MemoryMax=",
        "User=hotocr",
        "DeviceAllow=/dev/nvidiactl",
    ):
        assert line in text, line
    assert "DynamicUser" not in text.replace("not DynamicUser=", "")


@pytest.mark.parametrize("name", ["hotocr-dask-scheduler.service", "hotocr-dask-worker.service"])
def test_the_dask_units_verify_without_any_warning(tmp_path: Path, name: str) -> None:
    dask = Path(sys.executable).parent / "dask"
    unit = tmp_path / name
    text = (UNIT.parent / name).read_text()
    assert "/opt/hotocr/.venv/bin/dask " in text
    unit.write_text(text.replace("/opt/hotocr/.venv/bin/dask", str(dask)))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0
    assert out.stderr.strip() == ""
    assert "--nthreads 1" in text or name.endswith("scheduler.service")
