-- Each complaint's state as of each as-of date of the run, for the complaints that date can see: opened in its
-- window, or opened up to 30 days before it (their 15- and 30-day deadlines may fall in the window: RP3, LG1).
-- The query is macros/complaint_records.sql's (complaint_states), shared with the drill-down (models/drilldown).

{{ complaint_states(ref('int_complaint_versions_in_run'), as_of_dates()) }}
