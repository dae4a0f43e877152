package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/rules"
)

// probeResult is one driver's line of `vigil probe`.
type probeResult struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"` // available, not_supported, no_permission, inconclusive
	Reason   string   `json:"reason,omitempty"`
	Summary  string   `json:"summary"`
	Auto     bool     `json:"auto"`
	Events   []string `json:"events"`
	Notes    []string `json:"notes,omitempty"`
	Selected bool     `json:"selected"`
	// Blind lists the enabled default rules that cannot fire on the
	// driver.
	Blind []string `json:"blind_rules"`
	// BlindWhy says, for each rule of Blind, why it cannot fire.
	BlindWhy map[string]string `json:"blind_why,omitempty"`
}

func (e *env) probeCommand() *cli.Command {
	return &cli.Command{
		Name:         "probe",
		Usage:        "say which event drivers can run on this machine, and why the others cannot",
		OnUsageError: e.usageError,
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			return e.probe(driverFactories(), c.Bool("json"))
		},
	}
}

// probeStatus classifies a probe error.
func probeStatus(err error) string {
	switch {
	case err == nil:
		return "available"
	case errors.Is(err, driver.ErrNotSupported):
		return "not_supported"
	case errors.Is(err, driver.ErrPermission):
		return "no_permission"
	}
	return "inconclusive"
}

// probe runs every driver's probe and reports; it fails with exitUsage
// when no driver can run.
func (e *env) probe(factories []driver.Factory, asJSON bool) error {
	var results []probeResult
	var defaults []*engine.Rule
	if rs, res := rules.LoadFiles(rules.DefaultFiles(), nil); res.OK() {
		defaults = rs.Rules
	}
	picked := ""
	for _, f := range factories {
		err := f.Probe()
		r := probeResult{Name: f.Name, Status: probeStatus(err), Summary: f.Summary, Auto: f.Auto, Events: []string{}}
		if err != nil {
			r.Reason = err.Error()
		}
		r.Blind = []string{}
		if f.Coverage != nil {
			cov := f.Coverage()
			r.Events = cov.Events.Names()
			r.Notes = cov.Notes
			for _, rule := range defaults {
				if !rule.Enabled {
					continue
				}
				if why := uncoverable(rule, cov, f.Name); why != "" {
					r.Blind = append(r.Blind, rule.Name)
					if r.BlindWhy == nil {
						r.BlindWhy = map[string]string{}
					}
					r.BlindWhy[rule.Name] = why
				}
			}
		}
		if err == nil && f.Auto && picked == "" {
			picked, r.Selected = f.Name, true
		}
		results = append(results, r)
	}
	if asJSON {
		if err := writeJSON(e.stdout, struct {
			Drivers []probeResult `json:"drivers"`
			Auto    string        `json:"auto"`
		}{results, picked}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DRIVER\tSTATUS\tEVENT TYPES\tDEFAULT RULES BLIND\tREASON")
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.Name, r.Status, len(r.Events), len(r.Blind), orDash(r.Reason))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, r := range results {
			for _, n := range r.Notes {
				fmt.Fprintf(e.stdout, "%s: %s\n", r.Name, n)
			}
			for _, name := range r.Blind {
				fmt.Fprintf(e.stdout, "%s: default rule %q cannot fire: %s\n", r.Name, name, r.BlindWhy[name])
			}
		}
		if picked != "" {
			fmt.Fprintf(e.stdout, "--driver auto picks %s\n", picked)
		}
	}
	if picked == "" {
		return &exitError{code: exitUsage, err: errors.New("no event driver can run on this machine (see the reasons above)")}
	}
	return nil
}
