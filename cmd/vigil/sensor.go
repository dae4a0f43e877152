package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/container"
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/ebpf"
	"github.com/vigilsec/vigil/driver/fanotify"
	"github.com/vigilsec/vigil/driver/replay"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/metrics"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/output/grpcout"
	"github.com/vigilsec/vigil/rules"
	"github.com/vigilsec/vigil/sensor"
	"github.com/vigilsec/vigil/state"
	"github.com/vigilsec/vigil/webserver"
)

// shutdownTimeout bounds how long outputs may take to flush at exit.
const shutdownTimeout = 5 * time.Second

// untilDelivered is the retry count of network sinks that keep an alert
// until its receiver takes it: the queue bounds what waits, and shutdown's
// deadline ends the retries.
const untilDelivered = math.MaxInt32

// loadConfig returns the configuration: -c FILE (or the embedded defaults)
// with the -o overrides and the flags that stand for config keys applied.
func (e *env) loadConfig(opts *runOptions) (*config.Config, error) {
	cfg := config.Default()
	var warns []config.Warning
	if opts.ConfigFile != "" {
		var err error
		cfg, warns, err = config.Load(opts.ConfigFile)
		if err != nil {
			return nil, &exitError{code: exitInvalid, err: err}
		}
	}
	var kvs []string
	for _, o := range opts.Overrides {
		kvs = append(kvs, o.Key+"="+o.Value)
	}
	if opts.JSON {
		kvs = append(kvs, "json_output=true")
	}
	w, err := config.Apply(cfg, kvs)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	warns = append(warns, w...)
	for _, w := range warns {
		// A misspelt output would silently deliver nothing: unknown
		// *_output sections are errors, not warnings.
		if !strings.Contains(w.Key, ".") && strings.HasSuffix(w.Key, "_output") && strings.Contains(w.Msg, "unknown key") {
			return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s: unknown output type %q", w.Pos.String(), w.Key)}
		}
		e.log.Warn("config: " + w.String())
	}
	if opts.Unbuffered {
		cfg.BufferedOutputs = false
	}
	return cfg, nil
}

// sensorRules loads the rules for the sensor: -r paths, else the config's
// rules_files, else the embedded defaults; then applies the minimum
// priority and the config's enable/disable selectors.
func (e *env) sensorRules(opts *runOptions, cfg *config.Config) (*rules.Ruleset, error) {
	paths := opts.RulesPaths
	if len(paths) == 0 {
		paths = cfg.RulesFiles
	}
	rs, res := loadRulesWith(paths, extraOutputs(cfg))
	for _, w := range res.Warnings {
		e.log.Warn("rules: " + w.String())
	}
	if !res.OK() || rs == nil {
		printMessages(e.stderr, "Errors", res.Errors)
		return nil, errInvalid
	}
	minPrio := engine.PriorityDebug
	if cfg.Priority != "" {
		p, err := engine.ParsePriority(cfg.Priority)
		if err != nil {
			return nil, usageErrorf("priority: %v", err)
		}
		minPrio = p
	}
	for _, sel := range cfg.Rules {
		switch {
		case sel.Rule != "":
			rs.SetEnabled(sel.Rule, rules.MatchWildcard, sel.Enable)
		case sel.Tag != "":
			rs.SetEnabledByTag(sel.Enable, sel.Tag)
		}
	}
	for _, r := range rs.Rules {
		if r.Priority > minPrio {
			r.Enabled = false
		}
	}
	return rs, nil
}

// loadRulesWith loads rules files (or the embedded defaults for none).
func loadRulesWith(paths []string, extras []rules.ExtraOutput) (*rules.Ruleset, *rules.Result) {
	o := &rules.Options{ExtraOutputs: extras}
	if len(paths) == 0 {
		return rules.LoadFiles(rules.DefaultFiles(), o)
	}
	return rules.Load(paths, o)
}

// extraOutputs converts the config's append_output entries.
func extraOutputs(cfg *config.Config) []rules.ExtraOutput {
	var out []rules.ExtraOutput
	for _, a := range cfg.AppendOutput {
		x := rules.ExtraOutput{
			Match: rules.OutputMatch{Source: a.Match.Source, Tags: a.Match.Tags, Rule: a.Match.Rule},
			Text:  a.ExtraOutput,
		}
		for _, f := range a.ExtraFields {
			format := f.Format
			if format == "" { // a bare field name
				format = "%" + f.Key
			}
			x.Fields = append(x.Fields, rules.ExtraField{Key: f.Key, Format: format})
		}
		x.Suggested = a.SuggestedOutput
		if x.Text != "" || len(x.Fields) > 0 || x.Suggested {
			out = append(out, x)
		}
	}
	return out
}

// buildOutputs creates the sinks the config enables.
func (e *env) buildOutputs(cfg *config.Config) (*output.Outputs, error) {
	f := output.DefaultFormatter()
	f.JSON = cfg.JSONOutput
	f.IncludeOutput = cfg.JSONIncludeOutputProperty
	f.IncludeTags = cfg.JSONIncludeTagsProperty
	f.IncludeMessage = cfg.JSONIncludeMessageProperty
	f.IncludeFields = cfg.JSONIncludeOutputFieldsProperty
	f.ISO8601 = cfg.TimeFormatISO8601

	var sinks []output.Sink
	if cfg.StdoutOutput.Enabled {
		sinks = append(sinks, output.NewWriter("stdout", e.stdout, cfg.BufferedOutputs))
	}
	if cfg.FileOutput.Enabled {
		s, err := output.NewFile(cfg.FileOutput.Filename, &output.FileOptions{KeepAlive: cfg.FileOutput.KeepAlive, Buffered: cfg.BufferedOutputs})
		if err != nil {
			return nil, fmt.Errorf("file_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if h := cfg.HTTPOutput; h.Enabled {
		s, err := output.NewHTTP(h.URL, &output.HTTPOptions{
			// A receiver that is down holds the alerts in the sink's
			// bounded queue until it is back (or Vigil stops): retry
			// until then, with backoff up to 5 s. Only what overflows
			// the queue is lost, and counted.
			Attempts: untilDelivered,
			JSON:     cfg.JSONOutput, UserAgent: h.UserAgent, Insecure: h.Insecure,
			CACert: h.CACert, CABundle: h.CABundle, CAPath: h.CAPath,
			MTLS: h.MTLS, ClientCert: h.ClientCert, ClientKey: h.ClientKey,
		})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("http_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if p := cfg.ProgramOutput; p.Enabled {
		s, err := output.NewProgram(p.Program, &output.ProgramOptions{KeepAlive: p.KeepAlive})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("program_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if c := cfg.SyslogOutput; c.Enabled && c.Address == "" && !fileExists("/dev/log") {
		// Falco's default enables syslog; a host without a syslog daemon
		// should not queue every alert for a socket that is not there.
		e.log.Warn("syslog_output: /dev/log does not exist; syslog output is off (set syslog_output.address to use another receiver)")
	} else if c.Enabled {
		s, err := output.NewSyslog(c.Address, &output.SyslogOptions{})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("syslog_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if c := cfg.SlackOutput; c.Enabled {
		s, err := output.NewSlack(c.WebhookURL, &output.SlackOptions{
			MinimumPriority: c.MinimumPriority, Channel: c.Channel, Username: c.Username, IconURL: c.IconURL,
			OutputFormat: c.OutputFormat, HTTP: output.HTTPOptions{Attempts: untilDelivered},
		})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("slack_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if c := cfg.ElasticsearchOutput; c.Enabled {
		s, err := output.NewElasticsearch(c.URL, &output.ElasticsearchOptions{
			Index: c.Index, Username: c.Username, Password: c.Password, APIKey: c.APIKey,
			MinimumPriority: c.MinimumPriority, BatchSize: c.BatchSize, FlushInterval: c.FlushInterval,
			Formatter: f, OnError: func(err error) { e.log.Warn("elasticsearch_output", "err", err) },
			HTTP: output.HTTPOptions{Attempts: untilDelivered, Insecure: c.Insecure, CACert: c.CACert, MTLS: c.ClientCert != "",
				ClientCert: c.ClientCert, ClientKey: c.ClientKey},
		})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("elasticsearch_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if c := cfg.NATSOutput; c.Enabled {
		s, err := output.NewNATS(c.URL, &output.NATSOptions{
			SubjectPrefix: c.SubjectPrefix, MinimumPriority: c.MinimumPriority, Name: "vigil",
			CredentialsFile: c.CredentialsFile, CACert: c.CACert, ClientCert: c.ClientCert, ClientKey: c.ClientKey,
			Formatter: f, OnError: func(err error) { e.log.Warn("nats_output", "err", err) },
		})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("nats_output: %w", err)
		}
		sinks = append(sinks, s)
	}
	if cfg.GRPC.Enabled && cfg.GRPCOutput.Enabled {
		g := cfg.GRPC
		s, err := grpcout.New(&grpcout.Options{
			Address: g.BindAddress, CertChain: g.CertChain, PrivateKey: g.PrivateKey, RootCerts: g.RootCerts,
			Threadiness: g.Threadiness, Formatter: f, ShutdownTimeout: shutdownTimeout / 2, Logger: e.log,
		})
		if err != nil {
			closeSinks(sinks)
			return nil, fmt.Errorf("grpc: %w", err)
		}
		sinks = append(sinks, s)
	}
	if len(sinks) == 0 {
		e.log.Warn("no output is enabled: alerts are counted but not delivered")
	}
	return output.New(sinks, &output.Options{
		Formatter:     f,
		QueueCapacity: cfg.OutputsQueue.Capacity,
		Rate:          cfg.Outputs.Rate,
		MaxBurst:      cfg.Outputs.MaxBurst,
	}), nil
}

// newEngine builds the engine for a rule set under cfg.
func newEngine(rs *rules.Ruleset, cfg *config.Config) *engine.Engine {
	return engine.New(rs.Rules, &engine.Options{MatchAll: cfg.RuleMatching == "all"})
}

// startWebserver starts /healthz, /versions and (when enabled) /metrics,
// before anything else runs, so that a port in use stops Vigil with nothing
// half-started. It returns nil servers when the webserver is disabled.
func (e *env) startWebserver(cfg *config.Config, driverName string) (*webserver.Server, *metrics.Metrics, error) {
	m, err := metrics.New(&metrics.Options{
		Build:             metrics.BuildInfo{Version: version, Commit: commit},
		IncludeEmpty:      cfg.Metrics.IncludeEmptyValues,
		KernelDropsPerCPU: cfg.Metrics.KernelEventCountersPerCPUEnabled,
		Logger:            e.log,
	})
	if err != nil {
		return nil, nil, err
	}
	w := cfg.Webserver
	if !w.Enabled {
		return nil, m, nil
	}
	var handler http.Handler
	if w.PrometheusMetricsEnabled && cfg.Metrics.Enabled {
		handler = m.Handler()
	}
	srv, err := webserver.New(&webserver.Options{
		ListenAddress: w.ListenAddress, ListenPort: w.ListenPort, HealthzPath: w.K8sHealthzEndpoint,
		Metrics: handler, SSLEnabled: w.SSLEnabled, SSLCertificate: w.SSLCertificate,
		Versions: webserver.Versions{Version: version, Commit: commit, EngineVersion: rules.EngineVersion, Driver: driverName},
		Logger:   e.log,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	e.log.Info("webserver listening", "addr", srv.Addr().String(), "metrics", handler != nil)
	return srv, m, nil
}

// driverStats adapts a driver's own counters for the metrics.
func driverStats(drv driver.Driver) func() metrics.DriverStats {
	switch d := drv.(type) {
	case *ebpf.Driver:
		return func() metrics.DriverStats { return metrics.EBPFStats(d.Stats()) }
	case *fanotify.Driver:
		return func() metrics.DriverStats { return metrics.FanotifyStats(d.Stats()) }
	}
	return nil
}

// containerStats adapts the container metadata resolver's counters for
// the metrics.
func containerStats(res *container.Resolver) func() metrics.ContainerStats {
	return func() metrics.ContainerStats {
		st := res.Stats()
		out := metrics.ContainerStats{Found: st.Found, NotFound: st.NotFound, Failed: st.Failed}
		for _, s := range st.Sources {
			out.Runtimes = append(out.Runtimes, metrics.RuntimeState{Source: s.Name, Up: s.Up})
		}
		return out
	}
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// closeSinks closes sinks created before a later one failed.
func closeSinks(sinks []output.Sink) {
	for _, s := range sinks {
		_ = s.Close()
	}
}

// runSensor runs the sensor with opts until SIGINT/SIGTERM, -M, a fatal
// drop policy, or a driver failure. SIGHUP reloads the configuration's rule
// settings and the rules: a broken new rule set is reported and the old one
// keeps running.
func (e *env) runSensor(opts *runOptions) error {
	cfg, err := e.loadConfig(opts)
	if err != nil {
		return err
	}
	rs, err := e.sensorRules(opts, cfg)
	if err != nil {
		return err
	}
	eng := newEngine(rs, cfg)
	e.log.Info("rules loaded", "rules", len(rs.Rules), "enabled", len(rs.Enabled()), "event_types", eng.EventTypes().Len())

	driverName := opts.Driver
	if driverName == "" {
		driverName = cfg.Engine.Kind
	}
	factories := driverFactories()
	if opts.ReplayFile != "" {
		driverName = config.KindReplay
		cfg.Engine.Replay.CaptureFile = opts.ReplayFile
		cfg.Webserver.Enabled = false // a one-shot evaluation serves nothing
	}
	if driverName == config.KindReplay {
		if cfg.Engine.Replay.CaptureFile == "" {
			return usageErrorf("engine.kind=replay needs engine.replay.capture_file")
		}
		factories = []driver.Factory{replay.Factory(cfg.Engine.Replay.CaptureFile, nil)}
	}
	f, skipped, err := driver.Select(driverName, factories)
	for _, s := range skipped {
		e.log.Info("driver skipped", "driver", s.Name, "reason", s.Err.Error())
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	srv, mtr, err := e.startWebserver(cfg, f.Name)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	if srv != nil {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = srv.Close(ctx)
		}()
	}

	var st *state.State
	var res *container.Resolver
	dopts := &driver.Options{EventTypes: eng.EventTypes(), SelfPID: os.Getpid()}
	if f.Name != replay.Name {
		st, err = state.New(nil)
		if err != nil {
			return fmt.Errorf("process state: %w", err)
		}
		if err := st.SeedFromProc(); err != nil {
			e.log.Warn("seeding process state from /proc", "err", err)
		}
		// Container metadata from the runtimes of container_engines, and
		// a container event for every new container.
		res = container.NewResolver(container.SourcesFromConfig(cfg.ContainerEngines), e.log)
		defer res.Close()
		wait := cfg.ContainerEngines.MetadataWait
		if wait == 0 {
			wait = -1 // no wait (the state reads 0 as its default)
		}
		st.SetMetadata(&state.MetadataOptions{Events: true, Wait: wait, Timeout: cfg.ContainerEngines.MetadataTimeout,
			Lookup: func(ctx context.Context, id state.CgroupID, c *driver.Container) error {
				return res.Fill(ctx, id.FullID, id.Type, c)
			}})
		defer st.CloseMetadata()
		// After lost events (a queue overflow), re-read /proc so that the
		// process table is right again. Drivers call this on the goroutine
		// that delivers events, so it does not race with Handle.
		dopts.Resync = func() {
			if err := st.SeedFromProc(); err != nil {
				e.log.Warn("resyncing process state from /proc", "err", err)
			}
		}
	}
	outs, err := e.buildOutputs(cfg)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	// Signals are caught from before the driver starts, so that one sent
	// as soon as "driver started" is logged stops the sensor cleanly; they
	// wait in the channel until the loop below reads them.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	drv, err := f.New(dopts)
	if err != nil {
		_ = outs.Close(context.Background())
		return &exitError{code: exitUsage, err: fmt.Errorf("driver %s: %w", f.Name, err)}
	}
	defer drv.Close()
	why := "requested"
	if driverName == "" || driverName == config.KindAuto {
		why = "first usable driver of auto selection"
	}
	e.log.Info("driver started", "driver", f.Name, "why", why)
	reportUncoverable(e, rs.Enabled(), drv.Coverage(), f.Name)

	var rec *replay.Writer
	if opts.Record != "" {
		file, err := os.OpenFile(opts.Record, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return usageErrorf("--record: %v", err)
		}
		defer file.Close()
		if rec, err = replay.NewWriter(file, &replay.WriterOptions{VigilVersion: version}); err != nil {
			return fmt.Errorf("--record: %w", err)
		}
	}
	hostname, _ := os.Hostname()
	if h := os.Getenv("FALCO_HOSTNAME"); h != "" {
		hostname = h
	}
	scfg := sensor.Config{Driver: drv, State: st, Engine: eng, Outputs: outs, Hostname: hostname, Logger: e.log}
	if rec != nil {
		scfg.Recorder = rec
	}
	sen, err := sensor.New(scfg, rs.Rules)
	if err != nil {
		return err
	}
	src := metrics.Sources{Driver: f.Name, Sensor: sen.Stats, Outputs: outs.Stats, DriverStats: driverStats(drv)}
	if st != nil {
		src.State = st.Stats
	}
	if res != nil {
		src.Containers = containerStats(res)
	}
	mtr.SetSources(src)
	mtr.SetRules(rs.Rules)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				e.reload(opts, sen, mtr, eng.EventTypes())
				continue
			}
			e.log.Info("stopping", "signal", sig.String())
			cancel(nil)
		}
	}()
	if opts.Duration > 0 {
		timer := time.AfterFunc(opts.Duration, func() { cancel(nil) })
		defer timer.Stop()
	}
	if dc, ok := drv.(driver.DropCounter); ok && f.Name != replay.Name {
		policy := sensor.DropPolicy{
			Actions: cfg.SyscallEventDrops.Actions, Threshold: cfg.SyscallEventDrops.Threshold,
			Rate: cfg.SyscallEventDrops.Rate, MaxBurst: cfg.SyscallEventDrops.MaxBurst,
			Simulate: cfg.SyscallEventDrops.SimulateDrops,
		}
		go func() {
			if err := sen.MonitorDrops(ctx, dc.Drops, policy); err != nil {
				cancel(err)
			}
		}()
	}
	if srv != nil {
		srv.SetReady(true)
	}

	runErr := sen.Run(ctx)
	if srv != nil {
		srv.SetReady(false)
	}
	closeErr := drv.Close()
	if rec != nil {
		if err := rec.Close(); err != nil {
			e.log.Error("closing the recording", "err", err)
		}
	}
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancelFlush()
	if err := outs.Close(flushCtx); err != nil {
		e.log.Warn("outputs did not flush", "err", err)
	}
	stats := sen.Stats()
	var drops uint64
	if dc, ok := drv.(driver.DropCounter); ok {
		drops = dc.Drops()
	}
	e.log.Info("sensor stopped", "events", stats.Events, "alerts", stats.Alerts, "drops", drops)
	if cause := context.Cause(ctx); errors.Is(cause, sensor.ErrDropExit) {
		return &exitError{code: exitInvalid, err: cause}
	}
	if runErr != nil {
		return fmt.Errorf("driver %s: %w", f.Name, runErr)
	}
	if closeErr != nil {
		e.log.Warn("closing the driver", "err", closeErr)
	}
	return nil
}

// reload loads the configuration and rules again and hands the new engine
// to the sensor. On any error the running rules stay in place. Settings
// other than the rules' (outputs, driver, webserver) take effect at the
// next start.
func (e *env) reload(opts *runOptions, sen *sensor.Sensor, mtr *metrics.Metrics, running driver.EventTypeSet) {
	e.log.Info("reloading configuration and rules")
	cfg, err := e.loadConfig(opts)
	if err == nil {
		var rs *rules.Ruleset
		if rs, err = e.sensorRules(opts, cfg); err == nil {
			eng := newEngine(rs, cfg)
			if missing := eng.EventTypes().Intersect(running.Complement()); !missing.Empty() {
				e.log.Warn("the new rules need event types the driver does not deliver; restart Vigil for them",
					"event_types", missing.String())
			}
			sen.SetRules(eng, rs.Rules)
			mtr.SetRules(rs.Rules)
			mtr.RecordReload(true)
			e.log.Info("reloaded", "rules", len(rs.Rules), "enabled", len(rs.Enabled()))
			return
		}
	}
	mtr.RecordReload(false)
	if errors.Is(err, errInvalid) {
		err = errors.New("the rules did not load (errors above)")
	}
	e.log.Error("reload failed; the previous rules keep running", "err", err)
}

// reportUncoverable logs the enabled rules that cannot fire on the active
// driver, and why; at debug level, those that fire without some of the
// fields their condition uses.
func reportUncoverable(e *env, enabled []*engine.Rule, cov driver.Coverage, name string) {
	n := 0
	for _, r := range enabled {
		rc := reach(r, cov)
		switch {
		case !rc.Fires:
			n++
			e.log.Warn("rule cannot fire on this driver", "driver", name, "rule", r.Name, "why", rc.Why(name))
		case len(rc.Without) > 0:
			e.log.Debug("rule fires without some of its fields on this driver", "driver", name, "rule", r.Name,
				"without", strings.Join(rc.Without, ", "))
		}
	}
	if n > 0 {
		e.log.Warn("rules that cannot fire on this driver", "driver", name, "count", n,
			"see", "vigil list rules --driver "+name)
	}
}
