-- Alerts: every state change is a new row; FINAL keeps the latest per alert id.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id     String,
    rule         LowCardinality(String),
    entity       String,
    entity_kind  Enum8('ticker' = 1, 'sector' = 2),
    state        Enum8('open' = 1, 'resolved' = 2),
    severity     Enum8('info' = 1, 'warning' = 2, 'critical' = 3),
    direction    Enum8('none' = 0, 'negative' = 1, 'positive' = 2),
    opened_at    DateTime('UTC'),
    updated_at   DateTime('UTC'),
    event_time   DateTime('UTC'),
    summary      String,
    value_names  Array(String),
    value_values Array(Float64),
    documents    String
)
ENGINE = ReplacingMergeTree(updated_at)
PARTITION BY toYYYYMM(opened_at)
ORDER BY alert_id
