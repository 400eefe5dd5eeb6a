"""A software passkey authenticator for the test-suite.

``SoftAuthenticator`` plays both a platform authenticator and the browser's client part of a
WebAuthn ceremony: given the options JSON the gateway hands to ``navigator.credentials``, it
returns exactly what ``PublicKeyCredential.toJSON()`` would (WebAuthn Level 3
``RegistrationResponseJSON`` / ``AuthenticationResponseJSON``, base64url without padding).

It hand-builds authenticator data, COSE keys and the attestation object with cbor2 only because
it plays the device side, which the gateway never writes; the gateway itself uses py_webauthn for
every ceremony. Keyword knobs let tests play attackers and odd devices: a wrong origin or RP ID,
a replayed challenge, no user verification, a synced (backed-up) passkey, a cloned authenticator
whose counter goes backwards.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
import uuid
from dataclasses import dataclass
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

AAGUID = "5e1f7a2b-0c3d-4e5f-8a9b-5057a55e7c0d"
"""The fixed, non-zero AAGUID this authenticator reports at registration."""

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebAuthn's JSON forms use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    """One passkey held by the authenticator."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0
    synced: bool = False

    @property
    def cose_public_key(self) -> bytes:
        """The public key as a CBOR-encoded COSE_Key (EC2, ES256, P-256)."""
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


class SoftAuthenticator:
    """A platform authenticator plus browser, producing ``toJSON()`` shaped credentials."""

    def __init__(self, origin: str, rp_id: str | None = None) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.credentials: list[SoftCredential] = []

    # -- navigator.credentials.create ---------------------------------------------------------

    def create(
        self,
        options: dict[str, Any],
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        synced: bool = False,
        challenge: str | None = None,
    ) -> dict[str, Any]:
        """Make a new passkey for ``options`` and return its ``RegistrationResponseJSON``.

        ``origin``, ``rp_id`` and ``challenge`` override only what is written into clientDataJSON
        and hashed into authenticator data; the credential is still stored under the options' RP.
        Raises ``ValueError("excluded")`` when one of ours is in ``excludeCredentials``.
        """
        home_rp = self._rp_id(options.get("rp", {}).get("id"))
        excluded = {b64url_decode(c["id"]) for c in options.get("excludeCredentials") or []}
        if any(c.credential_id in excluded for c in self.credentials if c.rp_id == home_rp):
            raise ValueError("excluded")

        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=home_rp,
            user_handle=b64url_decode(options["user"]["id"]),
            synced=synced,
        )
        self.credentials.append(credential)

        client_data = self._client_data(
            "webauthn.create", challenge or options["challenge"], origin
        )
        cose_key = credential.cose_public_key
        attested = (
            uuid.UUID(AAGUID).bytes
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cose_key
        )
        auth_data = self._auth_data(
            rp_id or home_rp, credential, user_verified, FLAG_AT, credential.sign_count
        )
        auth_data += attested
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        spki = credential.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _public_key_credential(
            credential,
            {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "transports": ["internal"],
                "publicKey": b64url(spki),
                "publicKeyAlgorithm": -7,
                "attestationObject": b64url(attestation_object),
            },
        )

    # -- navigator.credentials.get ------------------------------------------------------------

    def get(
        self,
        options: dict[str, Any],
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        credential_id: bytes | str | None = None,
        sign_count: int | None = None,
        challenge: str | None = None,
        user_handle: bytes | EllipsisType | None = ...,
    ) -> dict[str, Any]:
        """Sign an assertion for ``options`` and return its ``AuthenticationResponseJSON``.

        The credential is ``credential_id`` (bytes or base64url) if given, even outside
        ``allowCredentials``; else one listed in a non-empty ``allowCredentials``; else the most
        recently created for the RP (discoverable). Raises ``LookupError`` when none fits.
        ``sign_count`` forces the counter written (and kept); otherwise a device-bound passkey
        counts up by one and a synced one stays at 0. ``user_handle`` defaults to the
        credential's; ``None`` omits it, bytes replace it.
        """
        home_rp = self._rp_id(options.get("rpId"))
        credential = self._pick(home_rp, options.get("allowCredentials") or [], credential_id)
        if sign_count is not None:
            credential.sign_count = sign_count
        elif not credential.synced:
            credential.sign_count += 1

        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = self._auth_data(
            rp_id or home_rp, credential, user_verified, 0, credential.sign_count
        )
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        handle = credential.user_handle if isinstance(user_handle, EllipsisType) else user_handle
        if handle is not None:
            response["userHandle"] = b64url(handle)
        return _public_key_credential(credential, response)

    # -- internals ----------------------------------------------------------------------------

    def _rp_id(self, from_options: str | None) -> str:
        if self.rp_id is not None:
            return self.rp_id
        if from_options:
            return from_options
        return urlsplit(self.origin).hostname or ""

    def _pick(
        self, rp_id: str, allow: list[dict[str, Any]], credential_id: bytes | str | None
    ) -> SoftCredential:
        if credential_id is not None:
            wanted = (
                b64url_decode(credential_id) if isinstance(credential_id, str) else credential_id
            )
            for credential in self.credentials:
                if credential.credential_id == wanted:
                    return credential
            raise LookupError("no such credential")
        mine = [c for c in self.credentials if c.rp_id == rp_id]
        if allow:
            allowed = {b64url_decode(a["id"]) for a in allow}
            mine = [c for c in mine if c.credential_id in allowed]
        if not mine:
            raise LookupError(f"no credential for {rp_id}")
        return mine[-1]

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        payload = {
            "type": kind,
            "challenge": challenge,
            "origin": origin or self.origin,
            "crossOrigin": False,
        }
        return json.dumps(payload, separators=(",", ":")).encode()

    @staticmethod
    def _auth_data(
        rp_id: str, credential: SoftCredential, user_verified: bool, extra: int, count: int
    ) -> bytes:
        flags = FLAG_UP | extra
        if user_verified:
            flags |= FLAG_UV
        if credential.synced:
            flags |= FLAG_BE | FLAG_BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count)


def _public_key_credential(credential: SoftCredential, response: dict[str, Any]) -> dict[str, Any]:
    """The JSON of a PublicKeyCredential (WebAuthn Level 3) around one ceremony's response."""
    return {
        "id": b64url(credential.credential_id),
        "rawId": b64url(credential.credential_id),
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    }
