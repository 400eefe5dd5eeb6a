"""Passkeys (WebAuthn): sign in without a password, and recover an account for free.

``ceremonies`` wraps py_webauthn and keeps each challenge single use; ``credentials`` registers,
lists, renames and removes an account's passkeys; ``signin`` turns an assertion into a full
session (sign-in) or a restricted one (recovery); ``api`` is the VssID app's JSON door.
May import ``accounts``, ``delivery``, ``ops`` and the core; never another channel or the CLI.
"""
