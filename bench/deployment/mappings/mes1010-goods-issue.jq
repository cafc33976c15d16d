# Plant-1010 MES goods issue (SAP field names) → mfg.material.consumed.v1.
# SAP unit codes become UN/CEFACT Rec 20 codes; weights are posted in KGM.
def rec20: {"KG": "KGM", "G": "GRM", "LB": "LBR", "ST": "C62", "L": "LTR"}[.];
def weight: if (.uom as $u | ["KGM", "GRM", "LBR"] | any(. == $u)) then to_uom("KGM") else . end;

if (.MENGE | tonumber) == 0 then error("MENGE is 0: a goods issue of nothing is not a posting") else . end
| {
  key: .MBLNR,
  subject: "productionorder/\(.WERKS)/\(.AUFNR)",
  time: .BUDAT,
  data: ({
    consumptionId: .MBLNR,
    siteId: .WERKS,
    orderId: .AUFNR,
    operationId: .VORNR,
    materialId: .MATNR,
    qty: ({value: .MENGE, uom: (.MEINS | rec20)} | weight),
    occurredAt: .BUDAT
  }
  + (if .CHARG then {lotId: .CHARG} else {} end)
  + (if .LGORT then {storageLocationId: .LGORT} else {} end))
}
