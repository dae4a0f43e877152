package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/config"
	"github.com/vigilsec/vigil/rules"
)

func (e *env) validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "load rules files and report their errors and warnings",
		ArgsUsage: "[FILE|DIR]...",
		Description: "Exits 0 when every file loads (warnings allowed), 1 when there are errors.\n" +
			"--json prints {\"rules\":N,\"macros\":M,\"lists\":K,\"warnings\":[...],\"errors\":[...]}.",
		Flags: []cli.Flag{
			rulesFlag(),
			&cli.StringFlag{Name: "c", Usage: "also validate the configuration `FILE`"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		OnUsageError: e.usageError,
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			return e.validateAll(c.String("c"), append(rulesPaths(c), args...), c.Bool("json"))
		},
	}
}

// validateResult is the JSON form of a validation.
type validateResult struct {
	Rules    int           `json:"rules"`
	Macros   int           `json:"macros"`
	Lists    int           `json:"lists"`
	Warnings []jsonMessage `json:"warnings"`
	Errors   []jsonMessage `json:"errors"`
}

// jsonMessage is the JSON form of a rules.Message.
type jsonMessage struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	ItemType string `json:"item_type"`
	ItemName string `json:"item_name"`
}

func jsonMessages(msgs []rules.Message) []jsonMessage {
	out := make([]jsonMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, jsonMessage{
			Code:     m.Code,
			Message:  m.Message,
			File:     m.File,
			Line:     m.Line,
			Column:   m.Col,
			ItemType: m.ItemType,
			ItemName: m.ItemName,
		})
	}
	return out
}

// validate loads the rules files in paths and reports the result. It returns
// errInvalid when there are load errors.
func (e *env) validate(paths []string, asJSON bool) error {
	return e.validateAll("", paths, asJSON)
}

// validateAll validates a configuration file (when cfgPath is set) and
// rules files, and reports both; configuration messages carry the codes
// CONFIG_ERROR and CONFIG_WARNING and the item type "config".
func (e *env) validateAll(cfgPath string, paths []string, asJSON bool) error {
	if len(paths) == 0 && cfgPath == "" {
		return usageErrorf("validate: no rules files given (use -r FILE or FILE arguments, or -c CONFIG)")
	}
	res := &rules.Result{}
	var rs *rules.Ruleset
	if len(paths) > 0 {
		rs, res = rules.Load(paths, nil)
	}
	if cfgPath != "" {
		cfgWarn, cfgErr := configMessages(cfgPath)
		res.Warnings = append(cfgWarn, res.Warnings...)
		res.Errors = append(cfgErr, res.Errors...)
	}
	out := validateResult{Warnings: jsonMessages(res.Warnings), Errors: jsonMessages(res.Errors)}
	if rs != nil {
		out.Rules, out.Macros, out.Lists = len(rs.Rules), len(rs.Macros), len(rs.Lists)
	}

	if asJSON {
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
	} else {
		printMessages(e.stdout, "Errors", res.Errors)
		printMessages(e.stdout, "Warnings", res.Warnings)
		status := "ok"
		if len(res.Errors) > 0 {
			status = "FAILED"
		}
		fmt.Fprintf(e.stdout, "%s: %d rules, %d macros, %d lists; %d errors, %d warnings\n",
			status, out.Rules, out.Macros, out.Lists, len(res.Errors), len(res.Warnings))
	}
	if len(res.Errors) > 0 {
		return errInvalid
	}
	return nil
}

// configMessages loads a configuration file and returns its warnings and
// errors as rules messages, so that validate reports them alike.
func configMessages(path string) (warns, errs []rules.Message) {
	_, ws, err := config.Load(path)
	for _, w := range ws {
		warns = append(warns, rules.Message{Code: "CONFIG_WARNING", Message: w.Msg, File: w.Pos.File, Line: w.Pos.Line, Col: w.Pos.Col, ItemType: "config", ItemName: w.Key})
	}
	for _, one := range splitErrors(err) {
		var ce *config.Error
		if errors.As(one, &ce) {
			errs = append(errs, rules.Message{Code: "CONFIG_ERROR", Message: ce.Msg, File: ce.Pos.File, Line: ce.Pos.Line, Col: ce.Pos.Col, ItemType: "config", ItemName: ce.Key})
			continue
		}
		errs = append(errs, rules.Message{Code: "CONFIG_ERROR", Message: one.Error(), File: path, ItemType: "config"})
	}
	return warns, errs
}

// splitErrors returns the errors joined in err (errors.Join), or err alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
