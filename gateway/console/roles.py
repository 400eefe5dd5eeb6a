"""The console's roles: what each staff member may see (light, so ``gateway staff --help`` is)."""

# finance: charges, exports, refunds, reconciliation; operator: overview, messages (and
# requeueing a failed reply), switches, the audit trail; support: a message's timeline, account
# lookup, the audit trail (read only); admin: staff and the audit trail.
ROLES = ("finance", "operator", "support", "admin")

# What the pages call each role; the code stays in the CLI and the audit trail.
ROLE_NAMES = {
    "finance": "tài chính",
    "operator": "vận hành",
    "support": "hỗ trợ",
    "admin": "quản trị",
}
