"""Operating a workspace: its status at a glance, and its bundles listed, promoted, rolled back and pruned."""
