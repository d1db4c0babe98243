{#- The correction history: every row of every waybill that was re-sent (versions_count > 1),
    the current version and each one it superseded, so analysts can see what a correction
    changed without the intermediate schema (which is not published). Incremental like
    fct_shipments: a build of the changed waybills replaces their rows only. -#}
{#- Spark (dbt-spark on Parquet, no Delta) cannot delete rows, so the pre-hook's delete of
    the changed waybills has no Spark form: there the model is a full table on every build. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_waybills() }}",
    )
}}
-- depends_on: {{ ref('stg_raw__changed_waybills') }}
with

consignments as (

    select * from {{ ref('int_versioned_consignments') }}
    where versions_count > 1
    {{ only_changed_waybills() }}

),

final as (

    select
        {{ surrogate_key(['waybill_no']) }} as shipment_id,
        waybill_no,
        version_rank,
        versions_count,
        is_current,
        dispatch_date,
        origin_station_code,
        origin_station_raw,
        destination_station_code,
        destination_station_raw,
        shipper,
        consignee,
        cargo_code,
        cargo_description,
        hazard_class,
        wagon_no,
        container_no,
        gross_weight_kg / 1000.0 as gross_cargo_tonnes,
        weight_unit_raw,
        packages,
        source_file,
        source_row,
        file_sha256,
        ingested_at,
        {{ synthetic_flag() }} as is_synthetic

    from consignments

)

select * from final
