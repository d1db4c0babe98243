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
    (source_file is passed through untouched, so DuckDB prunes the raw scan to them; a waybill
    filter goes through trim(waybill_no) and reads every row). A full refresh, or dbt run by
    hand, tests every row. Any other `where` works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set scopes = {
        'changed_waybills': "waybill_no in (select key from raw.changed_keys where source = 'manifests')",
        'changed_files': "source_file in (select source_file from raw.changed_keys where source = 'manifests')",
    } -%}
    {%- if where in scopes -%}
        {%- if var('changed_only', false) and not flags.FULL_REFRESH -%}
            {%- set where = scopes[where] -%}
        {%- else -%}
            {%- set where = none -%}
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
