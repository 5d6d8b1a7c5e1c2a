{{ config(materialized='view') }}  -- read once by the next model; a table would only add a write of the window

-- The versions of the transactions this run can see (run_scope.sql): transactions made in the window of one of
-- the run's dates, each version with the as-of dates it is its transaction's state for. A run over the last night
-- reads about one window of the log, not its history. The scope is macros/transaction_records.sql's.

with

{{ transaction_versions_in_run(ref('stg_transactions')) }}

select * from versions_in_run
