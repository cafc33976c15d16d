# The ERP's availability answer → the canonical answer of
# mfg.inventory.availability.query.v1 (its definitions/response), with
# Rec 20 unit codes. The ERP answers
# {"LABST": "<available>", "MEINS": "<unit>", "AS_OF": "<RFC 3339>",
#  "LOTS": [{"CHARG": "...", "MENGE": "...", "STATUS": "F|Q|S|R"}]}.
# Input: {status, body, request}; request is the query as asked.
def rec20: {"KG": "KGM", "G": "GRM", "LB": "LBR", "ST": "C62", "L": "LTR"}[.] // error("no Rec 20 code for ERP unit \(.)");
def stock_status: {"F": "UnRestricted", "Q": "QualityInspection", "S": "Blocked", "R": "Restricted"}[.] // error("unknown ERP stock status \(.)");

.request.data as $q
| (if (.body | type) == "object" then .body else {} end) as $b
| if .status >= 300 then
    {queryId: $q.queryId, error: ($b.MESSAGE // "the ERP refused the query with HTTP \(.status)")}
  else
    {
      queryId: $q.queryId,
      siteId: $q.siteId,
      materialId: $q.materialId,
      availableQty: {value: $b.LABST, uom: ($b.MEINS | rec20)},
      asOf: $b.AS_OF,
      lots: [($b.LOTS // [])[] | {lotId: .CHARG, qty: {value: .MENGE, uom: ($b.MEINS | rec20)}, stockStatus: (.STATUS | stock_status)}]
    }
  end
