{{ config(materialized='view') }}  -- read once by the next model; a table would only add a write of the window

-- The versions of the backups this run can see (run_scope.sql): backups scheduled in the window of one of the
-- run's dates, or finished from two days before it (BC3 looks for the newest success at each day's end, whenever
-- that backup was scheduled), each version with the as-of dates it is its backup's state for.

with

{{ versions_in_run(ref('stg_backups'), 'backup_id', {'scheduled_at': 2, 'finished_at': 2}) }}

select * from versions_in_run
