-- The current state of each incident (its newest version overall), for analysts. Reads the whole log: nothing in
-- the build depends on it.

select *
from {{ ref('stg_incidents') }}
qualify {{ is_newest_version('incident_id') }}
