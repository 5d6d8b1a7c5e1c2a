{#- One long row per (as_of_date, indicator) from a family model that has, per indicator id X, the columns
    x_numerator, x_denominator, x_value, x_sample_size (NULL where they do not apply). -#}
{% macro leaf_rows(relation, indicator_ids) -%}
    {%- for indicator_id in indicator_ids %}
    select
        as_of_date,
        '{{ indicator_id }}' as indicator_id,
        cast({{ indicator_id | lower }}_numerator as double) as numerator,
        cast({{ indicator_id | lower }}_denominator as double) as denominator,
        cast({{ indicator_id | lower }}_value as double) as value,
        cast({{ indicator_id | lower }}_sample_size as bigint) as sample_size
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
