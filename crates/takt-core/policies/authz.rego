# Takt's default authorization policy.
#
# Input (one request, one contract, every site the message names):
#   principal: {name, kind: "system" | "operator", sites: [...], roles: [...]}
#   interface: {name, pattern, producers: [...], contracts: [...]}
#   contract:  "mfg.material.consumed.v1"
#   sites:     ["1010"]   every plant in the envelope, the body, the source, a header
#
# A request is allowed when nothing denies it. Deployments add their own
# `deny contains reason if { ... }` rules in policies/*.rego, in the separate
# package `takt.deployment`: this policy reads them only as extra denials, so
# they can restrict, never widen, what it allows.
package takt.authz

import rego.v1

producer if input.principal.name in input.interface.producers

contract_carried if input.contract in input.interface.contracts

site_allowed(site) if "*" in input.principal.sites

site_allowed(site) if site in input.principal.sites

deny contains msg if {
	not producer
	msg := sprintf("%s is not a producer of interface %s", [input.principal.name, input.interface.name])
}

deny contains msg if {
	not contract_carried
	msg := sprintf("interface %s does not carry %s", [input.interface.name, input.contract])
}

deny contains msg if {
	some site in input.sites
	not site_allowed(site)
	msg := sprintf("%s may not act for site %s", [input.principal.name, site])
}

deployment_deny contains msg if {
	some msg in data.takt.deployment.deny
}

denials := deny | deployment_deny

decision := {"allow": count(denials) == 0, "reasons": sort(denials)}
