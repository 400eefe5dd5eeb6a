"""Why a forward failed; every failure is retried until the horizon, then answered
"interrupted".

ForwardFailed              carries a short code for the forward's last_error and the logs
 ├── code "timeout"            no answer within SERVICE_<NAME>_TIMEOUT
 ├── code "unreachable"        no connection
 ├── code "http_<status>"      any answer but 200 (401: the service refused our signature)
 └── code "bad_answer"         200 with a body that is not the contract's (docs/services.md)
"""

from __future__ import annotations


class ForwardFailed(Exception):
    """A forward that got no usable answer; ``code`` says why, without personal data."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
