"""The console's roles: what each staff member may see (light, so ``gateway staff --help`` is)."""

# finance: charges, exports, refunds, reconciliation; operator: overview, messages, switches;
# admin: staff.
ROLES = ("finance", "operator", "admin")
