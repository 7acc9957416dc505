# Allows every call: for tests of the stages around the policy.
package drawbridge

import rego.v1

decision := {"action": "allow", "reason": "the test policy allows everything"}
