package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/engine/fields"
)

func (e *env) listCommand() *cli.Command {
	return &cli.Command{
		Name:         "list",
		Usage:        "list fields or rules",
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("list: unknown topic %q (want fields or rules)", c.Args().First())
			}
			return usageErrorf("list: want a topic: `vigil list fields` or `vigil list rules`")
		},
		Subcommands: []*cli.Command{
			{
				Name:  "fields",
				Usage: "list the fields that conditions and outputs can use",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
					&cli.StringFlag{Name: "class", Usage: "only the fields of `CLASS` (evt, proc, fd, ...)"},
				},
				OnUsageError: e.usageError,
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageErrorf("list fields: unexpected argument %q", c.Args().First())
					}
					return e.listFields(fieldsQuery{class: c.String("class")}, c.Bool("json"))
				},
			},
			{
				Name:  "rules",
				Usage: "list the rules loaded from -r files (default: the embedded rules)",
				Flags: []cli.Flag{
					rulesFlag(),
					&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
					&cli.StringFlag{Name: "driver", Usage: "also say whether each rule can fire on `DRIVER` (ebpf, fanotify, procscan, ptrace)"},
				},
				OnUsageError: e.usageError,
				Action: func(c *cli.Context) error {
					args, err := positionalArgs(c)
					if err != nil {
						return err
					}
					return e.listRulesFor(append(rulesPaths(c), args...), c.String("driver"), c.Bool("json"))
				},
			},
		},
	}
}

// fieldsQuery selects the fields to list.
type fieldsQuery struct {
	source string // Falco event source; "" or "syscall"
	class  string // "" for every class
}

// jsonField is the JSON form of a fields.Field.
type jsonField struct {
	Name  string   `json:"name"`
	Class string   `json:"class"`
	Type  string   `json:"type"`
	Flags []string `json:"flags"`
	Desc  string   `json:"description"`
}

// listFields prints the field catalogue.
func (e *env) listFields(q fieldsQuery, asJSON bool) error {
	if q.source != "" && q.source != "syscall" {
		return usageErrorf("unknown event source %q (vigil has only \"syscall\")", q.source)
	}
	var list []jsonField
	for _, f := range fields.Default().All() {
		if q.class != "" && f.Class != q.class {
			continue
		}
		list = append(list, jsonField{
			Name:  f.Name,
			Class: f.Class,
			Type:  f.Type.String(),
			Flags: flagNames(f.Flags),
			Desc:  f.Desc,
		})
	}
	if q.class != "" && len(list) == 0 {
		return usageErrorf("list fields: no fields in class %q", q.class)
	}
	if asJSON {
		if list == nil {
			list = []jsonField{}
		}
		return writeJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tFLAGS\tDESCRIPTION")
	for _, f := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Type, commaList(f.Flags), oneLine(f.Desc))
	}
	return tw.Flush()
}

// fieldFlagNames names the field flags, in bit order.
var fieldFlagNames = []struct {
	flag fields.Flags
	name string
}{
	{fields.ArgRequired, "arg_required"},
	{fields.ArgAllowed, "arg_allowed"},
	{fields.ArgIndex, "arg_index"},
	{fields.NoRHS, "no_rhs"},
	{fields.NoTransform, "no_transform"},
	{fields.List, "list"},
	{fields.Any, "any"},
	{fields.Deprecated, "deprecated"},
	{fields.FilterOnly, "filter_only"},
	{fields.PrintOnly, "print_only"},
	{fields.TableOnly, "table_only"},
}

// flagNames returns the names of the flags set in f (never nil).
func flagNames(f fields.Flags) []string {
	names := []string{}
	for _, fl := range fieldFlagNames {
		if f&fl.flag != 0 {
			names = append(names, fl.name)
		}
	}
	return names
}

// oneLine collapses runs of white space, newlines included, into one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
