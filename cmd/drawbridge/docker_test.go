package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

func parseDockerfile(t *testing.T, path string) (stages [][]instruction) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var line string
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(l, "\\"); ok {
			line += cont + " "
			continue
		}
		line += l
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s before FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// execForm reads a JSON exec-form argument list (["a", "b"]).
func execForm(t *testing.T, what, s string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("%s is not in exec form (a JSON list): %s", what, s)
	}
	return out
}

// TestDockerfile: the image runs as a user that is not root, keeps
// data_dir on a volume, exposes both listeners at the config's default
// ports, and checks its health with a command the image has, which works.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "../../Dockerfile")
	final := stages[len(stages)-1]
	last := map[string]string{}
	for _, in := range final {
		last[in.cmd] = in.args
	}
	if u := last["USER"]; u == "" || u == "root" || strings.HasPrefix(u, "0") {
		t.Errorf("USER = %q, want a non-root user", u)
	}
	port := func(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
	exposed := strings.Fields(last["EXPOSE"])
	adminDefault := config.Config{}
	adminDefault.SetDefaults()
	for _, p := range []string{port(config.DefaultListen), port(adminDefault.Admin.Listen)} {
		if !slices.Contains(exposed, p) {
			t.Errorf("EXPOSE %v lacks %s", exposed, p)
		}
	}
	volumes := execForm(t, "VOLUME", last["VOLUME"])
	cmd := execForm(t, "CMD", last["CMD"])
	entry := execForm(t, "ENTRYPOINT", last["ENTRYPOINT"])
	i := slices.Index(cmd, "--data-dir")
	if i < 0 || i+1 >= len(cmd) || !slices.Contains(volumes, cmd[i+1]) {
		t.Errorf("CMD %v does not keep --data-dir on a VOLUME %v", cmd, volumes)
	}
	if slices.Index(cmd, "-c") < 0 || entry[0] != "drawbridge" || cmd[0] != "serve" {
		t.Errorf("ENTRYPOINT %v CMD %v, want drawbridge serve -c …", entry, cmd)
	}
	hc := regexp.MustCompile(`^(?:--\S+\s+)*CMD\s+(\[.*\])$`).FindStringSubmatch(last["HEALTHCHECK"])
	if hc == nil {
		t.Fatalf("HEALTHCHECK = %q, want HEALTHCHECK [options] CMD [exec form]", last["HEALTHCHECK"])
	}
	check := execForm(t, "HEALTHCHECK CMD", hc[1])
	if check[0] != "drawbridge" || check[1] != "health" {
		t.Fatalf("HEALTHCHECK runs %v, want drawbridge health (the image has no curl)", check)
	}
	// The health check itself: 0 against a serving Drawbridge, 1 without one.
	data := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("listen: %s\nauth: none\ndata_dir: %s\nservers:\n  up:\n    command: %s\n",
		freeAddr(t), data, filepath.Join(binDir, "testupstream")))
	if code, _, _ := cli(t, "", "health", "-c", cfgPath); code != 1 {
		t.Errorf("health with nothing listening = %d, want 1", code)
	}
	d := serve(t, cfgPath)
	if code, out, errOut := cli(t, "", "health", "--url", "http://"+d.addr); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("health against a serving Drawbridge = %d %q %q", code, out, errOut)
	}
}
