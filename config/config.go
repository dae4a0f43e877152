// Package config reads Vigil's configuration: a falco.yaml-compatible YAML
// file with Vigil's own additions, Falco's config_files includes, ${VAR}
// environment expansion and Falco's -o key=value overrides.
//
// Parse and Load decode a file onto Default(): keys a file leaves out keep
// their defaults. Every problem carries a position. Keys that Vigil does not
// know, and Falco keys that Vigil knows but does not implement (plugins,
// libs_logger, capture, ...), are warnings; a value of the wrong type or
// out of range is an error. Apply applies -o overrides to a loaded Config
// through the same decoder, so an override is checked exactly like a file.
//
// Defaults follow Falco 0.44's falco.yaml except where a comment on the
// field says that Vigil differs. The embedded vigil.yaml (DefaultYAML) holds
// the same defaults, with a comment on every key.
//
// The package builds on any OS and imports only the standard library and
// gopkg.in/yaml.v3.
package config

import "time"

// DefaultFile is where Vigil looks for its configuration when -c is not
// given.
const DefaultFile = "/etc/vigil/vigil.yaml"

// Config is Vigil's configuration. The yaml tags name the keys; nested
// structs are nested YAML mappings.
type Config struct {
	// ConfigFiles are further files, or directories of *.yaml/*.yml files
	// (in name order), merged into this one (Falco's config_files). Relative
	// paths are relative to the including file's directory; paths that do
	// not exist are skipped. Included files may not include others.
	// Vigil differs: the default is /etc/vigil/config.d.
	ConfigFiles []ConfigFile `yaml:"config_files"`
	// WatchConfigFiles reloads rules and configuration when one of their
	// files changes (SIGHUP always reloads).
	WatchConfigFiles bool `yaml:"watch_config_files"`
	// RulesFiles are the rules files and directories, loaded in order
	// (rules_files; the legacy rules_file is read with a warning).
	// Vigil differs: the default is empty, which means Vigil's embedded
	// default ruleset.
	RulesFiles []string `yaml:"rules_files"`
	// Rules enable and disable loaded rules by name or tag, in order
	// (Falco's rules: selectors).
	Rules []RuleSelector `yaml:"rules"`
	// Engine selects the event source (driver).
	Engine Engine `yaml:"engine"`

	// TimeFormatISO8601 prints alert and log times in ISO 8601.
	TimeFormatISO8601 bool `yaml:"time_format_iso_8601"`
	// Priority is the minimum priority of the rules that are loaded:
	// emergency, alert, critical, error, warning, notice, informational
	// (or info), debug.
	Priority string `yaml:"priority" oneof:"emergency,alert,critical,error,warning,notice,informational,info,debug"`
	// JSONOutput writes alerts as JSON.
	JSONOutput bool `yaml:"json_output"`
	// JSONIncludeOutputProperty adds "output" (the text line) to JSON alerts.
	JSONIncludeOutputProperty bool `yaml:"json_include_output_property"`
	// JSONIncludeMessageProperty adds "message" (the output without time
	// and priority) to JSON alerts.
	JSONIncludeMessageProperty bool `yaml:"json_include_message_property"`
	// JSONIncludeOutputFieldsProperty adds "output_fields" to JSON alerts.
	JSONIncludeOutputFieldsProperty bool `yaml:"json_include_output_fields_property"`
	// JSONIncludeTagsProperty adds "tags" to JSON alerts.
	JSONIncludeTagsProperty bool `yaml:"json_include_tags_property"`
	// BufferedOutputs buffers stdout, file and program outputs instead of
	// flushing every alert (-U turns it off).
	BufferedOutputs bool `yaml:"buffered_outputs"`
	// RuleMatching is "first" (an event fires the first matching rule) or
	// "all" (every matching rule).
	RuleMatching string `yaml:"rule_matching" oneof:"first,all"`
	// OutputsQueue bounds each output's queue.
	OutputsQueue OutputsQueue `yaml:"outputs_queue"`
	// Outputs is the alert rate limit.
	Outputs Outputs `yaml:"outputs"`
	// AppendOutput appends text and fields to the outputs of matching rules.
	AppendOutput []AppendOutput `yaml:"append_output"`

	// StdoutOutput prints alerts on standard output.
	StdoutOutput StdoutOutput `yaml:"stdout_output"`
	// SyslogOutput sends alerts to syslog.
	SyslogOutput SyslogOutput `yaml:"syslog_output"`
	// FileOutput appends alerts to a file.
	FileOutput FileOutput `yaml:"file_output"`
	// HTTPOutput POSTs alerts to a URL.
	HTTPOutput HTTPOutput `yaml:"http_output"`
	// ProgramOutput pipes alerts to a shell command.
	ProgramOutput ProgramOutput `yaml:"program_output"`
	// GRPC is the gRPC server (removed from Falco in 0.44, kept by Vigil).
	GRPC GRPC `yaml:"grpc"`
	// GRPCOutput streams alerts to gRPC subscribers.
	GRPCOutput GRPCOutput `yaml:"grpc_output"`
	// SlackOutput posts alerts to a Slack incoming webhook (Vigil's own).
	SlackOutput SlackOutput `yaml:"slack_output"`
	// ElasticsearchOutput indexes alerts with the bulk API (Vigil's own).
	ElasticsearchOutput ElasticsearchOutput `yaml:"elasticsearch_output"`
	// NATSOutput publishes alerts to NATS (Vigil's own).
	NATSOutput NATSOutput `yaml:"nats_output"`
	// OutputTimeout is how long an output may block before it is reported
	// (output_timeout, an integer in milliseconds).
	OutputTimeout time.Duration `yaml:"output_timeout" unit:"ms"`

	// Webserver is the embedded HTTP server (/healthz, /metrics).
	Webserver Webserver `yaml:"webserver"`

	// LogStderr writes Vigil's own logs to standard error.
	LogStderr bool `yaml:"log_stderr"`
	// LogSyslog writes Vigil's own logs to syslog.
	LogSyslog bool `yaml:"log_syslog"`
	// LogLevel is the minimum level of Vigil's own logs: emergency, alert,
	// critical, error, warning, notice, info, debug.
	LogLevel string `yaml:"log_level" oneof:"emergency,alert,critical,error,warning,notice,info,debug"`

	// SyscallEventTimeouts reports a driver that delivers no events.
	SyscallEventTimeouts SyscallEventTimeouts `yaml:"syscall_event_timeouts"`
	// SyscallEventDrops reports events the driver lost.
	SyscallEventDrops SyscallEventDrops `yaml:"syscall_event_drops"`
	// Metrics are periodic internal metrics.
	Metrics Metrics `yaml:"metrics"`
	// BaseSyscalls tunes which syscalls the driver collects.
	BaseSyscalls BaseSyscalls `yaml:"base_syscalls"`
	// ContainerEngines are the container runtimes queried for metadata
	// (Vigil's own; Falco configures them in its container plugin).
	ContainerEngines ContainerEngines `yaml:"container_engines"`
}

// ConfigFile is one config_files entry: a path, as a plain string or as
// {path, strategy}.
type ConfigFile struct {
	// Path is a file or a directory.
	Path string `yaml:"path"`
	// Strategy is how the file's keys merge into the including
	// configuration: "append" (lists are appended to, other keys replaced;
	// the default), "override" (every key replaced) or "add-only" (only keys
	// not yet set are added).
	Strategy string `yaml:"strategy" oneof:"append,override,add-only"`
}

// RuleSelector enables or disables the rules whose name matches Rule (with
// * wildcards) or which carry Tag. In YAML it is written
// "- disable: {rule: X}" or "- enable: {tag: Y}".
type RuleSelector struct {
	// Enable selects enable: (true) or disable: (false).
	Enable bool
	// Rule is a rule name, possibly with * wildcards.
	Rule string
	// Tag is a tag.
	Tag string
}

// Engine selects the driver.
type Engine struct {
	// Kind is the driver: auto (ebpf, then fanotify, then procscan),
	// ebpf, fanotify, procscan, ptrace or replay. Falco's modern_ebpf, ebpf
	// and kmod are read as ebpf, with a warning. Vigil differs: the default
	// is auto.
	Kind string `yaml:"kind"`
	// ModernEBPF tunes the ebpf driver's buffers (Falco's
	// engine.modern_ebpf).
	ModernEBPF ModernEBPF `yaml:"modern_ebpf"`
	// Replay is the replay driver's input.
	Replay Replay `yaml:"replay"`
}

// Engine kinds (Engine.Kind).
const (
	KindAuto     = "auto"
	KindEBPF     = "ebpf"
	KindFanotify = "fanotify"
	KindProcscan = "procscan"
	KindPtrace   = "ptrace"
	KindReplay   = "replay"
)

// ModernEBPF tunes the ebpf driver.
type ModernEBPF struct {
	// CPUsForEachBuffer is how many CPUs share one ring buffer (0: one
	// buffer for all).
	CPUsForEachBuffer int `yaml:"cpus_for_each_buffer" min:"0"`
	// BufSizePreset sizes each ring buffer: 1 MiB·2^(n-1), 1..10; 4 is 8 MiB.
	BufSizePreset int `yaml:"buf_size_preset" min:"1" max:"10"`
	// DropFailedExit drops failed syscalls in the kernel.
	DropFailedExit bool `yaml:"drop_failed_exit"`
	// DisableIterators does not use BPF iterators for the initial scan.
	DisableIterators bool `yaml:"disable_iterators"`
}

// Replay is the replay driver's input.
type Replay struct {
	// CaptureFile is the capture to replay; required when the kind is
	// replay.
	CaptureFile string `yaml:"capture_file"`
}

// OutputsQueue bounds the queues between detection and the outputs.
type OutputsQueue struct {
	// Capacity is the number of alerts each output may have waiting; a
	// full queue drops alerts for that output and counts them. Vigil
	// differs: each output has its own queue, and 0 means Vigil's default
	// capacity (1024), never unbounded.
	Capacity int `yaml:"capacity" min:"0"`
}

// Outputs is the token-bucket alert rate limit that Falco removed in 0.37
// and Vigil keeps.
type Outputs struct {
	// Rate is the number of alerts per second the bucket refills; 0 means
	// no limit.
	Rate float64 `yaml:"rate" min:"0"`
	// MaxBurst is the number of alerts that may go out at once.
	MaxBurst int `yaml:"max_burst" min:"0"`
}

// AppendOutput appends ExtraOutput and ExtraFields to the outputs of the
// rules Match selects.
type AppendOutput struct {
	// Match selects rules; empty members match every rule.
	Match OutputMatch `yaml:"match"`
	// ExtraOutput is appended (after a space) to the rule's output.
	ExtraOutput string `yaml:"extra_output"`
	// ExtraFields are added to the alert's output_fields.
	ExtraFields []ExtraField `yaml:"extra_fields"`
	// SuggestedOutput appends the fields the rules file suggests
	// (%container.* and the like) for the rule's source.
	SuggestedOutput bool `yaml:"suggested_output"`
}

// OutputMatch selects rules by source, tags (a rule must carry every tag)
// and name.
type OutputMatch struct {
	// Source is an event source ("syscall").
	Source string `yaml:"source"`
	// Tags must all be on the rule.
	Tags []string `yaml:"tags"`
	// Rule is a rule name.
	Rule string `yaml:"rule"`
}

// ExtraField is one extra_fields entry. A map entry {key: format} gives Key
// and the output template Format; a plain string names a field, which is
// Key with an empty Format (the field's own value is added under its name).
// A map with several keys yields one ExtraField per key, in order.
type ExtraField struct {
	Key    string
	Format string
}

// StdoutOutput prints alerts on standard output.
type StdoutOutput struct {
	Enabled bool `yaml:"enabled"`
}

// SyslogOutput sends alerts to syslog as RFC 5424 messages.
type SyslogOutput struct {
	Enabled bool `yaml:"enabled"`
	// Address is Vigil's own: where to send, as unix:///path,
	// unixgram:///path, udp://host:port or tcp://host:port; empty means the
	// local /dev/log.
	Address string `yaml:"address"`
}

// FileOutput appends alerts to a file.
type FileOutput struct {
	Enabled bool `yaml:"enabled"`
	// KeepAlive keeps the file open between alerts.
	KeepAlive bool `yaml:"keep_alive"`
	// Filename is the file.
	Filename string `yaml:"filename"`
}

// HTTPOutput POSTs each alert to URL.
type HTTPOutput struct {
	Enabled bool `yaml:"enabled"`
	// URL is the receiver, http:// or https://; required when enabled.
	URL string `yaml:"url" secret:"url"`
	// UserAgent is the User-Agent header.
	UserAgent string `yaml:"user_agent"`
	// Insecure skips verification of the server's certificate.
	Insecure bool `yaml:"insecure"`
	// CACert, CABundle and CAPath name trusted CAs: a PEM file, a PEM bundle
	// and a directory.
	CACert   string `yaml:"ca_cert"`
	CABundle string `yaml:"ca_bundle"`
	CAPath   string `yaml:"ca_path"`
	// MTLS presents ClientCert and ClientKey (PEM files) to the server.
	MTLS       bool   `yaml:"mtls"`
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// Echo prints the receiver's answers.
	Echo bool `yaml:"echo"`
	// CompressUploads gzips request bodies.
	CompressUploads bool `yaml:"compress_uploads"`
	// KeepAlive reuses connections.
	KeepAlive bool `yaml:"keep_alive"`
	// MaxConsecutiveTimeouts is how many timeouts in a row are tolerated
	// before the output reports itself failing.
	MaxConsecutiveTimeouts int `yaml:"max_consecutive_timeouts" min:"0"`
}

// ProgramOutput pipes each alert to a shell command.
type ProgramOutput struct {
	Enabled bool `yaml:"enabled"`
	// KeepAlive keeps one process running for all alerts.
	KeepAlive bool `yaml:"keep_alive"`
	// Program is run with sh -c; required when enabled.
	Program string `yaml:"program"`
}

// GRPC is the gRPC server that serves the alert stream.
type GRPC struct {
	Enabled bool `yaml:"enabled"`
	// BindAddress is unix:///path or host:port. Vigil differs: the default
	// is unix:///run/vigil/vigil.sock.
	BindAddress string `yaml:"bind_address"`
	// Threadiness is the number of server threads; 0 means one per CPU.
	Threadiness int `yaml:"threadiness" min:"0"`
	// PrivateKey, CertChain and RootCerts are PEM files for TLS on a
	// host:port address: the server's key and certificate, and the CAs that
	// client certificates must chain to (mutual TLS when set).
	PrivateKey string `yaml:"private_key"`
	CertChain  string `yaml:"cert_chain"`
	RootCerts  string `yaml:"root_certs"`
}

// GRPCOutput streams alerts to gRPC subscribers.
type GRPCOutput struct {
	Enabled bool `yaml:"enabled"`
}

// SlackOutput posts alerts to a Slack incoming webhook.
type SlackOutput struct {
	Enabled bool `yaml:"enabled"`
	// WebhookURL is the incoming webhook; required when enabled.
	WebhookURL string `yaml:"webhook_url" secret:"all"`
	// MinimumPriority is the lowest priority posted.
	MinimumPriority string `yaml:"minimum_priority" oneof:"emergency,alert,critical,error,warning,notice,informational,info,debug"`
	// Channel overrides the webhook's channel when set.
	Channel string `yaml:"channel"`
	// Username overrides the webhook's user name when set.
	Username string `yaml:"username"`
	// IconURL overrides the webhook's icon when set.
	IconURL string `yaml:"icon_url"`
	// OutputFormat is "all" (text and a table of fields), "text" or "fields".
	OutputFormat string `yaml:"output_format" oneof:"all,text,fields"`
}

// ElasticsearchOutput indexes alerts with Elasticsearch's bulk API.
type ElasticsearchOutput struct {
	Enabled bool `yaml:"enabled"`
	// URL is the cluster's base URL; required when enabled.
	URL string `yaml:"url" secret:"url"`
	// Index is the index name; strftime-style %Y, %m, %d, %H are replaced
	// with the alert's UTC date (vigil-%Y.%m.%d gives vigil-2026.11.03).
	Index string `yaml:"index"`
	// Username and Password are HTTP basic authentication.
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"all"`
	// APIKey is sent as "Authorization: ApiKey <key>".
	APIKey string `yaml:"api_key" secret:"all"`
	// Insecure, CACert, ClientCert and ClientKey are TLS options as in
	// http_output.
	Insecure   bool   `yaml:"insecure"`
	CACert     string `yaml:"ca_cert"`
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// MinimumPriority is the lowest priority indexed.
	MinimumPriority string `yaml:"minimum_priority" oneof:"emergency,alert,critical,error,warning,notice,informational,info,debug"`
	// BatchSize is the largest number of alerts in one bulk request.
	BatchSize int `yaml:"batch_size" min:"1"`
	// FlushInterval is the longest an alert waits for a batch to fill.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// NATSOutput publishes alerts to NATS, on subject <subject_prefix>.<priority>.
type NATSOutput struct {
	Enabled bool `yaml:"enabled"`
	// URL is the server, nats://host:port (tls://host:port for TLS);
	// required when enabled.
	URL string `yaml:"url" secret:"url"`
	// SubjectPrefix starts every subject.
	SubjectPrefix string `yaml:"subject_prefix"`
	// MinimumPriority is the lowest priority published.
	MinimumPriority string `yaml:"minimum_priority" oneof:"emergency,alert,critical,error,warning,notice,informational,info,debug"`
	// CredentialsFile is a NATS .creds file (JWT and NKey seed).
	CredentialsFile string `yaml:"credentials_file"`
	// CACert, ClientCert and ClientKey are PEM files for TLS.
	CACert     string `yaml:"ca_cert"`
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
}

// Webserver is the embedded HTTP server.
type Webserver struct {
	Enabled bool `yaml:"enabled"`
	// Threadiness is the number of server threads; 0 means one per CPU.
	Threadiness int `yaml:"threadiness" min:"0"`
	// ListenPort is the TCP port.
	ListenPort int `yaml:"listen_port" min:"0" max:"65535"`
	// ListenAddress is the address to listen on.
	ListenAddress string `yaml:"listen_address"`
	// K8sHealthzEndpoint is the health check path.
	K8sHealthzEndpoint string `yaml:"k8s_healthz_endpoint"`
	// PrometheusMetricsEnabled serves /metrics.
	PrometheusMetricsEnabled bool `yaml:"prometheus_metrics_enabled"`
	// SSLEnabled serves HTTPS with SSLCertificate, a PEM file holding the
	// key and the certificate.
	SSLEnabled     bool   `yaml:"ssl_enabled"`
	SSLCertificate string `yaml:"ssl_certificate"`
}

// SyscallEventTimeouts reports a driver that delivers no events.
type SyscallEventTimeouts struct {
	// MaxConsecutives is how many consecutive empty reads are reported.
	MaxConsecutives int `yaml:"max_consecutives" min:"1"`
}

// Drop actions (SyscallEventDrops.Actions).
const (
	DropIgnore = "ignore"
	DropLog    = "log"
	DropAlert  = "alert"
	DropExit   = "exit"
)

// SyscallEventDrops reports events the driver lost.
type SyscallEventDrops struct {
	// Threshold is the fraction of dropped events (0..1) above which the
	// actions run.
	Threshold float64 `yaml:"threshold" min:"0" max:"1"`
	// Actions are ignore, log, alert and/or exit.
	Actions []string `yaml:"actions" oneof:"ignore,log,alert,exit"`
	// Rate and MaxBurst limit the notices: a token bucket refilled at Rate
	// per second, holding at most MaxBurst.
	Rate     float64 `yaml:"rate" min:"0"`
	MaxBurst int     `yaml:"max_burst" min:"0"`
	// SimulateDrops pretends that events are dropped (for tests).
	SimulateDrops bool `yaml:"simulate_drops"`
}

// Metrics are periodic internal metrics.
type Metrics struct {
	Enabled bool `yaml:"enabled"`
	// Interval is the period, in Prometheus form (1h, 15m, 30s, 1h30m).
	Interval time.Duration `yaml:"interval"`
	// OutputRule emits each snapshot as an alert.
	OutputRule bool `yaml:"output_rule"`
	// OutputFile appends each snapshot as JSON to this file when set.
	OutputFile                       string `yaml:"output_file"`
	RulesCountersEnabled             bool   `yaml:"rules_counters_enabled"`
	ResourceUtilizationEnabled       bool   `yaml:"resource_utilization_enabled"`
	StateCountersEnabled             bool   `yaml:"state_counters_enabled"`
	KernelEventCountersEnabled       bool   `yaml:"kernel_event_counters_enabled"`
	KernelEventCountersPerCPUEnabled bool   `yaml:"kernel_event_counters_per_cpu_enabled"`
	LibbpfStatsEnabled               bool   `yaml:"libbpf_stats_enabled"`
	PluginsMetricsEnabled            bool   `yaml:"plugins_metrics_enabled"`
	KernelIterEventCountersEnabled   bool   `yaml:"kernel_iter_event_counters_enabled"`
	JemallocStatsEnabled             bool   `yaml:"jemalloc_stats_enabled"`
	ConvertMemoryToMB                bool   `yaml:"convert_memory_to_mb"`
	IncludeEmptyValues               bool   `yaml:"include_empty_values"`
}

// BaseSyscalls tunes which syscalls the driver collects.
type BaseSyscalls struct {
	// CustomSet adds syscalls by name; "!name" removes one.
	CustomSet []string `yaml:"custom_set"`
	// Repair adds only the syscalls the process table needs.
	Repair bool `yaml:"repair"`
	// All collects every syscall the driver can.
	All bool `yaml:"all"`
}

// ContainerEngines are the container runtimes queried for metadata.
type ContainerEngines struct {
	Docker     ContainerEngine `yaml:"docker"`
	Containerd ContainerEngine `yaml:"containerd"`
	CRI        ContainerEngine `yaml:"cri"`
	CRIO       ContainerEngine `yaml:"crio"`
	Podman     ContainerEngine `yaml:"podman"`
	// MetadataWait bounds how long the first event of a new container
	// waits for the container's metadata, so that its first alerts carry
	// name, image and pod; later events never wait, and metadata that
	// arrives later fills the events after it. 0 does not wait. At most
	// MetadataTimeout. Vigil's own: Falco has no such bound.
	MetadataWait time.Duration `yaml:"metadata_wait"`
	// MetadataTimeout bounds one metadata lookup (all runtimes asked);
	// a failed lookup is retried with backoff. Vigil's own.
	MetadataTimeout time.Duration `yaml:"metadata_timeout"`
}

// ContainerEngine is one container runtime: whether to query it and the
// API sockets to try, in order.
type ContainerEngine struct {
	Enabled bool     `yaml:"enabled"`
	Sockets []string `yaml:"sockets"`
}

// Default returns Vigil's default configuration, the same as parsing the
// embedded vigil.yaml.
func Default() *Config {
	return &Config{
		ConfigFiles:      []ConfigFile{{Path: "/etc/vigil/config.d", Strategy: "append"}},
		WatchConfigFiles: true,
		Engine: Engine{
			Kind:       KindAuto,
			ModernEBPF: ModernEBPF{CPUsForEachBuffer: 2, BufSizePreset: 4},
		},
		Priority:                        "debug",
		JSONIncludeOutputProperty:       true,
		JSONIncludeOutputFieldsProperty: true,
		JSONIncludeTagsProperty:         true,
		RuleMatching:                    "first",
		Outputs:                         Outputs{Rate: 0, MaxBurst: 1000},
		AppendOutput:                    []AppendOutput{{SuggestedOutput: true}},
		StdoutOutput:                    StdoutOutput{Enabled: true},
		SyslogOutput:                    SyslogOutput{Enabled: true},
		FileOutput:                      FileOutput{Filename: "./events.txt"},
		HTTPOutput: HTTPOutput{
			UserAgent:              "vigilsec/vigil",
			CAPath:                 "/etc/ssl/certs",
			ClientCert:             "/etc/ssl/certs/client.crt",
			ClientKey:              "/etc/ssl/certs/client.key",
			MaxConsecutiveTimeouts: 5,
		},
		ProgramOutput: ProgramOutput{},
		GRPC:          GRPC{BindAddress: "unix:///run/vigil/vigil.sock"},
		SlackOutput:   SlackOutput{MinimumPriority: "debug", OutputFormat: "all"},
		ElasticsearchOutput: ElasticsearchOutput{
			Index:           "vigil-%Y.%m.%d",
			MinimumPriority: "debug",
			BatchSize:       500,
			FlushInterval:   time.Second,
		},
		NATSOutput:    NATSOutput{SubjectPrefix: "vigil", MinimumPriority: "debug"},
		OutputTimeout: 2 * time.Second,
		Webserver: Webserver{
			Enabled:            true,
			ListenPort:         8765,
			ListenAddress:      "0.0.0.0",
			K8sHealthzEndpoint: "/healthz",
			SSLCertificate:     "/etc/vigil/vigil.pem",
		},
		LogStderr:            true,
		LogSyslog:            true,
		LogLevel:             "info",
		SyscallEventTimeouts: SyscallEventTimeouts{MaxConsecutives: 1000},
		SyscallEventDrops: SyscallEventDrops{
			Threshold: 0.1,
			Actions:   []string{DropLog, DropAlert},
			Rate:      0.03333,
			MaxBurst:  1,
		},
		Metrics: Metrics{
			Interval:                       time.Hour,
			OutputRule:                     true,
			RulesCountersEnabled:           true,
			ResourceUtilizationEnabled:     true,
			StateCountersEnabled:           true,
			KernelEventCountersEnabled:     true,
			LibbpfStatsEnabled:             true,
			PluginsMetricsEnabled:          true,
			KernelIterEventCountersEnabled: true,
			ConvertMemoryToMB:              true,
		},
		ContainerEngines: ContainerEngines{
			Docker:     ContainerEngine{Enabled: true, Sockets: []string{"/var/run/docker.sock"}},
			Containerd: ContainerEngine{Enabled: true, Sockets: []string{"/run/containerd/containerd.sock"}},
			CRI: ContainerEngine{Enabled: true, Sockets: []string{
				"/run/containerd/containerd.sock",
				"/run/crio/crio.sock",
				"/run/k3s/containerd/containerd.sock",
			}},
			CRIO:            ContainerEngine{Enabled: true, Sockets: []string{"/run/crio/crio.sock"}},
			Podman:          ContainerEngine{Enabled: true, Sockets: []string{"/run/podman/podman.sock"}},
			MetadataWait:    150 * time.Millisecond,
			MetadataTimeout: 5 * time.Second,
		},
	}
}
