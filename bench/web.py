"""Web throughput: a hello endpoint against a real interview step, in the same run, with wrk.

It starts `accord serve` (one worker, uvicorn with uvloop and httptools, exactly as `make run`
does, via `tests/live/server.py`) on a free loopback port with a temporary data dir (SQLite,
WAL, `synchronous=FULL`, on the same disk as /tmp), then runs wrk (20 connections, after 2 s
of hello as a warm-up) three times:

- **hello**: `GET /healthz` (routing, middleware, the request log line: the framework's ceiling);
- **step**: `POST /api/v1/sessions/{id}/answers` with the right bearer token and version. Each
  request does the whole work of a step: authorize, parse the JSON, load the session (its row and
  stored event count), coerce and validate the answers against the screen being answered, write
  the new state and a new answer event (committed: fsync), plan and render the next screen as
  JSON (Markdown to HTML included). As in real use, the screen being answered is one the server
  showed: before the run every session's screen is fetched once (`GET /api/v1/sessions/{id}`,
  what a browser does before the applicant answers), so the step takes the plan kept then
  (docs/performance.md) instead of planning the stored state again;
- **step cold**: the same on other sessions whose screen this server never showed (their first
  request after a restart, or on another worker): the step decodes the stored state and plans
  the screen being answered, then the next one. Printed as well, so the saving is visible.

How every measured step can be a real one (no 409 or 422 bounced off cheaply) and the steps
cover the whole interview, not only its first screens: the loan interview is walked once in
this process with the engine and generated answers, giving for each of its M screens the
request body and the session state in which it is asked; a pilot session is walked through the
API with those bodies to prove they are accepted screen after screen. Then many sessions are
stored directly in the database (one transaction, to keep the set-up short), session i at screen
i mod M with the state and answer events the API would have written to get there; their tokens
are the API's. A generated wrk Lua script sends pass p of a thread to each of its sessions in
turn with the body of the screen it started at + p (skipping sessions at their end), so the same
session is asked again only after every other active session of the thread, long after its
previous step was answered. The script counts every response that is not a 200 (the bench fails
if there is one, or if the sessions run out) and the answer events stored during the run are
counted afterwards: one per acknowledged step, plus at most one per connection cut off at the end.

The server runs on one CPU and wrk on another (`pin_server`, the method of
`shared/notes/web_stack.md`), unless `--no-pin` or the machine has one CPU: sharing both CPUs
with wrk made the same code's ratio swing by a quarter from run to run.

hello and step are measured in rounds (`--rounds`, 3): a hello run, then a step run on fresh
sessions, back to back; the round with the median ratio is reported, with the lowest and highest.

Prints `name: value unit` lines: `hello: N req/s`, `step: N req/s`, `ratio: 0.NN` and details
(`ratio lowest round`, `step cold: N req/s`, the server's CPU time per request).

    python bench/web.py [--duration 5] [--connections 20] [--rounds 3] [--no-pin]
    (BENCH_WRK_OUTPUT=1: show wrk's own output)
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
from dataclasses import dataclass
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


Walk = list[tuple[dict[str, Any], dict[str, Any]]]  # per screen: (request body without version, state before it)


def script(lang: str = "en") -> Walk:
    """The longest of a few generated walks (a "No" on the first screen ends the interview at once)."""
    return max((walk(lang, seed) for seed in range(8)), key=len)


def walk(lang: str, seed: int) -> Walk:
    """The request bodies (without `version`) that walk the loan interview from its first screen
    to its end screen, found with the engine in this process, each with the session state (as
    `State.to_json`, log included) in which that screen is asked."""
    iv = engine.load(LOAN)
    state = iv.start(lang=lang)
    rng = random.Random(seed)
    steps: Walk = []
    for _ in range(100):
        before = json.loads(json.dumps(state.to_json()))  # as saved: after the last answer, before planning
        screen = engine.plan(iv, state)
        if isinstance(screen, engine.Done) or screen.is_end:
            return steps
        for attempt in range(6):
            answers, button = answers_for(screen, rng, attempt=attempt)
            result = engine.apply(iv, state, screen, answers, button)
            if not isinstance(result, engine.ValidationErrors):
                state = result
                break
        else:
            raise SystemExit(f"screen {screen.block_id} kept rejecting generated answers")
        steps.append(({"answers": answers, "button": button}, before))
    raise SystemExit("the generated walk did not reach an end screen")


def pilot(url: str, steps: Walk) -> None:
    """Walk one session through the API with the script: every step must be a 200."""
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/v1/sessions", json={"interview": "loan_application", "lang": "en"}).json()
        auth = {"Authorization": f"Bearer {created['token']}"}
        screen = created["screen"]
        for n, (body, _state) in enumerate(steps, start=1):
            response = client.post(f"/api/v1/sessions/{created['id']}/answers",
                                   json={"version": n, **body}, headers=auth)
            if response.status_code != 200:
                raise SystemExit(f"pilot step {n} ({screen['block']}): {response.status_code} {response.text[:300]}")
            screen = response.json()
        if not screen["end"]:
            raise SystemExit(f"pilot ended at {screen['block']}, not at an end screen")


def create_sessions(data_dir: Path, count: int, steps: Walk) -> list[tuple[str, str, int]]:
    """`count` sessions on the loan interview, session i at screen i mod len(steps) of the walk
    (its state and answer events as the API would have stored them): (id, bearer token, screen)."""
    import datetime as dt

    from sqlmodel import Session as DB
    from sqlmodel import select

    from store.database import make_engine
    from store.models import AnswerEvent, Firm, Session
    from store.sessions import latest_version
    from web.api import Api

    db = make_engine(f"sqlite:///{data_dir / 'accord.db'}")
    try:
        with DB(db) as s:
            firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
            version = latest_version(s, firm, "loan_application")
            assert version is not None and firm.id is not None and version.id is not None
            made: list[tuple[Session, int]] = []
            for i in range(count):
                at = i % len(steps)
                state = {k: v for k, v in steps[at][1].items() if k != "log"}
                made.append((Session(firm_id=firm.id, interview_version_id=version.id, lang="en", state=state,
                                     version=at + 1), at))
            s.add_all(row for row, _at in made)
            s.flush()  # the sessions before their events (foreign key)
            s.add_all(AnswerEvent(session_id=row.id, seq=e["seq"], block=e["block"], changes=e["changes"],
                                  at=dt.datetime.fromisoformat(e["at"]))
                      for row, at in made for e in steps[at][1]["log"])
            s.commit()
            created = [(row.id, at) for row, at in made]
        # Copy those writes from the WAL into the database file now: else the first step that
        # crosses SQLite's auto-checkpoint would copy the whole set-up, inside the measured run.
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        api = Api(db, SECRET)
        return [(sid, api.token(sid), at) for sid, at in created]
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


def lua(sessions: list[tuple[str, str, int]], steps: Walk) -> str:
    """The wrk script: thread t answers its own sessions round-robin (see the module docstring)."""
    def q(text: str) -> str:
        return json.dumps(text)  # a JSON string literal is a valid Lua string literal here (ASCII)

    rows = ",\n".join(f"{{{q(sid)}, {q('Bearer ' + token)}, {at}}}" for sid, token, at in sessions)
    payloads = ",\n".join(q(json.dumps({"version": n, **body}, ensure_ascii=True))
                          for n, (body, _state) in enumerate(steps, start=1))
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
  cursor = 0
  verifying = (tid == 0)
  bad = 0
  exhausted = 0
end

-- Pass p sends each session of this thread the screen it started at + p, skipping sessions that
-- have no screen left. wrk calls request() once on thread 0 before the run, only to check it
-- (script_verify_request): that call must not use up a step.
function request()
  local k = #mine
  local c = cursor
  while true do
    local p = math.floor(c / k)
    local s = mine[(c % k) + 1]
    if p >= #bodies then
      exhausted = 1
      return wrk.format("GET", "/healthz")
    end
    local r = s[3] + p + 1
    if r <= #bodies then
      if verifying then verifying = false else cursor = c + 1 end
      return wrk.format("POST", "/api/v1/sessions/" .. s[1] .. "/answers",
        {{["Authorization"] = s[2], ["Content-Type"] = "application/json"}}, bodies[r])
    end
    c = c + 1
  end
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): the server's cost per request,
    which unlike requests per second does not depend on what else the machine is running."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# CPUs (server, load generator) when pinned: see `pin_server`.
PINNED: tuple[int, int] | None = None


def pin_server(pid: int, cpus: list[int]) -> tuple[int, int] | None:
    """Give the server one CPU and wrk another, as `shared/notes/web_stack.md` measured the
    framework's ceiling: on a 2-CPU machine, unpinned, wrk and the server's threads take turns on
    both CPUs and the same code measured anywhere from 0.13 to 0.17 in three runs in a row (the
    CPU time per step alone varied by a quarter). Every thread of the server is moved, and the
    threads it starts later inherit the CPU. None (not pinned) with fewer than 2 CPUs."""
    if len(cpus) < 2:
        return None
    server_cpu, wrk_cpu = cpus[0], cpus[1]
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {server_cpu})
        except (ProcessLookupError, PermissionError):
            continue  # a thread that just ended
    return server_cpu, wrk_cpu


def wrk(args: list[str]) -> tuple[float, float, str]:
    """Run wrk (on its own CPU when the server is pinned); (requests per second, median latency
    in ms, full output)."""
    pinned = PINNED
    run = subprocess.run(["wrk", *args], capture_output=True, text=True, check=True,
                         preexec_fn=(lambda: os.sched_setaffinity(0, {pinned[1]})) if pinned else None)
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


def show_all(url: str, sessions: list[tuple[str, str, int]]) -> None:
    """GET every session's current screen through the API, as the applicant's browser shows a
    screen before it is answered (the server plans it and keeps that plan for the answer)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for sid, token, _at in sessions:
            response = client.get(f"/api/v1/sessions/{sid}", headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise SystemExit(f"showing session {sid}: {response.status_code} {response.text[:300]}")


@dataclass
class HelloRun:
    rate: float
    p50: float
    cpu_ms: float  # server CPU per request


def hello_run(server: LiveServer, common: list[str]) -> HelloRun:
    assert server.proc is not None
    cpu0 = cpu_seconds(server.proc.pid)
    rate, p50, out = wrk([*common, f"{server.url}/healthz"])
    cpu1 = cpu_seconds(server.proc.pid)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return HelloRun(rate=rate, p50=p50, cpu_ms=1000 * (cpu1 - cpu0) / max(done, 1))


@dataclass
class StepRun:
    rate: float
    p50: float
    cpu_ms: float  # server CPU per request
    done: int
    bad: int
    exhausted: int
    stored: int


def step_run(server: LiveServer, tmp: Path, steps: Walk, count: int, common: list[str], threads: int, *,
             shown: bool, tag: str) -> StepRun:
    """Provision `count` sessions, optionally show each one's screen first, then wrk the steps."""
    assert server.proc is not None
    sessions = create_sessions(server.data_dir, count, steps)
    ids = [sid for sid, _token, _at in sessions]
    before = count_events(server.data_dir, ids)
    lua_file = tmp / f"step-{tag}.lua"
    lua_file.write_text(lua(sessions, steps), encoding="ascii")
    if shown:
        show_all(server.url, sessions)
    cpu0 = cpu_seconds(server.proc.pid)
    rate, p50, out = wrk([*common, "-s", str(lua_file), server.url, "--", str(threads)])
    cpu1 = cpu_seconds(server.proc.pid)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return StepRun(rate=rate, p50=p50, cpu_ms=1000 * (cpu1 - cpu0) / max(done, 1), done=done,
                   bad=int(re.search(r"lua bad: (\d+)", out).group(1)),  # type: ignore[union-attr]
                   exhausted=int(re.search(r"lua exhausted: (\d+)", out).group(1)),  # type: ignore[union-attr]
                   stored=count_events(server.data_dir, ids) - before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    # 20, as shared/notes/web_stack.md measured the framework's ceiling: with 8 the step run left
    # the CPU idle while every request in flight waited on the same fsync.
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="(hello, step) pairs; the median is reported")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the server and wrk share every CPU (default: one CPU each, when there are 2)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: install the Debian package 'wrk' (apt-get install -y wrk) and run again",
              file=sys.stderr)
        return 2
    steps = script()
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as tmp, LiveServer(Path(tmp) / "data") as server:
        global PINNED
        assert server.proc is not None
        PINNED = None if args.no_pin else pin_server(server.proc.pid, sorted(os.sched_getaffinity(0)))
        pilot(server.url, steps)
        # session i starts at screen i mod M: sum(M - start) >= MAX_STEP_RATE * duration steps to give
        count = max(args.connections * 8, math.ceil(2 * MAX_STEP_RATE * args.duration / (len(steps) + 1)))
        count += -count % (args.threads * len(steps))
        common = [f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "30s"]
        assert server.proc is not None
        wrk([f"-t{args.threads}", f"-c{args.connections}", "-d2s", f"{server.url}/healthz"])  # warm-up, not counted
        # Rounds of (hello, step) back to back, each step run on fresh sessions: on a shared VM the
        # machine's speed drifts within seconds, so each round's ratio compares two runs made
        # under the same conditions and the median round is reported (with the spread).
        rounds: list[tuple[HelloRun, StepRun]] = []
        for n in range(args.rounds):
            rounds.append((hello_run(server, common), step_run(server, Path(tmp), steps, count, common, args.threads,
                                                               shown=True, tag=str(n))))
        cold = step_run(server, Path(tmp), steps, count, common, args.threads, shown=False, tag="cold")
        server.stop()
    ratios = sorted(step.rate / hello.rate for hello, step in rounds)
    hello, step = sorted(rounds, key=lambda r: r[1].rate / r[0].rate)[len(rounds) // 2]  # the median round
    print(f"hello: {hello.rate:.0f} req/s")
    print(f"step: {step.rate:.0f} req/s")
    print(f"ratio: {step.rate / hello.rate:.2f}")
    print(f"ratio lowest round: {ratios[0]:.2f}")
    print(f"ratio highest round: {ratios[-1]:.2f}")
    print(f"rounds: {len(rounds)} rounds")
    print(f"hello latency p50: {hello.p50:.2f} ms")
    print(f"step latency p50: {step.p50:.2f} ms")
    print(f"hello server cpu: {hello.cpu_ms:.3f} ms/request")
    print(f"step server cpu: {step.cpu_ms:.3f} ms/request")
    print(f"step cold: {cold.rate:.0f} req/s")
    print(f"step cold ratio: {cold.rate / hello.rate:.2f}")
    print(f"step cold server cpu: {cold.cpu_ms:.3f} ms/request")
    runs = [s for _h, s in rounds] + [cold]
    print(f"step requests answered: {sum(r.done for r in runs)} requests")
    print(f"step answers persisted: {sum(r.stored for r in runs)} events")
    print(f"step non-200 responses: {sum(r.bad for r in runs)} responses")
    print(f"sessions: {len(runs) * count} sessions")
    print(f"screens per walk: {len(steps)} screens")
    # 1 when pinned (the server on one CPU, wrk on another), else every CPU, shared with wrk
    print(f"server cpus: {1 if PINNED else len(os.sched_getaffinity(0))} cpus")
    for run in runs:
        if run.bad or run.exhausted:
            print("error: some step requests were not real steps (non-200, or the sessions ran out)", file=sys.stderr)
            return 1
        if not run.done - run.bad <= run.stored <= run.done + args.connections:
            print("error: the answer events stored do not match the steps acknowledged", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
