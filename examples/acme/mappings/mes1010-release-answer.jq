# The MES's answer → what the ERP gets back: the fields of
# mfg.command.accepted.v1 (2xx) or mfg.command.rejected.v1 (a refusal) that
# the answer gives. The MES answers {"document": <its order number>} when
# it takes a release, {"code": "...", "error": "..."} when it refuses one.
# Input: {status, body, request}; request is the release as sent.
(if (.body | type) == "object" then .body else {} end) as $b
| .request as $cmd
| {
    commandId: $cmd.id,
    commandType: $cmd.type,
    siteId: $cmd.siteid,
    handledBy: "urn:takt:site:1010:mes:mes01"
  }
  + if .status < 300 then
      (if $b.document then {reference: ($b.document | tostring)} else {} end)
    else
      {
        retryable: false,
        reasons: [{code: ($b.code // "HTTP_\(.status)"), message: ($b.error // "the MES refused the release with HTTP \(.status)")}]
      }
    end
