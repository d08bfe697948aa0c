from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import Session as DB
from sqlmodel import select

from accord.cli import build_parser
from accord.serve import prepare
from accord.settings import DEFAULT_INTERVIEWS, Settings
from store import migrate
from store.models import Firm, InterviewVersion


def test_settings_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("data")
    assert settings.database_url == f"sqlite:///{Path('data') / 'accord.db'}"
    assert settings.interviews_dir == DEFAULT_INTERVIEWS


def test_settings_from_env(tmp_path: Path) -> None:
    settings = Settings.from_env({"ACCORD_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'accord.db'}"
    pg = Settings.from_env({"ACCORD_DATABASE_URL": "postgresql://u@h/accord", "ACCORD_DATA_DIR": str(tmp_path)})
    assert pg.database_url == "postgresql://u@h/accord" and pg.data_dir == tmp_path


def test_serve_arguments() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port) == ("0.0.0.0", 9001)


def test_prepare_creates_migrates_and_seeds_idempotently(tmp_path: Path) -> None:
    settings = Settings.from_env({"ACCORD_DATA_DIR": str(tmp_path / "fresh")})
    for _ in range(2):
        db = prepare(settings)
        try:
            assert migrate.is_current(db)
            with DB(db) as session:
                assert [f.slug for f in session.exec(select(Firm)).all()] == ["demo"]
                names = sorted(v.name for v in session.exec(select(InterviewVersion)).all())
        finally:
            db.dispose()
        assert names == sorted(p.stem for p in DEFAULT_INTERVIEWS.glob("*.yml"))
    assert (tmp_path / "fresh" / "accord.db").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_accord_serve_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path / "data")}
    for name in ("ACCORD_DATABASE_URL", "ACCORD_STRIPE_SECRET_KEY", "ACCORD_STRIPE_WEBHOOK_SECRET"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "accord", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        health = ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and ready is not None, "server did not come up"
        assert health.status_code == 200 and health.text == "ok"
        assert ready.status_code == 200
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert '"path": "/healthz"' in out  # structured request log
    assert "garbage collector tuned" in out  # accord/gctune.py, once the application is built
    assert "Payments: not configured (set ACCORD_STRIPE_SECRET_KEY" in out  # `make run` says so up front
    assert (tmp_path / "data" / "accord.db").is_file()


def test_gc_tune_freezes_the_application_and_sets_the_thresholds() -> None:
    """accord/gctune.py: what exists once the server is built is never walked again, and full
    collections are rare (bench/web.py: 400 -> 70 ms of collector time in a 5 s step run)."""
    import gc

    from accord import gctune

    before = gc.get_threshold()
    try:
        gctune.tune()
        assert gc.get_threshold() == gctune.THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # this test process's modules, at least
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle made after the freeze is still collected
        del garbage
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
