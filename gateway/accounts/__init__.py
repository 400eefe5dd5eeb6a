"""VssID accounts: look-ups, passwords and their hashing and policy, login and its throttle,
restricted sessions, first passwords, CSV import.

Also the notices that tell an account holder what happened to the account.
May import ``delivery``, ``ops`` and the core; never a channel (``sms``, ``email``) or the CLI.
"""
