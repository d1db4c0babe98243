with

port_calls as (

    select * from {{ ref('stg_raw__voyages') }}

),

voyages as (

    select * from {{ ref('int_paired_voyages') }}

),

calls as (

    select
        vessel_name,
        max(imo) as imo,
        count(*) as port_calls,
        min(arrival_date) as first_arrival,
        max(arrival_date) as last_arrival
    from port_calls
    group by vessel_name

),

voyage_counts as (

    select
        vessel_name,
        count(*) as voyages
    from voyages
    group by vessel_name

),

final as (

    select
        calls.vessel_name,
        calls.imo,
        coalesce(voyage_counts.voyages, 0) as voyages,
        calls.port_calls,
        calls.first_arrival,
        calls.last_arrival,
        {{ synthetic_flag() }} as is_synthetic

    from calls
    left join voyage_counts
        on calls.vessel_name = voyage_counts.vessel_name

)

select * from final
