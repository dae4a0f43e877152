package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// upstreamFalcoYAML reads Falco's falco.yaml from VIGIL_FALCO_RULES_DIR (the
// directory of the upstream rules; never copied into this repository). It
// skips when the variable is unset and fails when the file is missing.
func upstreamFalcoYAML(t testing.TB) (string, []byte) {
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_RULES_DIR is not set")
	}
	path := filepath.Join(dir, "falco.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("VIGIL_FALCO_RULES_DIR=%s: %v", dir, err)
	}
	return path, data
}

func TestUpstreamFalcoYAML(t *testing.T) {
	path, data := upstreamFalcoYAML(t)
	// Parse, not Load: Load would merge /etc/falco/config.d if the machine
	// running the tests had one.
	c, warns, err := Parse(path, data)
	if err != nil {
		t.Fatalf("upstream falco.yaml: %v", err)
	}

	// Warnings only for what Vigil does not have, and the engine kind.
	var keys []string
	for _, w := range warns {
		keys = append(keys, w.Key)
		if w.Pos.File != path || w.Pos.Line == 0 || w.Pos.Col == 0 {
			t.Errorf("warning without a position: %s", w)
		}
	}
	sort.Strings(keys)
	wantKeys := []string{
		"buffer_format_base64", "capture", "engine.kind", "engine.kmod", "falco_libs",
		"libs_logger", "load_plugins", "plugins", "plugins_hostinfo",
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		for _, w := range warns {
			t.Log(w)
		}
		t.Errorf("warnings for %q, want %q", keys, wantKeys)
	}

	// The values it sets.
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"config_files", c.ConfigFiles, []ConfigFile{{Path: "/etc/falco/config.d", Strategy: "append"}}},
		{"rules_files", c.RulesFiles, []string{"/etc/falco/falco_rules.yaml", "/etc/falco/falco_rules.local.yaml", "/etc/falco/rules.d"}},
		{"engine.kind", c.Engine.Kind, KindEBPF},
		{"engine.modern_ebpf", c.Engine.ModernEBPF, ModernEBPF{CPUsForEachBuffer: 2, BufSizePreset: 4}},
		{"priority", c.Priority, "debug"},
		{"rule_matching", c.RuleMatching, "first"},
		{"json_output", c.JSONOutput, false},
		{"json_include_output_property", c.JSONIncludeOutputProperty, true},
		{"json_include_tags_property", c.JSONIncludeTagsProperty, true},
		{"append_output", c.AppendOutput, []AppendOutput{{SuggestedOutput: true}}},
		{"outputs_queue.capacity", c.OutputsQueue.Capacity, 0},
		{"stdout_output.enabled", c.StdoutOutput.Enabled, true},
		{"syslog_output.enabled", c.SyslogOutput.Enabled, true},
		{"file_output", c.FileOutput, FileOutput{Filename: "./events.txt"}},
		{"http_output.user_agent", c.HTTPOutput.UserAgent, "falcosecurity/falco"},
		{"http_output.ca_path", c.HTTPOutput.CAPath, "/etc/ssl/certs"},
		{"http_output.max_consecutive_timeouts", c.HTTPOutput.MaxConsecutiveTimeouts, 5},
		{"program_output.enabled", c.ProgramOutput.Enabled, false},
		{"webserver.listen_port", c.Webserver.ListenPort, 8765},
		{"webserver.listen_address", c.Webserver.ListenAddress, "0.0.0.0"},
		{"webserver.k8s_healthz_endpoint", c.Webserver.K8sHealthzEndpoint, "/healthz"},
		{"webserver.ssl_certificate", c.Webserver.SSLCertificate, "/etc/falco/falco.pem"},
		{"log_level", c.LogLevel, "info"},
		{"output_timeout", c.OutputTimeout, 2 * time.Second},
		{"syscall_event_timeouts.max_consecutives", c.SyscallEventTimeouts.MaxConsecutives, 1000},
		{"syscall_event_drops", c.SyscallEventDrops, SyscallEventDrops{
			Threshold: 0.1, Actions: []string{DropLog, DropAlert}, Rate: 0.03333, MaxBurst: 1,
		}},
		{"metrics.interval", c.Metrics.Interval, time.Hour},
		{"metrics.enabled", c.Metrics.Enabled, false},
		{"base_syscalls", c.BaseSyscalls, BaseSyscalls{}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
		}
	}
	if c.ProgramOutput.Program == "" {
		t.Error("program_output.program is empty")
	}

	// Overrides on top of it, as `vigil run -c falco.yaml -o ...` does.
	if _, err := Apply(c, []string{"json_output=true", "http_output.enabled=true", "http_output.url=http://127.0.0.1:2801/"}); err != nil {
		t.Fatal(err)
	}
	if !c.JSONOutput || !c.HTTPOutput.Enabled {
		t.Error("overrides not applied")
	}

	// The effective configuration prints and reads back.
	out, err := Marshal(c, &MarshalOptions{ShowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	back, warns, err := Parse("printed.yaml", out)
	if err != nil || len(warns) != 0 || !reflect.DeepEqual(back, c) {
		t.Errorf("round trip: %v %v", warns, err)
	}
}

// TestUpstreamFalcoYAMLLoad loads the file from a directory of its own, so
// that its config_files (/etc/falco/config.d) is the only include tried.
func TestUpstreamFalcoYAMLLoad(t *testing.T) {
	path, _ := upstreamFalcoYAML(t)
	if _, err := os.Stat("/etc/falco/config.d"); err == nil {
		t.Skip("/etc/falco/config.d exists on this machine and would be merged")
	}
	c, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine.Kind != KindEBPF || len(c.RulesFiles) != 3 {
		t.Errorf("loaded %+v", c)
	}
}
