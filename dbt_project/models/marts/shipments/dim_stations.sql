with

stations as (

    select * from {{ ref('stations') }}

),

daily_flows as (

    select * from {{ ref('int_summed_daily_flows') }}

),

dispatched as (

    select
        origin_station_code as station_code,
        cast(sum(shipments) as bigint) as shipments_dispatched,
        {{ exact_sum('case when is_explosive then tonnes else 0 end') }}
            as explosive_tonnes_dispatched
    from daily_flows
    group by origin_station_code

),

received as (

    select
        destination_station_code as station_code,
        cast(sum(shipments) as bigint) as shipments_received,
        {{ exact_sum('case when is_explosive then tonnes else 0 end') }}
            as explosive_tonnes_received
    from daily_flows
    group by destination_station_code

),

final as (

    select
        stations.station_code,
        stations.station_name,
        stations.station_name_ru,
        stations.aliases,
        stations.region,
        stations.role,
        stations.port_code,
        stations.latitude,
        stations.longitude,
        coalesce(dispatched.shipments_dispatched, 0) as shipments_dispatched,
        coalesce(received.shipments_received, 0) as shipments_received,
        coalesce(dispatched.explosive_tonnes_dispatched, 0) as explosive_tonnes_dispatched,
        coalesce(received.explosive_tonnes_received, 0) as explosive_tonnes_received,
        stations.is_synthetic_code as is_synthetic

    from stations
    left join dispatched
        on stations.station_code = dispatched.station_code
    left join received
        on stations.station_code = received.station_code

)

select * from final
