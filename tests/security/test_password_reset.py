"""A forgotten password, for real: the shop mails a link (to a real SMTP server) that sets a new
password once, within its time; asking for an unknown e-mail looks the same and sends nothing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from tests.mail.smtp_support import SHOP, first_link, mailing_to, smtp_server
from tests.security.security_support import API, assert_error
from tests.support.accounts import OPERATOR
from tests.support.server import running_server


def test_a_mailed_link_sets_a_new_password_once_and_an_unknown_email_gets_nothing(
    tmp_path: Path,
) -> None:
    email = "forgetful@test.kartshoppe.dev"
    with smtp_server() as (inbox, port):
        env = {**mailing_to(port), "KARTSHOPPE_RATE_SIGNIN": "off"}
        with (
            running_server(tmp_path, "--bus", "embedded", env=env) as server,
            httpx.Client(base_url=server.url(""), timeout=30) as api,
        ):
            body = {"email": email, "password": "first-password", "name": "Fay"}
            assert api.post(f"{API}/auth/register", json=body).status_code == 201
            unknown = api.post(f"{API}/auth/password-reset", json={"email": "nobody@x.dev"})
            asked = api.post(f"{API}/auth/password-reset", json={"email": email.upper()})
            assert (unknown.status_code, asked.status_code) == (202, 202)

            link = first_link(inbox)
            assert inbox.messages[0]["To"] == email
            assert link.startswith(f"{SHOP}/reset-password?token="), "never the request's Host"
            token = parse_qs(urlparse(link).query)["token"][0]
            operator = api.post(f"{API}/auth/login", json=OPERATOR).json()["token"]
            queued = api.get(f"{API}/admin/outbox", headers={"Authorization": f"Bearer {operator}"})
            assert [m["to"] for m in queued.json()] == [email], "nothing for an unknown e-mail"

            short = {"token": token, "newPassword": "short"}
            refused = api.post(f"{API}/auth/password-reset/confirm", json=short)
            assert [
                d["field"] for d in assert_error(refused, 422, "validation_error")["details"]
            ] == ["newPassword"]
            confirm = {"token": token, "newPassword": "second-password"}
            assert api.post(f"{API}/auth/password-reset/confirm", json=confirm).status_code == 204
            old = {"email": email, "password": "first-password"}
            new = {"email": email, "password": "second-password"}
            signed_in = [api.post(f"{API}/auth/login", json=b).status_code for b in (old, new)]
            assert signed_in == [401, 200]

            again = {"token": token, "newPassword": "third-password"}
            used = api.post(f"{API}/auth/password-reset/confirm", json=again)
            assert assert_error(used, 400, "invalid_token")["details"][0]["field"] == "token"
            forged = {"token": "not.a.token", "newPassword": "third-password"}
            assert_error(
                api.post(f"{API}/auth/password-reset/confirm", json=forged), 400, "invalid_token"
            )
            assert api.post(f"{API}/auth/login", json=new).status_code == 200
