-- Per-user behavioural aggregates from a GA4 BigQuery export (seed 000's query, made
-- point-in-time). Written in BigQuery Standard SQL; leadbridge runs the same text on
-- DuckDB over exported NDJSON/Parquet files (see scoring/predictive/ga4.py).
-- Placeholders: {events_table}, {start_suffix}, {end_suffix} (YYYYMMDD), {cut_micros}.
WITH events AS (
  SELECT
    user_pseudo_id,
    user_id,
    event_name,
    event_timestamp,
    SAFE_CAST((
      SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING),
                      CAST(p.value.double_value AS STRING))
      FROM UNNEST(event_params) AS p
      WHERE p.key = 'loan_amount'
    ) AS FLOAT64) AS loan_amount
  FROM {events_table}
  WHERE _TABLE_SUFFIX BETWEEN '{start_suffix}' AND '{end_suffix}'
    AND event_timestamp < {cut_micros}
)
SELECT
  user_pseudo_id,
  MAX(user_id) AS user_id,
  COUNTIF(event_name = 'view_mortgage_simulator') AS simulator_interactions,
  AVG(loan_amount) AS avg_loan_amount,
  MAX(event_timestamp) - MIN(event_timestamp) AS session_duration_micros,
  COUNTIF(event_name = 'download_pdf_guide') AS high_intent_actions
FROM events
GROUP BY user_pseudo_id
ORDER BY user_pseudo_id
