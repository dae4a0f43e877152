package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/ptrace"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/sensor"
	"github.com/vigilsec/vigil/state"
)

// exitNotFound is the exit status for a command that cannot be found, as
// shells use it.
const exitNotFound = 127

func (e *env) traceCommand() *cli.Command {
	return &cli.Command{
		Name:      "trace",
		Usage:     "run a command under ptrace and evaluate the rules on what it and its descendants do",
		ArgsUsage: "[--] CMD [ARGS...]",
		Description: "The command runs with a seccomp filter that stops it only on the syscalls the loaded\n" +
			"rules need; alerts are written like `vigil run` writes them. vigil exits with the command's\n" +
			"exit status (128+N when signal N killed it) once the command and every process it started\n" +
			"have exited. No privileges are needed. SIGINT is left to the command (a terminal sends it\n" +
			"there too); SIGTERM or SIGHUP kill the traced processes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "c", Usage: "configuration `FILE` (falco.yaml-compatible; default: the embedded defaults)"},
			rulesFlag(),
			&cli.StringSliceFlag{Name: "o", Aliases: []string{"option"}, Usage: "override a configuration `KEY=VALUE`; repeatable"},
			&cli.BoolFlag{Name: "json", Usage: "write alerts as JSON (same as -o json_output=true)"},
		},
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			argv := c.Args().Slice()
			if len(argv) == 0 {
				return usageErrorf("trace: no command (usage: vigil trace [flags] -- CMD [ARGS...])")
			}
			opts, err := parseRunOptions(c)
			if err != nil {
				return err
			}
			return e.trace(opts, argv)
		},
	}
}

// trace runs argv under the ptrace driver with the sensor's rules, outputs
// and process state, and returns an error carrying the command's exit
// status.
func (e *env) trace(opts *runOptions, argv []string) error {
	cfg, err := e.loadConfig(opts)
	if err != nil {
		return err
	}
	rs, err := e.sensorRules(opts, cfg)
	if err != nil {
		return err
	}
	eng := engine.New(rs.Rules, &engine.Options{MatchAll: cfg.RuleMatching == "all"})
	e.log.Info("rules loaded", "rules", len(rs.Rules), "enabled", len(rs.Enabled()), "event_types", eng.EventTypes().Len())

	st, err := state.New(nil)
	if err != nil {
		return fmt.Errorf("process state: %w", err)
	}
	if err := st.SeedFromProc(); err != nil {
		e.log.Warn("seeding process state from /proc", "err", err)
	}
	dopts := &driver.Options{EventTypes: eng.EventTypes(), SelfPID: os.Getpid()}
	drv, err := ptrace.New(dopts, argv, nil)
	if err != nil {
		code := exitUsage
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = exitNotFound
		}
		return &exitError{code: code, err: fmt.Errorf("trace: %w", err)}
	}
	defer drv.Close()
	reportUncoverable(e, rs.Enabled(), drv.Coverage(), drv.Name())

	outs, err := e.buildOutputs(cfg)
	if err != nil {
		return usageErrorf("%v", err)
	}
	hostname, _ := os.Hostname()
	if h := os.Getenv("FALCO_HOSTNAME"); h != "" {
		hostname = h
	}
	sen, err := sensor.New(sensor.Config{Driver: drv, State: st, Engine: eng, Outputs: outs, Hostname: hostname, Logger: e.log}, rs.Rules)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// SIGINT reaches the command from the terminal as well: the command
	// decides, and vigil follows it to its end. Catching the signal (rather
	// than ignoring it) keeps the command's own disposition the default.
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	defer signal.Stop(sigint)

	runErr := sen.Run(ctx)
	drv.Close()
	flushCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := outs.Close(flushCtx); err != nil {
		e.log.Warn("outputs did not flush", "err", err)
	}
	stats := sen.Stats()
	code := drv.ExitCode()
	e.log.Info("trace finished", "events", stats.Events, "alerts", stats.Alerts, "exit_code", code)
	if runErr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("driver %s: %w", drv.Name(), runErr)}
	}
	if code < 0 {
		return &exitError{code: exitUsage, err: errors.New("trace: the command's exit status is unknown")}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
