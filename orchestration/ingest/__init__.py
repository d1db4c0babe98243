"""Reading raw manifest and voyage files into the typed raw tables, with quarantine."""
