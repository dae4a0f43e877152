package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func (e *env) describeCommand() *cli.Command {
	return &cli.Command{
		Name:      "describe",
		Usage:     "print a rule's details, its condition as compiled",
		ArgsUsage: "RULE",
		Flags: []cli.Flag{
			rulesFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object"},
		},
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usageErrorf("describe: want one RULE name, got %d arguments", len(args))
			}
			return e.describe(rulesPaths(c), args[0], c.Bool("json"))
		},
	}
}

// describe prints the details of the rule called name, loaded from paths.
func (e *env) describe(paths []string, name string, asJSON bool) error {
	rs, err := e.loadRules(paths)
	if err != nil {
		return err
	}
	for _, r := range rs.Rules {
		if r.Name != name {
			continue
		}
		j := ruleJSON(r, true)
		if asJSON {
			return writeJSON(e.stdout, j)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 1, ' ', 0)
		for _, kv := range [][2]string{
			{"Rule", j.Name},
			{"Description", orDash(oneLine(j.Desc))},
			{"Priority", j.Priority},
			{"Tags", commaList(j.Tags)},
			{"Source", j.Source},
			{"Enabled", fmt.Sprint(j.Enabled)},
			{"Condition", orDash(j.Condition)},
			{"Output", orDash(strings.TrimSpace(j.Output))},
			{"Event types", commaList(j.EventTypes)},
		} {
			fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
		}
		return tw.Flush()
	}
	from := "the default rules"
	if len(paths) > 0 {
		from = strings.Join(paths, ", ")
	}
	return usageErrorf("describe: no rule named %q in %s", name, from)
}
