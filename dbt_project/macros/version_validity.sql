{#- Point-in-time state for a change log. The state of an entity as of D is its newest record with updated_at
    before the end of D (00:00 local of D+1); ties go to the later-ingested file (_ingest_seq), then the later row
    (_row_number). So each version is the state for the contiguous as-of dates [valid_from_date, valid_to_date]:
    from the local day of its own updated_at to the day before the local day of the next version (NULL: no later
    version is known). A version superseded on its own local day gets valid_to_date < valid_from_date: it was never
    an end-of-day state. -#}
{% macro version_order() -%}
    updated_at, _ingest_seq, _row_number
{%- endmacro %}

{#- (The next version's instant goes through the window and is turned into a local day after it: most versions
    have no next one, and a time-zone conversion per row inside the window's sort is what a backfill pays most.) -#}
{% macro version_validity(key) -%}
    {{ local_date('updated_at') }} as valid_from_date,
    {{ local_date('lead(updated_at) over (partition by ' ~ key ~ ' order by ' ~ version_order() ~ ')') }} - 1
        as valid_to_date
{%- endmacro %}

{#- The versions that are the state of their entity as of the date expression `day`. -#}
{% macro is_state_as_of(day, versions='versions') -%}
    ({{ versions }}.valid_from_date <= {{ day }}
     and coalesce({{ versions }}.valid_to_date, date '9999-12-31') >= {{ day }})
{%- endmacro %}

{#- The newest version of each entity (analysts' current state): a filter for a select over the whole log. -#}
{% macro is_newest_version(key) -%}
    row_number() over (partition by {{ key }} order by updated_at desc, _ingest_seq desc, _row_number desc) = 1
{%- endmacro %}
