{#- The current consignments summed per dispatch day, station pair and explosive flag: the claim
    periods, the claim figures and dim_stations read these ~15 k rows instead of scanning every
    consignment each (at 10 M rows that was a scan per model and per test of a claim-period
    view). Tonnes stay exact decimals (macro exact): a sum of these sums equals the one-step
    sum to the last bit. A table rebuilt on every build: one scan, far cheaper than the scans
    it replaces. -#}
{{ config(materialized='table') }}

with

consignments as (

    select * from {{ ref('int_classified_consignments') }}

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
