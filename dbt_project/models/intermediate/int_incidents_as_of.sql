-- Each incident's state as of each as-of date of the run, for the incidents that started in that date's window.
-- Durations of incidents still open at the end of D run to the end of D (outage_end_at).
-- The query is macros/incident_records.sql's (incident_states), shared with the drill-down (models/drilldown).

{{ incident_states(ref('int_incident_versions_in_run'), as_of_dates()) }}
