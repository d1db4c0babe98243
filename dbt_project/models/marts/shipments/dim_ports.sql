with

ports as (

    select * from {{ ref('ports') }}

),

port_calls as (

    select * from {{ ref('stg_raw__voyages') }}

),

voyages as (

    select * from {{ ref('int_paired_voyages') }}

),

calls as (

    select
        port_code,
        count(*) as port_calls
    from port_calls
    group by port_code

),

departures as (

    select
        origin_port_code as port_code,
        count(*) as voyages_departed
    from voyages
    group by origin_port_code

),

arrivals as (

    select
        destination_port_code as port_code,
        count(*) as voyages_arrived
    from voyages
    group by destination_port_code

),

final as (

    select
        ports.port_code,
        ports.port_name,
        ports.port_name_ru,
        ports.aliases,
        ports.country_code,
        ports.station_code,
        ports.latitude,
        ports.longitude,
        ports.notes,
        coalesce(calls.port_calls, 0) as port_calls,
        coalesce(departures.voyages_departed, 0) as voyages_departed,
        coalesce(arrivals.voyages_arrived, 0) as voyages_arrived,
        -- the port rows are real places, but port_calls and the voyage counts come from the
        -- voyages input, which the project var flags (true for the generated sample)
        {{ synthetic_flag() }} as is_synthetic

    from ports
    left join calls
        on ports.port_code = calls.port_code
    left join departures
        on ports.port_code = departures.port_code
    left join arrivals
        on ports.port_code = arrivals.port_code

)

select * from final
