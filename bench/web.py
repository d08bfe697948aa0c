"""Web throughput: a hello endpoint against a real interview step, in the same run, with wrk.

It starts `accord serve` (one worker, uvicorn with uvloop and httptools, exactly as `make run`
does, via `tests/live/server.py`) on a free loopback port with a temporary data dir (SQLite,
WAL, `synchronous=FULL`, on the same disk as /tmp), then runs wrk twice:

- **hello**: `GET /healthz` (routing, middleware, the request log line: the framework's ceiling);
- **step**: `POST /api/v1/sessions/{id}/answers` with the right bearer token and version. Each
  request does the whole work of a step: authorize, parse the JSON, load the session and its
  answer log, plan, coerce and validate the answers, write the new state and a new answer event
  (committed: fsync), plan and render the next screen as JSON (Markdown to HTML included).

How every measured step can be a real one (no 409 or 422 bounced off cheaply): the loan
interview is walked once in this process with the engine and generated answers, giving the
answers for each of its screens in order; a pilot session is walked through the API with them to
prove they are accepted screen after screen. Then many sessions are created, all at the first
screen, and a generated wrk Lua script sends request n of a thread to session n mod k of its own
k sessions with the answers for screen n div k: a session's next request is sent only after k-1
other requests of that thread, long after its previous one was answered (k >> connections).
Sessions are created directly in the database (the same initial state `start_session` writes,
one transaction) to keep the set-up short; their tokens are the API's. The Lua script counts
every response that is not a 200; the bench fails if there is any, and counts the answer events
the run stored afterwards (at least one per acknowledged step).

Prints `name: value unit` lines: `hello: N req/s`, `step: N req/s`, `ratio: 0.NN` and details.

    python bench/web.py [--duration 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from accord.autoanswer import answers_for  # noqa: E402
from tests.live.server import LiveServer  # noqa: E402

LOAN = ROOT / "interviews" / "loan_application.yml"
SECRET = "live-test-secret"  # what LiveServer gives the server
MAX_STEP_RATE = 4000  # sessions are provisioned for at most this many steps per second


def script(lang: str = "en") -> list[dict[str, Any]]:
    """The longest of a few generated walks (a "No" on the first screen ends the interview at once)."""
    return max((walk(lang, seed) for seed in range(8)), key=len)


def walk(lang: str, seed: int) -> list[dict[str, Any]]:
    """The request bodies (without `version`) that walk the loan interview from its first screen
    to its end screen, found with the engine in this process."""
    iv = engine.load(LOAN)
    state = iv.start(lang=lang)
    rng = random.Random(seed)
    bodies: list[dict[str, Any]] = []
    for _ in range(100):
        screen = engine.plan(iv, state)
        if isinstance(screen, engine.Done) or screen.is_end:
            return bodies
        for attempt in range(6):
            answers, button = answers_for(screen, rng, attempt=attempt)
            result = engine.apply(iv, state, screen, answers, button)
            if not isinstance(result, engine.ValidationErrors):
                state = result
                break
        else:
            raise SystemExit(f"screen {screen.block_id} kept rejecting generated answers")
        bodies.append({"answers": answers, "button": button})
    raise SystemExit("the generated walk did not reach an end screen")


def pilot(url: str, bodies: list[dict[str, Any]]) -> None:
    """Walk one session through the API with the script: every step must be a 200."""
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/v1/sessions", json={"interview": "loan_application", "lang": "en"}).json()
        auth = {"Authorization": f"Bearer {created['token']}"}
        screen = created["screen"]
        for n, body in enumerate(bodies, start=1):
            response = client.post(f"/api/v1/sessions/{created['id']}/answers",
                                   json={"version": n, **body}, headers=auth)
            if response.status_code != 200:
                raise SystemExit(f"pilot step {n} ({screen['block']}): {response.status_code} {response.text[:300]}")
            screen = response.json()
        if not screen["end"]:
            raise SystemExit(f"pilot ended at {screen['block']}, not at an end screen")


def create_sessions(data_dir: Path, count: int) -> list[tuple[str, str]]:
    """`count` new sessions on the loan interview, at the first screen: (id, bearer token)."""
    from sqlmodel import Session as DB
    from sqlmodel import select

    from store.database import make_engine
    from store.models import Firm, Session
    from store.sessions import compile_version, latest_version
    from web.api import Api

    db = make_engine(f"sqlite:///{data_dir / 'accord.db'}")
    try:
        with DB(db) as s:
            firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
            version = latest_version(s, firm, "loan_application")
            assert version is not None and firm.id is not None and version.id is not None
            initial = compile_version(version).start(lang="en").to_json()
            initial.pop("log", None)
            rows = [Session(firm_id=firm.id, interview_version_id=version.id, lang="en", state=initial)
                    for _ in range(count)]
            s.add_all(rows)
            s.commit()
            ids = [r.id for r in rows]
        api = Api(db, SECRET)
        return [(sid, api.token(sid)) for sid in ids]
    finally:
        db.dispose()


def count_events(data_dir: Path, session_ids: list[str]) -> int:
    import sqlite3

    con = sqlite3.connect(data_dir / "accord.db")
    try:
        con.execute("CREATE TEMP TABLE bench_ids (id TEXT PRIMARY KEY)")
        con.executemany("INSERT INTO bench_ids VALUES (?)", [(i,) for i in session_ids])
        query = "SELECT count(*) FROM answer_event WHERE session_id IN (SELECT id FROM bench_ids)"
        return int(con.execute(query).fetchone()[0])
    finally:
        con.close()


def lua(sessions: list[tuple[str, str]], bodies: list[dict[str, Any]]) -> str:
    """The wrk script: thread t answers its own sessions round-robin (see the module docstring)."""
    def q(text: str) -> str:
        return json.dumps(text)  # a JSON string literal is a valid Lua string literal here (ASCII)

    rows = ",\n".join(f"{{{q(sid)}, {q('Bearer ' + token)}}}" for sid, token in sessions)
    payloads = ",\n".join(q(json.dumps({"version": n, **body}, ensure_ascii=True))
                          for n, body in enumerate(bodies, start=1))
    return f"""-- generated by bench/web.py
local sessions = {{
{rows}
}}
local bodies = {{
{payloads}
}}
local threads = {{}}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1])
  mine = {{}}
  for i, s in ipairs(sessions) do
    if (i - 1) % nthreads == tid then table.insert(mine, s) end
  end
  n = 0
  verifying = (tid == 0)
  bad = 0
  exhausted = 0
end

-- wrk calls request() once on thread 0 before the run, only to check it (script_verify_request):
-- that call must not use up a step, or its session would be a step behind for the whole run.
function request()
  local k = #mine
  local round = math.floor(n / k) + 1
  local s = mine[(n % k) + 1]
  if verifying then
    verifying = false
  else
    n = n + 1
  end
  if round > #bodies then
    exhausted = 1
    round = #bodies
  end
  return wrk.format("POST", "/api/v1/sessions/" .. s[1] .. "/answers",
    {{["Authorization"] = s[2], ["Content-Type"] = "application/json"}}, bodies[round])
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad == 1 then io.stderr:write("first non-200: " .. status .. " " .. string.sub(body, 1, 300) .. "\\n") end
  end
end

function done(summary, latency, requests)
  local b, e = 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    e = e + t:get("exhausted")
  end
  io.write(string.format("lua bad: %d\\nlua exhausted: %d\\n", b, e))
end
"""


def wrk(args: list[str]) -> tuple[float, float, str]:
    """Run wrk; (requests per second, median latency in ms, full output)."""
    run = subprocess.run(["wrk", *args], capture_output=True, text=True, check=True)
    out = run.stdout
    if run.stderr.strip():
        print(run.stderr.strip(), file=sys.stderr)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if os.environ.get("BENCH_WRK_OUTPUT"):
        print(out, file=sys.stderr)
    if rate is None:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    median = math.nan
    if p50 is not None:
        median = float(p50.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return float(rate.group(1)), median, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: install the Debian package 'wrk' (apt-get install -y wrk) and run again",
              file=sys.stderr)
        return 2
    bodies = script()
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as tmp, LiveServer(Path(tmp) / "data") as server:
        pilot(server.url, bodies)
        count = max(args.connections * 8, math.ceil(MAX_STEP_RATE * args.duration / len(bodies)))
        count += -count % args.threads
        sessions = create_sessions(server.data_dir, count)
        lua_file = Path(tmp) / "step.lua"
        lua_file.write_text(lua(sessions, bodies), encoding="ascii")
        common = [f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "30s"]
        hello, hello_p50, _ = wrk([*common, f"{server.url}/healthz"])
        step, step_p50, out = wrk([*common, "-s", str(lua_file), server.url, "--", str(args.threads)])
        bad = int(re.search(r"lua bad: (\d+)", out).group(1))  # type: ignore[union-attr]
        exhausted = int(re.search(r"lua exhausted: (\d+)", out).group(1))  # type: ignore[union-attr]
        done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        server.stop()
        stored = count_events(server.data_dir, [sid for sid, _ in sessions])
    print(f"hello: {hello:.0f} req/s")
    print(f"step: {step:.0f} req/s")
    print(f"ratio: {step / hello:.2f}")
    print(f"hello latency p50: {hello_p50:.2f} ms")
    print(f"step latency p50: {step_p50:.2f} ms")
    print(f"step requests answered: {done} requests")
    print(f"step answers persisted: {stored} events")
    print(f"step non-200 responses: {bad} responses")
    print(f"sessions used: {count} sessions of {len(bodies)} steps")
    if bad or exhausted:
        print("error: some step requests were not real steps (non-200, or the sessions ran out)", file=sys.stderr)
        return 1
    if stored < done - bad:
        print("error: fewer answer events stored than steps acknowledged", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
