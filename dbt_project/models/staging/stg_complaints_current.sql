-- The current state of each complaint (its newest version overall), for analysts. Reads the whole log: nothing in
-- the build depends on it.

select *
from {{ ref('stg_complaints') }}
qualify {{ is_newest_version('complaint_id') }}
