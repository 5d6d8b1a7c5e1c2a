-- The current state of each transaction (its newest version overall), for analysts. Reads the whole log: nothing in
-- the build depends on it.

select *
from {{ ref('stg_transactions') }}
qualify {{ is_newest_version('txn_id') }}
