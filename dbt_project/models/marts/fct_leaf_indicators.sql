{{
    config(
        materialized='incremental',
        unique_key=['as_of_date', 'indicator_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

-- One row per (as-of date, leaf indicator): value with its numerator, denominator or sample size, the status and
-- the likelihood level from the catalogue's thresholds. Incremental: a run replaces the rows of the as-of dates it
-- computed (delete+insert on the key) and leaves every other date as it was.
-- The query is macros/leaf_indicator_rows.sql, shared with the intraday model fct_leaf_indicators_intraday.

{{ leaf_indicator_rows() }}
