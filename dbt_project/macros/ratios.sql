{#- scale * numerator / denominator, NULL when the denominator is empty (the leaf is then `no_events`). -#}
{% macro ratio(numerator, denominator, scale=100) -%}
    case when {{ denominator }} > 0 then {{ scale }} * cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}
