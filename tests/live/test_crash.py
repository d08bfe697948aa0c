"""kill -9 of `accord serve`, between steps and in the middle of requests: every step the server
acknowledged survives, nothing is half-written, and sessions go on after the restart.

Each test runs its own `LiveServer` (not the shared `live` fixture, since it kills the server)
and drives sessions through the JSON API with generated answers. After each crash the SQLite
file is checked directly, before the server starts again on the same data dir:
`PRAGMA integrity_check`; per session the answer log is 1..n and the version is 1 + n (every step
here is an answer, and a step writes the state and its event in one transaction); replaying the
log's changes gives the stored answers; every acknowledged step is there with its answers, and
at most one more (the request in flight when the server died).
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from apiclient import ApiSession, create, refresh, step
from server import LiveServer
from sqlmodel import Session as DB

from store.database import make_engine
from store.sessions import load_state

CLIENTS = 4
ROUNDS = 3


def database(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Per session, as stored: version, answer log and answers (as `State.to_json` has them).
    Checks the file's integrity first."""
    path = data_dir / "accord.db"
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        ids = [row[0] for row in con.execute("SELECT id FROM interview_session")]
    finally:
        con.close()
    db = make_engine(f"sqlite:///{path}")
    out: dict[str, dict[str, Any]] = {}
    try:
        with DB(db) as s:
            for sid in ids:
                row, state = load_state(s, sid)
                out[sid] = {"version": row.version, "log": state.log, "answers": state.to_json()["answers"]}
    finally:
        db.dispose()
    return out


def check_consistent(stored: dict[str, dict[str, Any]]) -> None:
    """Nothing half-written: the log is 1..n, the version moved once per event, and replaying
    the log's changes gives the stored answers."""
    for sid, s in stored.items():
        seqs = [e["seq"] for e in s["log"]]
        assert seqs == list(range(1, len(seqs) + 1)), (sid, seqs)
        assert s["version"] == len(seqs) + 1, (sid, s["version"], len(seqs))
        replayed: dict[str, Any] = {}
        for event in s["log"]:
            for var, (_old, new) in event["changes"].items():
                replayed[var] = new
        for var, value in replayed.items():
            assert s["answers"].get(var, "<missing>") == value, (sid, var)


def check_acknowledged(sessions: list[ApiSession], stored: dict[str, dict[str, Any]]) -> None:
    """Every acknowledged step is stored, for its screen and with the text it was sent with."""
    for session in sessions:
        assert session.id in stored, "an acknowledged session is missing"
        log = stored[session.id]["log"]
        acked = len(session.answered)
        assert acked <= len(log) <= acked + 1, (session.id, acked, len(log))
        for n, done in enumerate(session.answered):
            assert done["version"] == n + 2
            assert log[n]["block"] == done["block"], (session.id, n)
            for var, (_old, new) in log[n]["changes"].items():
                sent = done["answers"].get(var)
                if isinstance(sent, str) and isinstance(new, str):
                    assert new == sent.strip(), (session.id, n, var)


def test_kill_between_steps_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data").start()
    try:
        rng = random.Random(11)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            sessions = [create(client, "en"), create(client, "vi")]
            for session in sessions:
                step(client, session, rng, button=0)  # "Yes" to the consent: the walk goes on
                for _ in range(4):
                    assert not step(client, session, rng)["end"]
            before = {s.id: dict(s.screen) for s in sessions}
        server.kill()

        stored = database(server.data_dir)
        check_consistent(stored)
        check_acknowledged(sessions, stored)
        assert all(len(stored[s.id]["log"]) == 5 for s in sessions)  # nothing was in flight

        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for session in sessions:
                assert refresh(client, session) == before[session.id]  # the same screen and version
                while not step(client, session, rng)["end"]:  # and on to the end
                    pass
        server.kill()
        stored = database(server.data_dir)
        check_consistent(stored)
        check_acknowledged(sessions, stored)
    finally:
        server.stop()


def _client(url: str, owned: list[ApiSession], rng: random.Random, stop: threading.Event, going: threading.Event,
            errors: list[BaseException]) -> None:
    """Post steps until told to stop or the server dies; a new session when one ends. `going`
    is set once a step was acknowledged."""
    with httpx.Client(base_url=url, timeout=10) as client:
        try:
            if owned and not owned[-1].screen["end"]:
                refresh(client, owned[-1])  # after a crash: the version as stored
            while not stop.is_set():
                if not owned or owned[-1].screen["end"]:
                    owned.append(create(client, rng.choice(["en", "vi"])))
                step(client, owned[-1], rng)
                going.set()
        except httpx.TransportError:
            return  # the server died under us: this request was not acknowledged
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)


def test_kill_in_the_middle_of_requests(tmp_path: Path) -> None:
    """Clients keep posting steps while the server is SIGKILLed at a random moment, three times."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    server = LiveServer(tmp_path / "data").start()
    owned: list[list[ApiSession]] = [[] for _ in range(CLIENTS)]
    try:
        for round_ in range(ROUNDS):
            stop, going, errors = threading.Event(), threading.Event(), []
            before = sum(len(s.answered) for mine in owned for s in mine)
            threads = [threading.Thread(target=_client, args=(server.url, owned[n],
                                                              random.Random(seed + 100 * round_ + n),
                                                              stop, going, errors))
                       for n in range(CLIENTS)]
            for t in threads:
                t.start()
            assert going.wait(20), f"seed {seed}: no step acknowledged in round {round_}"
            time.sleep(rng.uniform(0.05, 0.8))  # then a random moment, steps in flight
            server.kill()  # SIGKILL with requests in flight
            stop.set()
            for t in threads:
                t.join(15)
            assert not errors, f"seed {seed}: {errors[0]!r}"
            sessions = [s for mine in owned for s in mine]
            assert sum(len(s.answered) for s in sessions) > before, f"seed {seed}: no step acknowledged"

            stored = database(server.data_dir)
            check_consistent(stored)
            check_acknowledged(sessions, stored)
            for session in sessions:  # a step in flight may have been committed: it is the state now
                log = stored[session.id]["log"]
                if len(log) > len(session.answered):
                    session.answered.append({"version": len(log) + 1, "block": log[-1]["block"], "answers": {}})
            server.start()

        rng_after = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=30) as client:  # every session goes on
            for session in (s for mine in owned for s in mine):
                screen = refresh(client, session)
                assert screen["version"] == len(session.answered) + 1
                if not screen["end"]:
                    step(client, session, rng_after)
        server.kill()
        stored = database(server.data_dir)
        check_consistent(stored)
        check_acknowledged([s for mine in owned for s in mine], stored)
    finally:
        server.stop()
