{#- The rows behind each claim's computed figure, published for analysts: int_claim_evidence
    materialized in the served file, with the report and the synthetic flag on every row. -#}
with

evidence as (

    select * from {{ ref('int_claim_evidence') }}

),

claims as (

    select * from {{ ref('fct_claims') }}

),

final as (

    select
        evidence.claim_id,
        claims.report_id,
        evidence.metric,
        evidence.evidence_kind,
        evidence.evidence_id,
        evidence.evidence_date,
        evidence.waybill_no,
        evidence.container_no,
        evidence.gross_cargo_tonnes,
        evidence.vessel_name,
        evidence.source_file,
        evidence.source_row,
        evidence.file_sha256,
        -- evidence rows are manifests or voyages, which the project var flags
        {{ synthetic_flag() }} as is_synthetic

    from evidence
    inner join claims
        on evidence.claim_id = claims.claim_id

)

select * from final
