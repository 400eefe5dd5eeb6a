"""The citizens' portal: "forgot password", sign-in and account pages, in Vietnamese.

A second front door of the accounts and the email channel: it calls their use cases, never
copies them. May import ``email``, ``accounts``, ``delivery``, ``ops`` and the core.
"""
