{#- A voyage is a laden call at an origin port (Rajin) followed, for the same vessel, by a laden
    call at a destination port (Dunai, Vostochny); ports come from project vars. -#}
with

port_calls as (

    select * from {{ ref('stg_raw__voyages') }}

),

ports as (

    select * from {{ ref('ports') }}

),

sequenced as (

    select
        port_call_id,
        vessel_name,
        imo,
        port_code,
        arrival_date,
        departure_date,
        is_laden,
        source_file,
        source_row,
        file_sha256,
        lead(port_call_id) over vessel_calls as next_port_call_id,
        lead(port_code) over vessel_calls as next_port_code,
        lead(arrival_date) over vessel_calls as next_arrival_date,
        lead(is_laden) over vessel_calls as next_is_laden

    from port_calls
    window vessel_calls as (
        partition by vessel_name
        -- nulls placed explicitly: DuckDB puts them last by default, Spark first
        order by arrival_date, departure_date nulls last, source_file, source_row
    )

),

paired as (

    select * from sequenced
    where
        port_code in {{ literal_list(var('voyage_origin_ports')) }}
        and is_laden
        and next_port_code in {{ literal_list(var('voyage_destination_ports')) }}
        and next_is_laden

),

final as (

    select
        {{ surrogate_key(['paired.port_call_id', 'paired.next_port_call_id']) }} as voyage_id,
        paired.vessel_name,
        paired.imo,
        paired.port_code as origin_port_code,
        origin_port.country_code as origin_country_code,
        coalesce(paired.departure_date, paired.arrival_date) as departure_date,
        paired.next_port_code as destination_port_code,
        destination_port.country_code as destination_country_code,
        paired.next_arrival_date as arrival_date,
        {{ month_start('paired.next_arrival_date') }} as arrival_month,
        paired.port_call_id as origin_port_call_id,
        paired.next_port_call_id as destination_port_call_id,
        paired.source_file,
        paired.source_row,
        paired.file_sha256

    from paired
    left join ports as origin_port
        on paired.port_code = origin_port.port_code
    left join ports as destination_port
        on paired.next_port_code = destination_port.port_code

)

select * from final
