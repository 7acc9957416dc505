package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// FuzzPolicyInput: the input document built directly as an OPA value is
// the one its JSON form describes: the policy reads the arguments (and the
// tool, the client) exactly as the upstream will decode them.
func FuzzPolicyInput(f *testing.F) {
	f.Add("create_payment_link", `{"amount":500,"currency":"usd"}`, `{"type":"object"}`, "alice")
	f.Add("t", `{"n":9007199254740993,"s":"\u00e9\ud83d\ude00","a":[1.50,null,true]}`, `{}`, "")
	f.Fuzz(func(t *testing.T, name, args, schema, client string) {
		v, err := ijson.Parse([]byte(args))
		if err != nil || v.Kind != ijson.Object || !json.Valid([]byte(schema)) {
			return
		}
		canon := v.AppendCompact(nil)
		in := &Input{Method: "tools/call", Server: "s", Tool: Tool{Name: name, InputSchema: json.RawMessage(schema)},
			Arguments: canon, Client: Client{Name: client}, Time: time.Unix(0, 0)}
		got, err := in.value(&toolCache{})
		if err != nil {
			return // a schema OPA cannot hold is refused, not misread
		}
		nameJSON, _ := json.Marshal(name)
		want, err := ast.ValueFromReader(strings.NewReader(`{"arguments":` + string(canon) + `,"tool":{"name":` + string(nameJSON) + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		obj := got.(ast.Object)
		for _, key := range []string{"arguments"} {
			if g, w := obj.Get(ast.StringTerm(key)), want.(ast.Object).Get(ast.StringTerm(key)); g == nil || g.Value.Compare(w.Value) != 0 {
				t.Fatalf("input.%s = %v, want %v", key, g, w)
			}
		}
		tool := obj.Get(ast.StringTerm("tool")).Value.(ast.Object)
		if tool.Get(ast.StringTerm("name")).Value.Compare(ast.String(name)) != 0 {
			t.Fatalf("input.tool.name = %v, want %q", tool.Get(ast.StringTerm("name")), name)
		}
		if c := obj.Get(ast.StringTerm("client")).Value.(ast.Object).Get(ast.StringTerm("name")); c.Value.Compare(ast.String(client)) != 0 {
			t.Fatalf("input.client.name = %v, want %q", c, client)
		}
	})
}
