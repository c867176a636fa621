-- Raw documents, one row per document id after FINAL (re-delivery and replays are idempotent).
-- Kept in the SQL subset that runs on ClickHouse 18.16 and on current releases.
CREATE TABLE IF NOT EXISTS documents
(
    doc_id        String,
    source        LowCardinality(String),
    source_kind   Enum8('news' = 1, 'social' = 2),
    url           String,
    title         String,
    text          String,
    author        String,
    language      LowCardinality(String),
    tickers       Array(String),
    entity_confidence Array(Float32),
    source_meta   String,
    published_at  DateTime('UTC'),
    ingested_at   DateTime('UTC'),
    stored_at     DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(published_at)
ORDER BY doc_id
