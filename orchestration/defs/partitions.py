"""Dispatch months: the partitions of the tables whose rows are keyed by month."""

import dagster as dg

# The first month of the bundled sample (July 2023); rows dated earlier are still built and
# published, they just belong to no partition a data engineer can select in the UI.
DISPATCH_MONTHS_START = "2023-07"

# end_offset=1 keeps the current month selectable: `ledger generate --day today` lands in it.
dispatch_months = dg.MonthlyPartitionsDefinition(
    start_date=DISPATCH_MONTHS_START, fmt="%Y-%m", end_offset=1
)
