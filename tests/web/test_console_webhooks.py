"""The console's webhook pages and delivery outcomes through the real pages, against a real
receiver on loopback that checks signatures with the documented scheme only: add an endpoint
(refused for a loopback address until the firm allows private targets, the error next to the
field), the secret shown once, a test event in the delivery log with request and response, resend
through a real worker, edit, rotate, disable/enable, CSRF, agents refused; and an applicant's
`on completion` actions that are not configured, with the hint, "retry now" and the failing list."""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from consolekit import login, staff  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

from integrations import webhooks  # noqa: E402
from integrations.completion import CompletionConsumer  # noqa: E402
from integrations.connectors import FileRegistry  # noqa: E402
from integrations.webhooks import WebhookConsumer  # noqa: E402
from jobs.worker import Worker  # noqa: E402
from manage import actions  # noqa: E402
from manage.scope import Scope  # noqa: E402
from signing.mail import ConsoleMailer  # noqa: E402
from store.models import ConsoleAction, Delivery, Staff, WebhookEndpoint, WebhookSecret  # noqa: E402
from tests.one_signer import sign_alone  # noqa: E402
from web.app import create_app  # noqa: E402

SECRET = "console-webhooks-secret"
SHOWN = re.compile(r'id="new-secret"[^>]*value="(whsec_[^"]+)"')


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _client(db: Engine) -> TestClient:
    return TestClient(create_app(db, SECRET, mailer=ConsoleMailer(io.StringIO())))


def test_an_admin_manages_an_endpoint_and_its_delivery_log(db: Engine, receiver: Receiver) -> None:
    _admin, secret = staff(db, "demo", "mai@a.test", "admin")
    _agent, agent_secret = staff(db, "demo", "lan@a.test", "agent")
    assert secret and agent_secret
    with _client(db) as agent:
        agent_token = login(agent, "lan@a.test", agent_secret)
        assert agent.get("/console/webhooks").status_code == 403
        assert "/console/webhooks" not in agent.get("/console").text  # not in an agent's nav
        r = agent.post("/console/webhooks", data={"_csrf": agent_token, "url": receiver.url})
        assert r.status_code == 403
    with _client(db) as client:
        token = login(client, "mai@a.test", secret)
        page = client.get("/console/webhooks")
        assert page.status_code == 200 and "No endpoint yet." in page.text
        assert client.post("/console/webhooks", data={"url": receiver.url}).status_code == 403  # no CSRF token

        r = client.post("/console/webhooks", data={"_csrf": token, "url": receiver.url, "events": "*",
                                                   "description": "Servicing"})
        assert r.status_code == 422 and 'id="url-error"' in r.text and "loopback" in r.text
        assert f'value="{receiver.url}"' in r.text and 'value="Servicing"' in r.text  # nothing lost
        r = client.post("/console/webhooks", data={"_csrf": token, "url": receiver.url, "events": "nothing.*"})
        assert r.status_code == 422 and 'id="events-error"' in r.text

        r = client.post("/console/webhooks/private", data={"_csrf": token, "allow": "yes"}, follow_redirects=False)
        assert r.status_code == 303
        r = client.post("/console/webhooks", data={"_csrf": token, "url": receiver.url, "events": "envelope.*",
                                                   "description": "Servicing"})
        assert r.status_code == 200, r.text[:800]
        found = SHOWN.search(r.text)
        assert found, r.text[:2000]
        receiver.secret = found.group(1)
        with DB(db) as s:
            ep = s.exec(select(WebhookEndpoint)).one()
            stored = s.exec(select(WebhookSecret).where(WebhookSecret.endpoint_id == ep.id)).one()
            assert receiver.secret not in stored.sealed  # kept encrypted (store/secretbox.py)
            assert webhooks.secret_of(stored) == receiver.secret and ep.events == ["envelope.*"]
        listing = client.get("/console/webhooks").text
        assert receiver.url in listing and receiver.secret not in listing  # shown once only

        r = client.post(f"/console/webhooks/{ep.id}/test", data={"_csrf": token})
        assert r.status_code == 200 and "Delivered: the receiver answered 200." in r.text
        assert len(receiver.accepted) == 1 and receiver.accepted[0]["type"] == "webhook.test"
        event_id = receiver.accepted[0]["id"]
        page = client.get(f"/console/webhooks/{ep.id}").text
        assert event_id in page and "webhook.test" in page and "Delivered" in page
        with DB(db) as s:
            delivery = s.exec(select(Delivery)).one()
        detail = client.get(f"/console/deliveries/{delivery.id}").text
        assert "Accord-Signature" in detail and "t=" in detail and receiver.secret not in detail
        assert "{&#34;received&#34;:true}" in detail or '{"received":true}' in detail
        assert f"POST {receiver.url}" in detail

        r = client.post(f"/console/deliveries/{delivery.id}/resend", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/console/webhooks/{ep.id}?done=redeliver"
        Worker(db, [WebhookConsumer()]).run_once()
        assert receiver.ids() == [event_id, event_id]  # the same event id: receivers de-duplicate on it
        assert receiver.bad_signatures == 0
        page = client.get(f"/console/deliveries/{delivery.id}").text
        assert "Attempt 2" in page

        r = client.post(f"/console/webhooks/{ep.id}/edit", data={"_csrf": token, "events": "nonsense",
                                                                   "description": "x"})
        assert r.status_code == 422 and 'id="events-error"' in r.text and 'value="nonsense"' in r.text
        r = client.post(f"/console/webhooks/{ep.id}/edit", data={"_csrf": token, "events": "envelope.completed, "
                                                                   "payment.*", "description": "Loans"},
                        follow_redirects=False)
        assert r.status_code == 303
        r = client.post(f"/console/webhooks/{ep.id}/rotate", data={"_csrf": token})
        rotated = SHOWN.search(r.text)
        assert r.status_code == 200 and rotated and rotated.group(1) != receiver.secret
        r = client.post(f"/console/webhooks/{ep.id}/disable", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert "disabled by the firm" in client.get(f"/console/webhooks/{ep.id}").text
        with DB(db) as s:
            row = s.get(WebhookEndpoint, ep.id)
            assert row is not None
            assert (row.active, row.events, row.description) == (False, ["envelope.completed", "payment.*"], "Loans")
        client.post(f"/console/webhooks/{ep.id}/enable", data={"_csrf": token})
        with DB(db) as s:
            row = s.get(WebhookEndpoint, ep.id)
            assert row is not None and row.active
        assert client.post(f"/console/webhooks/{ep.id}/explode", data={"_csrf": token}).status_code == 404
        with DB(db) as s:  # each change is a console action of the firm, naming the endpoint, no applicant
            done = s.exec(select(ConsoleAction).order_by(col(ConsoleAction.id))).all()
        assert [a.action for a in done] == ["private_allowed", "webhook_added", "webhook_test", "webhook_resend",
                                            "webhook_edit", "webhook_rotate", "webhook_disable", "webhook_enable"]
        assert all(a.session_id is None and a.staff_id == _admin for a in done)
        assert all(a.detail.get("endpoint") == ep.id for a in done[1:])
        page = client.get(f"/console/webhooks/{ep.id}").text
        assert "Secret rotated" in page and "Endpoint disabled" in page and "Mai" in page
        vi = client.get(f"/console/webhooks/{ep.id}?lang=vi").text
        assert "Nhật ký gửi" in vi and "Gửi sự kiện thử" in vi


def _completed(db: Engine, agent_id: int) -> str:
    """A loan applicant of `agent_id` whose envelope has completed (the worker has work to do)."""
    with DB(db) as s:
        member = s.get(Staff, agent_id)
        assert member is not None
        session = actions.invite(s, Scope.of(member), "loan_application", "en",
                                 actions.Prefill("An", "an@example.com", "1000"), send=lambda *a: None,
                                 link=lambda sid: sid, days="7")
        sign_alone(s, member.firm_id, session.id, title="Loan", role="applicant", name="An", email="an@example.com")
        return session.id


def test_an_applicants_unconfigured_actions_show_with_a_hint_and_retry(db: Engine, tmp_path: Path) -> None:
    agent_id, agent_secret = staff(db, "demo", "lan@a.test", "agent")
    _admin, admin_secret = staff(db, "demo", "mai@a.test", "admin")
    _viewer, viewer_secret = staff(db, "demo", "vy@a.test", "viewer")
    _colleague, colleague_secret = staff(db, "demo", "minh@a.test", "agent")  # sees only their own
    assert agent_secret and admin_secret and viewer_secret and colleague_secret
    sid = _completed(db, agent_id)
    Worker(db, [CompletionConsumer(FileRegistry(tmp_path / "none.yml"))]).run_once()
    with DB(db) as s:
        delivery_ids = [d.id for d in s.exec(select(Delivery)).all()]
    with _client(db) as colleague:  # a colleague's applicant's actions: not found, not retried
        colleague_token = login(colleague, "minh@a.test", colleague_secret)
        for delivery_id in delivery_ids:
            assert colleague.get(f"/console/deliveries/{delivery_id}").status_code == 404
            r = colleague.post(f"/console/deliveries/{delivery_id}/resend", data={"_csrf": colleague_token})
            assert r.status_code == 404
        assert 'data-state=' not in colleague.get(f"/console/s/{sid}").text
    with DB(db) as s:
        assert {d.status for d in s.exec(select(Delivery)).all()} == {"unconfigured"}
    with _client(db) as client:
        token = login(client, "lan@a.test", agent_secret)
        page = client.get(f"/console/s/{sid}").text
        assert page.count('data-state="unconfigured"') == 2
        assert "ACCORD_INTEGRATIONS_FILE" in page and "“crm”" in page and "“loan_servicing”" in page
        vi = client.get(f"/console/s/{sid}?lang=vi").text
        assert "Chưa cấu hình" in vi and "chưa có trong tệp tích hợp" in vi and "Thử lại ngay" in vi
        client.get("/console?lang=en")
        with DB(db) as s:
            first = s.exec(select(Delivery).order_by(col(Delivery.id))).first()
            assert first is not None
        detail = client.get(f"/console/deliveries/{first.id}")
        assert detail.status_code == 200 and "no connector" in detail.text
        assert client.get("/console/failing").status_code == 403  # the firm-wide list is for admins
        r = client.post(f"/console/deliveries/{first.id}/resend", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/console/s/{sid}?done=retry"
        with DB(db) as s:
            again = s.get(Delivery, first.id)
            assert again is not None and again.status == "pending"
            assert s.exec(select(ConsoleAction.action).where(ConsoleAction.session_id == sid)).all() == [
                "invited", "completion_retried"]
        assert "On-completion action retried" in client.get(f"/console/s/{sid}").text
        with DB(db) as s:  # a done action is never run again from the console
            second = s.exec(select(Delivery).where(Delivery.id != first.id)).one()
            second_id = second.id
            second.status = "delivered"
            s.add(second)
            s.commit()
        r = client.post(f"/console/deliveries/{second_id}/resend", data={"_csrf": token})
        assert r.status_code == 409 and "not run again" in r.text
        with DB(db) as s:
            kept = s.get(Delivery, second_id)
            assert kept is not None and kept.status == "delivered"
    with _client(db) as viewer:
        viewer_token = login(viewer, "vy@a.test", viewer_secret)
        assert "Retry now" not in viewer.get(f"/console/s/{sid}").text
        r = viewer.post(f"/console/deliveries/{first.id}/resend", data={"_csrf": viewer_token})
        assert r.status_code == 403
    with _client(db) as admin:
        login(admin, "mai@a.test", admin_secret)
        page = admin.get("/console/failing").text
        assert page.count("data-delivery=") == 1  # queued again after its attempt (the other one is done)
        assert 'class="badge">1' in page and "Retrying" in page
        vi = admin.get(f"/console/s/{sid}?lang=vi").text
        assert "Chưa cấu hình" not in vi and "Đang thử lại" in vi and "Đã xong" in vi


def test_an_action_retrying_after_an_error_shows_its_next_attempt(db: Engine, tmp_path: Path) -> None:
    agent_id, agent_secret = staff(db, "demo", "lan@a.test", "agent")
    assert agent_secret
    sid = _completed(db, agent_id)
    config = tmp_path / "integrations.yml"
    config.write_text("firms:\n  demo:\n    hooks:\n      loan_servicing: {url: 'http://127.0.0.1:9/x', "
                      "secret_env: ACCORD_TEST_NOT_SET}\n", encoding="utf-8")
    Worker(db, [CompletionConsumer(FileRegistry(config))]).run_once()
    with _client(db) as client:
        login(client, "lan@a.test", agent_secret)
        page = client.get(f"/console/s/{sid}").text
        assert 'data-state="retrying"' in page and "next attempt" in page
        assert 'data-state="unconfigured"' in page  # the crm connector is still missing
    with DB(db) as s:
        hook = s.exec(select(Delivery).where(Delivery.action_index == 1)).one()
        assert hook.status == "pending" and hook.attempts == 1
        assert hook.next_attempt_at.replace(tzinfo=dt.UTC) > dt.datetime.now(dt.UTC)
