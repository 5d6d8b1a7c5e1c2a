{#- scale * numerator / denominator, NULL when the denominator is empty (the leaf is then `no_events`).
    Rounded to 9 decimals so floating-point noise never crosses a bound or a threshold:
    1457.12 / 1457.12 * 100 is 100, not 100.00000000000001, and 0.5 % stays exactly on t1 = 0.5. -#}
{% macro ratio(numerator, denominator, scale=100) -%}
    case when {{ denominator }} > 0 then round({{ scale }} * cast({{ numerator }} as double) / {{ denominator }}, 9) end
{%- endmacro %}
