"""An agent's day through Dossier's HTTP API, from another language.

Run by the Rust test `serve_python.rs` against a real `dossier serve`; it
passes the server's address and the agents' credentials in the
environment. Each journey asserts what an integration would rely on; any
failure exits non-zero with the journey's name.
"""

import json
import os
import subprocess
import sys

import requests

BASE = os.environ["DOSSIER_URL"]
PASSWORD = os.environ["DOSSIER_PASSWORD"]


def problem(response, status, code):
    """The answer is the problem details `code` with HTTP `status`."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    return body


def sign_in(login):
    """A browser-like session: the cookie is kept by the session object and
    every write carries the CSRF token."""
    s = requests.Session()
    r = s.post(f"{BASE}/api/v1/session", json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert "HttpOnly" in r.headers["set-cookie"], r.headers
    s.headers["X-CSRF-Token"] = r.json()["csrf"]
    assert s.get(f"{BASE}/api/v1/me").json()["login"] == login
    return s


def token_client(token):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def journey_sign_in_and_out():
    r = requests.post(f"{BASE}/api/v1/session", json={"login": "ann", "password": "wrong password!"})
    problem(r, 401, "bad_credentials")
    s = sign_in("ann")
    # A write without the CSRF token is refused.
    bare = requests.post(f"{BASE}/api/v1/customers", json={"account": "X", "name": "X"},
                         cookies=s.cookies)
    problem(bare, 403, "csrf")
    assert s.delete(f"{BASE}/api/v1/session").status_code == 204
    problem(s.get(f"{BASE}/api/v1/me"), 401, "unauthenticated")


def journey_pop_open_a_case_and_add_a_follow_up():
    ann = sign_in("ann")
    r = ann.post(f"{BASE}/api/v1/customers", json={
        "account": "PY-1", "name": "Ada Lovelace",
        "phones": [{"label": "main", "number": "+33 1 23 45 67 89"}],
    })
    assert r.status_code == 200, r.text
    customer = r.json()
    pop = ann.post(f"{BASE}/api/v1/pops", json={"channel": "phone", "caller": "+33123456789"}).json()
    assert pop["target"] == {"pop": "customer", "customer": customer["id"]}, pop
    case = ann.post(f"{BASE}/api/v1/cases", json={
        "customer": "PY-1", "subject": "Engine drawings lost", "owner": "ann",
    }).json()
    note = ann.post(f"{BASE}/api/v1/cases/{case['number']}/follow-ups",
                    json={"body": "Called: drawings found in the attic"})
    assert note.status_code == 200, note.text
    assert note.json()["author"] == "ann"
    page = ann.get(f"{BASE}/api/v1/cases/{case['number']}/follow-ups", params={"limit": 1}).json()
    assert len(page["items"]) == 1, page
    # A typo in a field name is refused, naming it.
    body = problem(ann.patch(f"{BASE}/api/v1/cases/{case['number']}", json={"subjet": "x"}),
                   400, "bad_request")
    assert body["field"] == "subjet", body
    # The pop now lists the open case.
    pop = ann.post(f"{BASE}/api/v1/pops", json={"channel": "phone", "caller": "+33123456789"}).json()
    assert pop["open_cases"] == [case["number"]], pop


def journey_another_agents_private_case_is_not_found():
    bob = token_client(os.environ["DOSSIER_BOB_TOKEN"])
    r = bob.post(f"{BASE}/api/v1/customers", json={"account": "PY-2", "name": "Charles Babbage"})
    assert r.status_code == 200, r.text
    case = bob.post(f"{BASE}/api/v1/cases", json={
        "customer": "PY-2", "subject": "Private matter", "visibility": "private", "owner": "bob",
    }).json()
    ann = token_client(os.environ["DOSSIER_ANN_TOKEN"])
    problem(ann.get(f"{BASE}/api/v1/cases/{case['number']}"), 404, "not_found")
    problem(ann.post(f"{BASE}/api/v1/cases/{case['number']}/follow-ups", json={"body": "x"}),
            404, "not_found")
    listed = ann.get(f"{BASE}/api/v1/cases", params={"customer": case["customer"]}).json()
    assert listed["items"] == [], listed


def journey_pages_walk_every_customer():
    admin = token_client(os.environ["DOSSIER_BOSS_TOKEN"])
    for i in range(7):
        r = admin.post(f"{BASE}/api/v1/customers", json={"account": f"PG-{i}", "name": f"Page {i}"})
        assert r.status_code == 200, r.text
    seen, cursor = [], None
    while True:
        params = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = admin.get(f"{BASE}/api/v1/customers", params=params).json()
        seen += [c["account"] for c in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen)), seen
    assert {f"PG-{i}" for i in range(7)} <= set(seen), seen


def operator(*args):
    """What the operator's CLI prints as JSON (the chat server's stand-in
    until the server takes chat visitors)."""
    out = subprocess.run(
        [os.environ["DOSSIER_BIN"], "--as", "boss", "--json", *args],
        cwd=os.environ["DOSSIER_DIR"], capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def journey_reply_to_an_email():
    ann = sign_in("ann")
    bin_ = ann.get(f"{BASE}/api/v1/workbin").json()
    item = next(i for i in bin_["items"] if i.get("follow_up"))
    case, email = item["case_number"], item["follow_up"]
    draft = ann.post(f"{BASE}/api/v1/emails/{email}/reply",
                     json={"note": "Dear Ada,\n\nYour invoice is on its way.\n\n"})
    assert draft.status_code == 200, draft.text
    draft = draft.json()
    assert draft["to"][0]["address"] == "ada@example.com", draft
    assert draft["body"].startswith("Dear Ada,"), draft["body"]
    sent = ann.post(f"{BASE}/api/v1/drafts/{draft['id']}/send")
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "sent", sent.json()
    kinds = [f["kind"] for f in ann.get(f"{BASE}/api/v1/cases/{case}/follow-ups",
                                        params={"limit": 50}).json()["items"]]
    assert "email_out" in kinds, kinds
    assert ann.post(f"{BASE}/api/v1/workbin/{item['id']}/done").status_code == 200


def journey_accept_a_chat_and_answer_it():
    ann = sign_in("ann")
    r = ann.put(f"{BASE}/api/v1/agents/me/chat-state", json={"state": "available"})
    assert r.status_code == 200, r.text
    arrived = operator("chat", "arrive", "--queue", "sales", "--name", "Ada",
                       "--email", "ada@example.com")
    chat = arrived["chat"]
    offered = ann.get(f"{BASE}/api/v1/chats").json()["items"]
    assert [c["id"] for c in offered] == [chat], offered
    accepted = ann.post(f"{BASE}/api/v1/chats/{chat}/accept")
    assert accepted.status_code == 200 and accepted.json()["state"] == "active", accepted.text
    said = ann.post(f"{BASE}/api/v1/chats/{chat}/messages",
                    json={"text": "Hello Ada, how can I help?"})
    assert said.status_code == 200 and said.json()["author"] == "ann", said.text
    ended = ann.post(f"{BASE}/api/v1/chats/{chat}/end", json={"disposition": "answered"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["chat"]["state"] == "ended", ended.json()
    shown = ann.get(f"{BASE}/api/v1/chats/{chat}").json()
    assert [m["text"] for m in shown["transcript"]] == ["Hello Ada, how can I help?"], shown


def journey_the_openapi_document_describes_the_api():
    doc = requests.get(f"{BASE}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3."), doc["openapi"]
    assert "post" in doc["paths"]["/api/v1/cases"], list(doc["paths"])


JOURNEYS = [
    journey_sign_in_and_out,
    journey_pop_open_a_case_and_add_a_follow_up,
    journey_another_agents_private_case_is_not_found,
    journey_pages_walk_every_customer,
    journey_reply_to_an_email,
    journey_accept_a_chat_and_answer_it,
    journey_the_openapi_document_describes_the_api,
]


def main():
    failed = 0
    for journey in JOURNEYS:
        try:
            journey()
            print(f"ok   {journey.__name__}")
        except Exception as e:  # noqa: BLE001 - report every journey's failure
            failed += 1
            print(f"FAIL {journey.__name__}: {e!r}")
    print(f"{len(JOURNEYS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
