{#- Claims with their report's title, publisher and date, from staging: the intermediate claim
    models (periods, figures) read this, and fct_claims publishes it as is. -#}
with

claims as (

    select * from {{ ref('stg_raw__report_claims') }}

),

reports as (

    select * from {{ ref('stg_raw__reports') }}

),

final as (

    select
        claims.claim_id,
        claims.report_id,
        reports.title as report_title,
        reports.publisher,
        reports.published,
        claims.metric,
        claims.claim_value,
        claims.claim_low,
        claims.claim_high,
        claims.qualifier,
        claims.period_start,
        claims.period_end,
        claims.direction_from,
        claims.direction_to,
        claims.char_start,
        claims.char_end,
        claims.sentence,
        claims.is_curated,
        claims.source_file,
        claims.file_sha256,
        coalesce(reports.is_synthetic, {{ synthetic_flag() }}) as is_synthetic

    from claims
    left join reports
        on claims.report_id = reports.report_id

)

select * from final
