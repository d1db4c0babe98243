{#- A project var holding a list of codes, rendered as a SQL literal list: ('A', 'B'). -#}
{% macro literal_list(values) -%}
    ({%- for value in values -%}'{{ value | replace("'", "''") }}'{%- if not loop.last %}, {% endif -%}{%- endfor -%})
{%- endmacro %}

{#- The project var `is_synthetic` as a SQL boolean literal; accepts true/false or their text
    (`--vars '{is_synthetic: false}'`). Manifests and voyages carry no flag of their own. -#}
{% macro synthetic_flag() -%}
    {%- set value = var('is_synthetic') -%}
    {%- if value is string -%}{%- set value = value | lower in ('true', '1', 'yes') -%}{%- endif -%}
    {{ 'true' if value else 'false' }}
{%- endmacro %}

{#- A sum of doubles that does not depend on row order: DuckDB adds a group's doubles in
    whatever order its threads meet them, so the same rows summed by a full and by an
    incremental build (or by two runs) differ in the last bits. Summed as decimals (12 places:
    far below any figure shown) the total is exact, then returned as a double. `exact` alone is
    for sums taken in two steps (per day, then per claim), cast back only at the end. -#}
{% macro exact(expression) -%}
    cast({{ expression }} as decimal(38, 12))
{%- endmacro %}

{% macro exact_sum(expression) -%}
    cast(sum({{ exact(expression) }}) as double)
{%- endmacro %}
