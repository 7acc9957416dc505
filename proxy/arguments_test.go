package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// FuzzCanonicalArgs: arguments canonicalArgs accepts are an object that
// reads the same again (so every reader agrees), and no key of theirs
// differs only in case from a parameter of the schema.
func FuzzCanonicalArgs(f *testing.F) {
	schema := `{"type":"object","properties":{"path":{"type":"string"},"amount":{"type":"integer"},"items":{"type":"array","items":{"type":"object","properties":{"id":{}}}}}}`
	f.Add([]byte(`{"path":"/srv/a","amount":5}`), schema)
	f.Add([]byte(`{"Path":"/etc/passwd"}`), schema)
	f.Add([]byte(`{"items":[{"ID":1}]}`), schema)
	f.Add([]byte(`{"amount":1,"amount":2}`), `{}`)
	f.Fuzz(func(t *testing.T, args []byte, schema string) {
		out, argv, err := canonicalArgs(args)
		sv, _ := ijson.Parse([]byte(schema))
		if err != nil || checkArgs(argv, sv) != nil {
			return
		}
		v, err := ijson.Parse(out)
		if err != nil || v.Kind != ijson.Object {
			t.Fatalf("canonicalArgs(%s) = %s, which does not read back as an object: %v", args, out, err)
		}
		if again, _, _ := canonicalArgs(out); !bytes.Equal(again, out) {
			t.Fatalf("not stable: %s then %s", out, again)
		}
		var in any
		_ = json.Unmarshal(args, &in)
		var got any
		_ = json.Unmarshal(out, &got)
		if a, b := mustJSON(in), mustJSON(got); !bytes.Equal(a, b) {
			t.Fatalf("canonicalArgs changed the value: %s -> %s", a, b)
		}
		if s, err := ijson.Parse([]byte(schema)); err == nil {
			if props := s.Get("properties"); props != nil {
				for _, m := range v.Members {
					for _, p := range props.Members {
						if m.Key != p.Key && ijson.Fold(m.Key) == ijson.Fold(p.Key) {
							t.Fatalf("key %q passed beside schema parameter %q", m.Key, p.Key)
						}
					}
				}
			}
		}
	})
}

// FuzzSSEFrame: a message written as an event stream reads back, by the
// rules an SSE client follows, as the same JSON.
func FuzzSSEFrame(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	f.Add([]byte("{\"a\":\n1}"))
	f.Add([]byte("{\"a\":\r\n1 }"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if !json.Valid(msg) {
			return
		}
		var buf bytes.Buffer
		writeEvent(&buf, msg)
		var data []string
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		sc.Split(sseLines)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				data = append(data, strings.TrimPrefix(d, " "))
			}
		}
		got := strings.Join(data, "\n")
		var a, b bytes.Buffer
		if json.Compact(&a, msg) != nil || json.Compact(&b, []byte(got)) != nil || a.String() != b.String() {
			t.Fatalf("event %q read back as %q", msg, got)
		}
	})
}

// sseLines splits as SSE does: at CRLF, LF or CR.
func sseLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		switch c {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			if i+1 < len(data) || atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// FuzzDenyVariants: a tool named as tools.deny names it is denied, in any
// letter case.
func FuzzDenyVariants(f *testing.F) {
	f.Add("delete_all")
	f.Add("dеlete") // Cyrillic е
	f.Add("ＤＥＬＥＴＥ")
	f.Fuzz(func(t *testing.T, name string) {
		if strings.Contains(name, "*") {
			return
		}
		deny := config.ToolFilter{Deny: []string{name}}
		for _, variant := range []string{name, strings.ToUpper(name), strings.ToLower(name)} {
			if filtered(deny, variant) == "" && skeleton(variant) == skeleton(name) {
				t.Fatalf("tools.deny [%q] let %q through", name, variant)
			}
		}
		if filtered(deny, name) == "" {
			t.Fatalf("tools.deny [%q] let the tool itself through", name)
		}
	})
}
