-- Per-minute, per-ticker rollup of scores, kept up to date by a materialized view.
-- docs counts distinct documents (uniqExact), so a re-delivered batch does not inflate volume;
-- score sums do count re-deliveries: use `scores FINAL` where exact averages matter.
CREATE TABLE IF NOT EXISTS entity_sentiment_1m
(
    minute      DateTime('UTC'),
    ticker      String,
    model_name  LowCardinality(String),
    docs        AggregateFunction(uniqExact, String),
    score_sum   AggregateFunction(sum, Float64),
    score_count AggregateFunction(count),
    negatives   AggregateFunction(sum, UInt64),
    positives   AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(minute)
ORDER BY (ticker, minute, model_name);

CREATE MATERIALIZED VIEW IF NOT EXISTS entity_sentiment_1m_mv TO entity_sentiment_1m
AS SELECT
    toStartOfMinute(published_at) AS minute,
    ticker,
    model_name,
    uniqExactState(doc_id) AS docs,
    sumState(toFloat64(sentiment_score)) AS score_sum,
    countState() AS score_count,
    sumState(toUInt64(sentiment = 'negative')) AS negatives,
    sumState(toUInt64(sentiment = 'positive')) AS positives
FROM scores
ARRAY JOIN tickers AS ticker
GROUP BY minute, ticker, model_name
