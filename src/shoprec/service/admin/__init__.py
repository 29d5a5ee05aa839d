"""The admin dashboard at /admin: the shop's operating view (data, quarantine, bundles, experiments, service)."""
