{#- The drill-down of the leaves (`riskcard explain`, transforms/indicators/explain.py): for any as-of date D, the
    records behind a leaf's numerator, from the raw change logs, by the same rules as the leaves.

    A nightly build computes its dates' leaves and keeps only their sums (the intermediate tables hold the last run's
    dates alone), so the drill-down cannot read the records back from the build. Instead the build defines DuckDB
    table macros in the schema `drilldown` (materialization drilldown_functions, models/drilldown/), rendered from the
    same record macros as the leaf models (macros/<family>_records.sql), with the as-of date and the ingest high water
    as parameters instead of the run's literal dates:

        drilldown.<family>_records(drilldown_as_of, drilldown_high_water)   every record of D with every leaf's share
        drilldown.leaf_<id>(drilldown_as_of, drilldown_high_water)          the records in leaf <id>'s numerator

    drilldown_high_water is the ingest_seq a build read up to (ops.build_runs.ingest_high_water): with it, the
    functions see the raw versions that build of D saw, not files ingested since. Every leaf function returns the
    record's key first and its own timestamp second (newest first orders on them), then the columns worth checking,
    and `contribution` last: the record's share of the numerator (1 for a counted record; an amount or minutes for a
    sum), or its value for a median's or percentile's sample. A comment on each says what its records are. -#}

{#- The DuckDB schema of the drill-down functions: their own, whatever the dbt schema of the models that define them
    (dbt_project.yml keeps those in `intermediate`: they make no relation of their own). -#}
{% macro drilldown_schema() -%}
    drilldown
{%- endmacro %}

{#- The parameters of every drill-down function. -#}
{% macro drilldown_parameters() -%}
    drilldown_as_of, drilldown_high_water
{%- endmacro %}

{#- The as-of date of a drill-down function, as a SQL expression (the first parameter). -#}
{% macro drilldown_as_of() -%}
    drilldown_as_of
{%- endmacro %}

{#- A change log (or the fraud index) as a build that read up to the high water saw it. -#}
{% macro drilldown_log(relation) -%}
    (select * from {{ relation }} where _ingest_seq <= drilldown_high_water)
{%- endmacro %}

{#- The version identity the drill-down keeps with each record: the raw row is raw.<source> where _ingest_seq and
    _row_number are these (raw.ingested_files names the file of an _ingest_seq). -#}
{% macro drilldown_version_columns() -%}
    {{ return(['updated_at', '_ingest_seq', '_row_number']) }}
{%- endmacro %}

{#- A function of D returning `query` (which reads the parameters). -#}
{% macro drilldown_function(name, query) -%}
create or replace macro {{ drilldown_schema() }}.{{ name }}({{ drilldown_parameters() }}) as table
{{ query }};
{%- endmacro %}

{#- The drill-down of one leaf: the rows of `records` (a drill-down function of this model) whose `counts` column is
    not NULL (default: the contribution itself), newest first on `key`, `at`; `columns` then `contribution`.
    `describes`: what one record is and what its contribution is (the function's comment, shown by explain). -#}
{% macro leaf_drilldown(indicator_id, records, key, at, columns, contribution, describes, counts=none) -%}
{%- set name = drilldown_schema() ~ '.leaf_' ~ (indicator_id | lower) %}
create or replace macro {{ name }}({{ drilldown_parameters() }}) as table
select
    {{ key }},
    {{ at }},
    {%- for column in columns %}
    {{ column }},
    {%- endfor %}
    {{ contribution }} as contribution
from {{ drilldown_schema() }}.{{ records }}({{ drilldown_parameters() }})
where {{ counts or contribution }} is not null;
comment on macro table {{ name }} is '{{ describes | replace("'", "''") }}';
{%- endmacro %}
