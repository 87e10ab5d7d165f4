package policy

import rego.v1

default allow := false

allow if {
	input.user == "alice"
	some r in input.roles
	r in {"admin", "ops"}
}

s contains x if some x in [1, 2, 3]

f(x) := y if { y := x * 2 } else := 0

o[k] := v if some k, v in {"a": 1}

c := {x: y | some x in numbers.range(1, 3); y := sprintf("%d", [x])}
