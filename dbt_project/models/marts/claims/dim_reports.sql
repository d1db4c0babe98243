with

reports as (

    select * from {{ ref('stg_raw__reports') }}

),

claims as (

    select * from {{ ref('stg_raw__report_claims') }}

),

claim_counts as (

    select
        report_id,
        count(*) as claims
    from claims
    group by report_id

),

final as (

    select
        reports.report_id,
        reports.title,
        reports.publisher,
        reports.published,
        reports.url,
        reports.language,
        coalesce(claim_counts.claims, 0) as claims,
        reports.source_file,
        reports.file_sha256,
        reports.is_synthetic

    from reports
    left join claim_counts
        on reports.report_id = claim_counts.report_id

)

select * from final
