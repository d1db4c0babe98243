{#- Incremental models rebuild only the waybills whose manifest rows changed since the last
    publish (stg_raw__changed_waybills, kept by ingest): this pre-hook deletes their rows, the
    model's incremental branch inserts their current versions. A waybill whose rows are all gone
    is deleted and not inserted again. A full refresh (new code) ignores both. -#}
{% macro delete_changed_waybills() %}
    {% if is_incremental() %}
        delete from {{ this }}
        where waybill_no in (select waybill_no from {{ ref('stg_raw__changed_waybills') }})
    {% endif %}
{% endmacro %}

{#- The filter of the incremental branch: only the changed waybills. `keyword` is `where`
    when it is the query's only condition. -#}
{% macro only_changed_waybills(column='waybill_no', keyword='and') %}
    {% if is_incremental() %}
        {{ keyword }} {{ column }} in (select waybill_no from {{ ref('stg_raw__changed_waybills') }})
    {% endif %}
{% endmacro %}

{#- dbt tests take `where: changed_waybills` to look only at the rows of the waybills an
    incremental build rebuilt (the orchestrator passes --vars '{changed_only: true}' for those
    builds): the rest passed the same tests when it was built, under the same code. Tests on
    rows as loaded take `where: changed_files`: only the rows of the files ingest loaded since
    (source_file is passed through untouched, so DuckDB prunes the raw scan to them). Tests on
    views over shipments take `where: 'changed_dates:<date column>'`: the rows dated within the
    dispatch days of the rebuilt waybills, as a literal range, which DuckDB pushes through the
    view's joins into the shipments scan (a subquery it does not push). A full refresh, or dbt
    run by hand, tests every row. Any other `where` works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set changed = "waybill_no in (select key from raw.changed_keys where source = 'manifests')" -%}
    {%- set scopes = {
        'changed_waybills': changed,
        'changed_files': "source_file in (select source_file from raw.changed_keys where source = 'manifests')",
    } -%}
    {%- set dated = where is string and where.startswith('changed_dates:') -%}
    {%- if where in scopes or dated -%}
        {%- if not (var('changed_only', false) and not flags.FULL_REFRESH) -%}
            {%- set where = none -%}
        {%- elif dated -%}
            {%- set where = changed_date_range(where.split(':', 1)[1], changed) -%}
        {%- else -%}
            {%- set where = scopes[where] -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- `column` within the first and last dispatch day of the rebuilt waybills (`changed`, over
    fct_shipments as built), as literals; no row when no waybill was rebuilt. -#}
{% macro changed_date_range(column, changed) -%}
    {%- if not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set days = run_query(
        'select min(dispatch_date), max(dispatch_date) from main.fct_shipments where ' ~ changed
    ).rows[0] -%}
    {%- if days[0] is none -%}
        {%- do return('false') -%}
    {%- endif -%}
    {%- do return(column ~ " between date '" ~ days[0] ~ "' and date '" ~ days[1] ~ "'") -%}
{%- endmacro %}

{#- Incremental aggregates recompute the dispatch months whose rows changed: those of the
    rebuilt waybills before and after the change (a corrected re-send can move a waybill),
    which the monthly dbt step logs in raw.changed_keys (source 'months') before it rebuilds
    them and the publish clears with the rest of the log. The pre-hook deletes the months'
    rows, the incremental branch inserts them anew; `column` is a date, compared with literal
    month bounds, which DuckDB pushes into the scans below. A full refresh ignores both. -#}
{% macro delete_changed_months(column) %}
    {% if is_incremental() %}
        delete from {{ this }} where {{ changed_months_condition(column) }}
    {% endif %}
{% endmacro %}

{% macro only_changed_months(column, keyword='and') %}
    {% if is_incremental() %}
        {{ keyword }} {{ changed_months_condition(column) }}
    {% endif %}
{% endmacro %}

{% macro changed_months_condition(column) -%}
    {%- if not execute -%}
        {%- do return('true') -%}
    {%- endif -%}
    {%- set months = run_query(
        "select distinct key from " ~ source('raw', 'changed_keys')
        ~ " where source = 'months' order by key"
    ).columns[0].values() -%}
    {%- set bounds = [] -%}
    {%- for month in months -%}
        {%- set year, number = month.split('-') | map('int') | list -%}
        {%- set next = '%04d-%02d' | format(year + number // 12, number % 12 + 1) -%}
        {%- do bounds.append(
            "(" ~ column ~ " >= date '" ~ month ~ "-01' and " ~ column ~ " < date '" ~ next ~ "-01')"
        ) -%}
    {%- endfor -%}
    {%- do return('(' ~ (bounds | join(' or ') or 'false') ~ ')') -%}
{%- endmacro %}
