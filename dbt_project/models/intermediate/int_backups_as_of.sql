-- Each backup's state as of each as-of date of the run, for the backups that date can see: scheduled in its
-- window (DC1, DC2, and which systems count for BC3), or successful and finished from a day before the window
-- to its end (BC3 asks for the newest success at each day's end, whenever that backup was scheduled).
-- The query is macros/backup_records.sql's (backup_states), shared with the drill-down (models/drilldown).

{{ backup_states(ref('int_backup_versions_in_run'), as_of_dates()) }}
