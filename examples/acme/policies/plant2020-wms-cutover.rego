# Plant 2020 moves to its own local WMS (change CHG-4711): from now on the
# central WMS must not post stock movements for it. Deployment rules like this
# one live in the `takt.deployment` package and can only add denials.
package takt.deployment

import rego.v1

deny contains "plant 2020 stock is posted by its local WMS since change CHG-4711" if {
	input.principal.name == "wms-central"
	input.contract == "mfg.inventory.moved.v1"
	"2020" in input.sites
}
