{#- The current consignments summed per dispatch day, station pair and explosive flag: the claim
    periods, the claim figures and dim_stations read these ~15 k rows instead of scanning every
    consignment each (at 10 M rows that was a scan per model and per test of a claim-period
    view). Tonnes stay exact decimals (macro exact): a sum of these sums equals the one-step
    sum to the last bit. Incremental by month (macro only_changed_months): a day of manifests
    sums the days of its month again, not every consignment. Spark: a table. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_months('dispatch_date') }}",
    )
}}
-- depends_on: {{ source('raw', 'changed_keys') }}
with

consignments as (

    select * from {{ ref('int_classified_consignments') }}
    {{ only_changed_months('dispatch_date', keyword='where') }}

),

summed as (

    select
        dispatch_date,
        origin_station_code,
        destination_station_code,
        is_explosive,
        count(*) as shipments,
        count(container_no) as container_loads,
        sum({{ exact('gross_cargo_tonnes') }}) as tonnes
    from consignments
    group by dispatch_date, origin_station_code, destination_station_code, is_explosive

),

final as (

    select * from summed

)

select * from final
