package main

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/engine"
)

// runOptions are the settings of the sensor (`vigil run` and the root
// command's default action). New sensor flags go in runFlags and here.
type runOptions struct {
	ConfigFile string        // -c: falco.yaml-compatible config (accepted, not read yet)
	RulesPaths []string      // -r: rules files or directories, in order
	Overrides  []override    // -o key=value, in order
	Duration   time.Duration // -M: stop after this long (0: run until stopped)
	Unbuffered bool          // -U: flush every output line
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
		&cli.StringFlag{Name: "c", Usage: "configuration `FILE` (accepted; configuration files are not read yet)"},
		rulesFlag(),
		&cli.StringSliceFlag{Name: "o", Aliases: []string{"option"}, Usage: "override a configuration `KEY=VALUE`; repeatable"},
		&cli.IntFlag{Name: "M", Usage: "stop after `SECONDS`"},
		&cli.BoolFlag{Name: "U", Aliases: []string{"unbuffered"}, Usage: "flush every output line"},
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
	}
	if c.Int("M") < 0 {
		return nil, usageErrorf("-M: negative duration %d", c.Int("M"))
	}
	for _, kv := range c.StringSlice("o") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
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

// errNoDriver is what `vigil run` reports until an event driver exists.
var errNoDriver = errors.New("cannot run the sensor: no event driver is built yet " +
	"(the eBPF and fallback drivers come in later releases); " +
	"`vigil validate`, `vigil list` and `vigil describe` work now")

// runSensor runs the sensor with opts until it stops. For now it loads the
// rules (-r files, or the embedded defaults) and stops: there is no driver.
func (e *env) runSensor(opts *runOptions) error {
	if opts.ConfigFile != "" {
		e.log.Warn("-c is accepted but configuration files are not read yet", "file", opts.ConfigFile)
	}
	e.log.Debug("sensor options", "rules", opts.RulesPaths, "overrides", len(opts.Overrides),
		"duration", opts.Duration, "unbuffered", opts.Unbuffered)
	rs, err := e.loadRules(opts.RulesPaths)
	if err != nil {
		return err
	}
	eng := engine.New(rs.Rules, nil)
	e.log.Info("rules loaded", "rules", len(rs.Rules), "event_types", eng.EventTypes().Len())
	return &exitError{code: exitUsage, err: errNoDriver}
}
