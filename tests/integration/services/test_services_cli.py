"""The services from the shell: `gateway switch service-NAME` and `gateway service-stub`."""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session

from gateway.models import Switch
from gateway.ops.switches import service_switch
from gateway.settings import load_settings
from tests.integration.finance.test_finance_cli import Run, run  # noqa: F401
from tests.integration.services.conftest import SECRET


def test_switching_a_service_by_hand_keeps_who_and_why(run: Run, session: Session) -> None:  # noqa: F811
    unknown, _, said = run("switch", "service-hs", "off", "--reason", "maintenance")
    code, out, _ = run("switch", "service-qt", "off", "--reason", "QT down, ticket 8")

    assert unknown == 2 and "expected one of sms-reset, service-qt, service-the" in said
    assert code == 0 and out == "service-qt: off\n"
    switch = session.get(Switch, service_switch("qt"))
    assert switch is not None and switch.enabled is False
    assert switch.actor is not None and switch.actor.startswith("cli:")
    assert switch.reason == "QT down, ticket 8"


def test_the_stub_prints_a_secret_the_settings_accept(run: Run, environ: dict[str, str]) -> None:  # noqa: F811
    code, out, _ = run("service-stub", "--new-secret")

    secret = out.strip()
    assert code == 0 and secret.startswith("whsec_") and secret != SECRET
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert load_settings(environ | {"SERVICE_QT_SECRET": secret}).services["qt"].secret == secret
