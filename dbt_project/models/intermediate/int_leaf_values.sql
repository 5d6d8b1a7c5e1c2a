-- The 30 leaves in one long table: one row per (as_of_date, indicator_id) with value, numerator, denominator and
-- sample size as the family models computed them (no status or level yet).
--
-- Which family model computes a leaf is the catalogue's word, not a second list here: the first source a leaf reads
-- (seeds/indicators.csv, column sources) names its family int_<source>_leaves, whose <id>_numerator, _denominator,
-- _value and _sample_size columns hold it. The mapping is read from the loaded seed when the model runs.

{%- set catalogue = ref('indicators') %}
{%- set leaves_of = {} %}
{%- for source in var('sources') %}{% do leaves_of.update({source: []}) %}{% endfor %}
{%- if execute %}
    {%- set rows = run_query(
        "select indicator_id, split_part(sources, '|', 1) as family from " ~ catalogue
        ~ " order by criterion_id, sort_order"
    ) %}
    {%- for row in rows %}
        {%- if row[1] not in leaves_of %}
            {{ exceptions.raise_compiler_error(
                "indicator " ~ row[0] ~ ": its first source '" ~ row[1] ~ "' is none of var('sources')"
            ) }}
        {%- endif %}
        {%- do leaves_of[row[1]].append(row[0]) %}
    {%- endfor %}
{%- endif %}

with

{% for source in var('sources') %}
{%- set family = source[:-1] %}
{{ family }}_leaves as (

    select * from {{ ref('int_' ~ family ~ '_leaves') }}

),

{% endfor -%}

leaf_values as (

    {% for source, indicator_ids in leaves_of.items() if indicator_ids -%}
    {{ leaf_rows(source[:-1] ~ '_leaves', indicator_ids) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from leaf_values
