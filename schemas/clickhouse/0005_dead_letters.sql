-- Records set aside with the reason; the id hashes topic, partition, offset and payload, so a
-- re-delivered dead letter collapses into one row after FINAL.
CREATE TABLE IF NOT EXISTS dead_letters
(
    id              String,
    stage           LowCardinality(String),
    reason          LowCardinality(String),
    detail          String,
    payload         String,
    payload_bytes   UInt64,
    kafka_topic     String,
    kafka_partition Int32,
    kafka_offset    Int64,
    received_at     DateTime('UTC')
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY id
