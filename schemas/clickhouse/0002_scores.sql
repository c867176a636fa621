-- One model's verdict on one document; a new model version adds rows beside the old ones.
CREATE TABLE IF NOT EXISTS scores
(
    doc_id          String,
    model_name      LowCardinality(String),
    model_version   LowCardinality(String),
    source          LowCardinality(String),
    source_kind     Enum8('news' = 1, 'social' = 2),
    tickers         Array(String),
    url             String,
    title           String,
    published_at    DateTime('UTC'),
    ingested_at     DateTime('UTC'),
    scored_at       DateTime('UTC'),
    sentiment       Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
    p_negative      Float32,
    p_neutral       Float32,
    p_positive      Float32,
    sentiment_score Float32,
    events          Array(String),
    event_types     Array(String),
    event_probs     Array(Float32)
)
ENGINE = ReplacingMergeTree(scored_at)
PARTITION BY toYYYYMM(published_at)
ORDER BY (doc_id, model_name, model_version)
