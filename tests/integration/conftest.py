"""Fixtures for tests that text the gateway through its webhook."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.worker import Worker
from tests.harness import Phones


@pytest.fixture
def phones(
    client: FlaskClient, worker: Worker, carriers: dict[str, FakeTransport], clock: FakeClock
) -> Phones:
    return Phones(client, worker, carriers, clock)
