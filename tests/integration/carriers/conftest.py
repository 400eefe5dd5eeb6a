"""The app of every test here has the carrier of one kind, configured from that kind's row.

test_contract.py runs each row in turn; a quirks file names its kind: ``KIND = "kannel"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.carriers.fake import FakeTransport
from tests.integration.carriers.contracts import (
    ROWS,
    Contract,
    contract_carriers,
    contract_environ,
)


@pytest.fixture
def contract(request: pytest.FixtureRequest) -> Contract:
    return ROWS[request.module.KIND]


@pytest.fixture
def environ(tmp_path: Path, contract: Contract) -> dict[str, str]:
    return contract_environ(tmp_path, contract)


@pytest.fixture
def carriers(contract: Contract) -> dict[str, FakeTransport]:
    return contract_carriers(contract)
