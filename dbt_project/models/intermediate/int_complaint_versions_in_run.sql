{{ config(materialized='view') }}  -- read once by the next model; a table would only add a write of the window

-- The versions of the complaints this run can see (run_scope.sql): complaints opened in the window of one of the
-- run's dates or up to the longer deadline and a day before it (their 15- and 30-day deadlines may fall in the
-- window: RP3, LG1), each version with the as-of dates it is its complaint's state for. The scope is
-- macros/complaint_records.sql's.

with

{{ complaint_versions_in_run(ref('stg_complaints')) }}

select * from versions_in_run
