package main

import (
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// runOptions are the settings of the sensor (`vigil run` and the root
// command's default action). New sensor flags go in runFlags and here.
type runOptions struct {
	ConfigFile string        // -c: falco.yaml-compatible config
	RulesPaths []string      // -r: rules files or directories, in order
	Overrides  []override    // -o key=value, in order
	Duration   time.Duration // -M: stop after this long (0: run until stopped)
	Unbuffered bool          // -U: flush every output line
	Driver     string        // --driver: auto or a driver name ("" = engine.kind)
	JSON       bool          // --json: same as -o json_output=true
	Record     string        // --record: write the event stream to this file
	ReplayFile string        // vigil replay FILE: evaluate a recording instead of the kernel
}

// override is one -o key=value.
type override struct {
	Key, Value string
}

// option returns the value of the last -o for key, or "".
func (o *runOptions) option(key string) string {
	for i := len(o.Overrides) - 1; i >= 0; i-- {
		if o.Overrides[i].Key == key {
			return o.Overrides[i].Value
		}
	}
	return ""
}

// runFlags are the sensor's flags, shared by the root command and `run`.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "c", Usage: "configuration `FILE` (falco.yaml-compatible; default: the embedded defaults)"},
		rulesFlag(),
		&cli.StringSliceFlag{Name: "o", Aliases: []string{"option"}, Usage: "override a configuration `KEY=VALUE`; repeatable"},
		&cli.IntFlag{Name: "M", Usage: "stop after `SECONDS`"},
		&cli.BoolFlag{Name: "U", Aliases: []string{"unbuffered"}, Usage: "flush every output line"},
		&cli.StringFlag{Name: "driver", Usage: "event `DRIVER`: auto, ebpf, fanotify, procscan, ptrace (default: engine.kind, auto)"},
		&cli.BoolFlag{Name: "json", Usage: "write alerts as JSON (same as -o json_output=true)"},
		&cli.StringFlag{Name: "record", Usage: "record the event stream to `FILE` (replay it with `vigil replay`)"},
	}
}

// rulesFlag is -r, the rules files or directories to load.
func rulesFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "r", Usage: "load rules from `FILE` or directory; repeatable"}
}

// rulesPaths returns every -r given on the command line, the root command's
// first, so that `vigil -r a.yaml validate -r b.yaml` loads both.
func rulesPaths(c *cli.Context) []string {
	var paths []string
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		ctx := lineage[i]
		if ctx.Command == nil || !slices.Contains(ctx.LocalFlagNames(), "r") {
			continue
		}
		paths = append(paths, ctx.StringSlice("r")...)
	}
	return paths
}

// parseRunOptions reads the sensor's flags from c.
func parseRunOptions(c *cli.Context) (*runOptions, error) {
	opts := &runOptions{
		ConfigFile: c.String("c"),
		RulesPaths: rulesPaths(c),
		Duration:   time.Duration(c.Int("M")) * time.Second,
		Unbuffered: c.Bool("U"),
		Driver:     c.String("driver"),
		JSON:       c.Bool("json"),
		Record:     c.String("record"),
	}
	if c.Int("M") < 0 {
		return nil, usageErrorf("-M: negative duration %d", c.Int("M"))
	}
	for _, kv := range c.StringSlice("o") {
		k, v, ok := cutOverride(kv)
		if !ok {
			return nil, usageErrorf("-o %q: want KEY=VALUE", kv)
		}
		opts.Overrides = append(opts.Overrides, override{Key: k, Value: v})
	}
	return opts, nil
}

func (e *env) runCommand() *cli.Command {
	return &cli.Command{
		Name:         "run",
		Usage:        "run the sensor (the default when no command is given)",
		Flags:        runFlags(),
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("run: unexpected argument %q", c.Args().First())
			}
			opts, err := parseRunOptions(c)
			if err != nil {
				return err
			}
			return e.runSensor(opts)
		},
	}
}

// cutOverride splits a -o KEY=VALUE; ok is false without '=' or a key.
func cutOverride(kv string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(kv, "=")
	return key, value, ok && key != ""
}

func (e *env) replayCommand() *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "evaluate the rules over an event recording (made with `vigil run --record FILE`), with no kernel involved",
		ArgsUsage: "FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "c", Usage: "configuration `FILE`"},
			rulesFlag(),
			&cli.StringSliceFlag{Name: "o", Aliases: []string{"option"}, Usage: "override a configuration `KEY=VALUE`; repeatable"},
			&cli.BoolFlag{Name: "json", Usage: "write alerts as JSON (same as -o json_output=true)"},
		},
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usageErrorf("replay: want exactly one recording FILE")
			}
			opts, err := parseRunOptions(c)
			if err != nil {
				return err
			}
			opts.ReplayFile = args[0]
			return e.runSensor(opts)
		},
	}
}
