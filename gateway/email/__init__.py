"""The free email channel: recovery proved by an emailed OTP, adding or changing the email.

OTPs, captchas, the recovery and email-change use cases and their JSON APIs.
May import ``accounts``, ``delivery``, ``ops`` and the core; never ``sms`` or the CLI.
"""
