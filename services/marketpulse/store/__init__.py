"""Storage: the Store seam, the ClickHouse-server store, the embedded chDB store, migrations."""
