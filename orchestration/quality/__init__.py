"""Great Expectations validation and the audit trail that gates publish."""
