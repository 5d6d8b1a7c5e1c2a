{{ config(materialized='view') }}  -- read once by the next model; a table would only add a write of the window

-- The versions of the backups this run can see (run_scope.sql): backups scheduled in the window of one of the
-- run's dates, or finished from backup_look_back_days() before it (BC3 looks for the newest success at each day's
-- end, whenever that backup was scheduled: its 24 h and a day to spare), each version with the as-of dates it is its
-- backup's state for. The scope is macros/backup_records.sql's.

with

{{ backup_versions_in_run(ref('stg_backups')) }}

select * from versions_in_run
