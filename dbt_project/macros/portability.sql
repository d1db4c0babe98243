{#- Every engine-specific expression lives here, so moving the models to Trino or Spark means
    adding a dispatch implementation, not editing models. Built on dbt's cross-database macros
    where they exist. -#}

{% macro month_start(expr) -%}
    cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}

{#- Last day of the month. dbt-spark's dateadd and datediff wrap their argument in assert_true
    (an error on null, which min() over no rows gives) and round-trip through unix time, so Spark
    uses its own date functions. -#}
{% macro month_end(expr) -%}
    {{ return(adapter.dispatch('month_end', 'shipment_ledger')(expr)) }}
{%- endmacro %}

{% macro default__month_end(expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, shipment_ledger.month_start(expr))) }} as date)
{%- endmacro %}

{% macro spark__month_end(expr) -%}
    last_day({{ expr }})
{%- endmacro %}

{#- Inclusive count of calendar days from start to end (a one-day period has 1). -#}
{% macro days_inclusive(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('days_inclusive', 'shipment_ledger')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__days_inclusive(start_expr, end_expr) -%}
    ({{ dbt.datediff(start_expr, end_expr, 'day') }} + 1)
{%- endmacro %}

{% macro spark__days_inclusive(start_expr, end_expr) -%}
    (datediff({{ end_expr }}, {{ start_expr }}) + 1)
{%- endmacro %}

{#- Stable text key from several columns; nulls hash as empty strings. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- Whole number with thousands separators, for human-readable explanations. -#}
{% macro format_number(expr) -%}
    {{ return(adapter.dispatch('format_number', 'shipment_ledger')(expr)) }}
{%- endmacro %}

{% macro default__format_number(expr) -%}
    format('{:,}', cast(round({{ expr }}, 0) as bigint))
{%- endmacro %}

{% macro trino__format_number(expr) -%}
    format('%,d', cast(round({{ expr }}, 0) as bigint))
{%- endmacro %}

{% macro spark__format_number(expr) -%}
    format_number(round({{ expr }}, 0), 0)
{%- endmacro %}

{#- Percentage with no decimals, e.g. '55%'. -#}
{% macro format_percent(expr) -%}
    {{ dbt.concat(["cast(cast(round(100 * " ~ expr ~ ", 0) as bigint) as " ~ dbt.type_string() ~ ")", "'%'"]) }}
{%- endmacro %}
