package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRewriteDropsOnlyMissingCapabilities(t *testing.T) {
	dir := t.TempDir()
	config := `{"ociVersion":"1.0.2","process":{"args":["sh"],"capabilities":{
		"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE","CAP_SYS_ADMIN"],
		"effective":["CAP_SYS_RESOURCE"],"permitted":["CAP_CHOWN"]}},"root":{"path":"rootfs"}}`
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(path, map[string]bool{"CAP_SYS_RESOURCE": true}, true); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	caps := doc["process"].(map[string]any)["capabilities"].(map[string]any)
	want := map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_ADMIN"},
		"effective": []any{},
		"permitted": []any{"CAP_CHOWN"},
	}
	if !reflect.DeepEqual(caps, want) {
		t.Fatalf("capabilities = %v, want %v", caps, want)
	}
	if doc["root"].(map[string]any)["path"] != "rootfs" {
		t.Fatalf("other fields lost: %v", doc)
	}
}

func TestSubcommandSkipsGlobalFlags(t *testing.T) {
	command, rest := subcommand([]string{"--root", "/run/runc", "--log", "/x.log", "--systemd-cgroup", "create", "--bundle", "/b", "id"})
	if command != "create" || !reflect.DeepEqual(rest, []string{"--bundle", "/b", "id"}) {
		t.Fatalf("got %q %v", command, rest)
	}
	if bundle, _ := flagValue(rest, "--bundle", "-b"); bundle != "/b" {
		t.Fatalf("bundle = %q", bundle)
	}
	if bundle, _ := flagValue([]string{"--bundle=/c"}, "--bundle", "-b"); bundle != "/c" {
		t.Fatalf("bundle = %q", bundle)
	}
}

func TestMissingCapabilitiesReadsThisProcess(t *testing.T) {
	missing, err := missingCapabilities()
	if err != nil {
		t.Fatal(err)
	}
	for name := range missing {
		found := false
		for _, known := range capNames {
			found = found || known == name
		}
		if !found {
			t.Fatalf("unknown capability %q", name)
		}
	}
}

func TestOOMScoreAdjIsRaisedToOurs(t *testing.T) {
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	var own float64
	if err := json.Unmarshal(data, &own); err != nil {
		t.Fatal(err)
	}
	process := map[string]any{"oomScoreAdj": float64(-1000)}
	if err := raiseOOMScoreAdj(process); err != nil {
		t.Fatal(err)
	}
	if got := process["oomScoreAdj"]; got != int(own) {
		t.Fatalf("oomScoreAdj = %v, want %v", got, own)
	}
	process = map[string]any{"oomScoreAdj": float64(1000)}
	_ = raiseOOMScoreAdj(process)
	if process["oomScoreAdj"] != float64(1000) {
		t.Fatalf("a higher adjustment was changed: %v", process["oomScoreAdj"])
	}
}
