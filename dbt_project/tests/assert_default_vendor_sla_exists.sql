-- OS1 falls back to the vendor '*' row for any vendor not listed: it must exist (one row returned = failure).
select 'seeds/vendor_slas.csv has no default row with vendor *' as problem
where not exists (select 1 from {{ ref('vendor_slas') }} where vendor = '*')
