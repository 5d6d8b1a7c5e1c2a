{{ config(materialized='view') }}  -- read once by the next model; a table would only add a write of the window

-- The versions of the incidents this run can see (run_scope.sql): incidents started in the window of one of the
-- run's dates, each version with the as-of dates it is its incident's state for. Deadlines (LG4, LG5, IC2) are
-- measured from an incident's own timestamps, so they need no look-back. The scope is macros/incident_records.sql's.

with

{{ incident_versions_in_run(ref('stg_incidents')) }}

select * from versions_in_run
