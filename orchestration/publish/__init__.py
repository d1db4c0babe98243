"""Versions of the published database: write, audit, publish, time travel, diff, rollback, gc."""
