-- One row per GA4 event with the parameters leadbridge maps to canonical activities.
-- BigQuery Standard SQL; the same text runs on DuckDB (see scoring/predictive/ga4.py).
-- Placeholders: {events_table}, {start_suffix}, {end_suffix} (YYYYMMDD), {cut_micros}.
SELECT
  user_pseudo_id,
  user_id,
  event_name,
  event_timestamp,
  (
    SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'page_location'
  ) AS page_location,
  SAFE_CAST((
    SELECT COALESCE(CAST(p.value.int_value AS STRING), p.value.string_value,
                    CAST(p.value.double_value AS STRING))
    FROM UNNEST(event_params) AS p
    WHERE p.key = 'engagement_time_msec'
  ) AS FLOAT64) AS engagement_time_msec,
  SAFE_CAST((
    SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING),
                    CAST(p.value.double_value AS STRING))
    FROM UNNEST(event_params) AS p
    WHERE p.key = 'loan_amount'
  ) AS FLOAT64) AS loan_amount,
  SAFE_CAST((
    SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING),
                    CAST(p.value.double_value AS STRING))
    FROM UNNEST(event_params) AS p
    WHERE p.key = 'property_value'
  ) AS FLOAT64) AS property_value
FROM {events_table}
WHERE _TABLE_SUFFIX BETWEEN '{start_suffix}' AND '{end_suffix}'
  AND event_timestamp < {cut_micros}
ORDER BY event_timestamp, user_pseudo_id
