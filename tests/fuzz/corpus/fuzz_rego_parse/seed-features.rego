package t
import rego.v1
default hardware := 97
hardware := 2 if input.tpm.measurements["pcr.sha256.0"] in query_reference_value("pcr.sha256.0")
a.b[c].d := 1 if some c in ["x"]
every_ok if every x in [1,2] { x > 0 }
w := v if v := input.n with input.n as 3
