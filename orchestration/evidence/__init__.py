"""Evidence for analysts: charts and an HTML summary of each published version."""
