"""The staff console: finance and operations pages in the browser, behind password + TOTP.

May import ``billing``, ``finance``, ``accounts`` (the password rules), ``ops`` and the core.
"""
