-- The daily sums lose no consignment, container load or tonne of fct_shipments, explosive or
-- not: an incremental build that missed a month would show here.
with

shipments as (

    select
        is_explosive,
        count(*) as shipments,
        count(container_no) as container_loads,
        sum(gross_cargo_tonnes) as tonnes
    from {{ ref('fct_shipments') }}
    group by is_explosive

),

flows as (

    select
        is_explosive,
        sum(shipments) as shipments,
        sum(container_loads) as container_loads,
        cast(sum(tonnes) as double) as tonnes
    from {{ ref('int_summed_daily_flows') }}
    group by is_explosive

),

final as (

    select
        coalesce(shipments.is_explosive, flows.is_explosive) as is_explosive,
        shipments.shipments,
        flows.shipments as flow_shipments,
        shipments.container_loads,
        flows.container_loads as flow_container_loads,
        shipments.tonnes,
        flows.tonnes as flow_tonnes
    from shipments
    full outer join flows
        on shipments.is_explosive = flows.is_explosive
    where
        shipments.shipments is distinct from flows.shipments
        or shipments.container_loads is distinct from flows.container_loads
        or abs(shipments.tonnes - flows.tonnes) > 1e-6 * (1 + shipments.tonnes)
        or shipments.tonnes is null
        or flows.tonnes is null

)

select * from final
