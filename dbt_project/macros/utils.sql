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
