-- The monthly aggregate loses no explosive tonne or consignment of fct_shipments.
with

shipments as (

    select
        count(*) as shipments,
        coalesce(sum(gross_cargo_tonnes), 0) as tonnes
    from {{ ref('fct_shipments') }}
    where is_explosive

),

flows as (

    select
        coalesce(sum(shipments), 0) as shipments,
        coalesce(sum(explosive_tonnes), 0) as tonnes
    from {{ ref('agg_monthly_flows') }}

),

final as (

    select
        shipments.shipments,
        flows.shipments as flow_shipments,
        shipments.tonnes,
        flows.tonnes as flow_tonnes
    from shipments
    cross join flows
    where
        shipments.shipments <> flows.shipments
        or abs(shipments.tonnes - flows.tonnes) > 1e-6 * (1 + shipments.tonnes)

)

select * from final
