{#- Spark only. The raw schema ingest writes lives in the staging DuckDB; orchestration/spark.py
    exports each table to Parquet under `location` and this registers them as the tables of a
    `raw` database, so the sources resolve as on DuckDB. Dropping an external table leaves its
    files; registering again picks up the files of the latest export. -#}
{% macro register_raw_tables(location, tables) %}
    {% do run_query('create database if not exists raw') %}
    {% for table in tables %}
        {% do run_query('drop table if exists raw.' ~ table) %}
        {% do run_query(
            "create table raw." ~ table ~ " using parquet location '" ~ location ~ "/" ~ table ~ "'"
        ) %}
    {% endfor %}
{% endmacro %}

{#- Seeds on Spark. dbt-spark's session method fills a seed's `%s` bindings as '<value>' with no
    escaping: a quote in a value (method_parameters' sources quote headlines) breaks the insert,
    and an empty cell becomes the text 'None'. This renders each value as an escaped literal
    instead; the rest is dbt-spark 1.11's spark__load_csv_rows. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {% set column_override = model['config'].get('column_types', {}) %}
    {% set statements = [] %}
    {% for chunk in agate_table.rows | batch(get_batch_size()) %}
        {% set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    {%- set type = column_override.get(agate_table.column_names[loop.index0], inferred_type) -%}
                    cast({{ shipment_ledger.spark_literal(value) }} as {{ type }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        {% endset %}
        {% do adapter.add_query(sql, abridge_sql_log=True) %}
        {% if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
    {% endfor %}
    {{ return(statements[0]) }}
{% endmacro %}

{#- A seed value as a Spark SQL literal: backslash and quote escaped (Spark's string syntax). -#}
{% macro spark_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
