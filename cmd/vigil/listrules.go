package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/rules"
)

// loadRules loads the rules files in paths, or the embedded default
// ruleset when paths is empty. Load errors are printed on stderr and turned
// into errInvalid; warnings are logged.
func (e *env) loadRules(paths []string) (*rules.Ruleset, error) {
	var (
		rs  *rules.Ruleset
		res *rules.Result
	)
	if len(paths) == 0 {
		rs, res = rules.LoadFiles(rules.DefaultFiles(), nil)
	} else {
		rs, res = rules.Load(paths, nil)
	}
	for _, w := range res.Warnings {
		e.log.Warn("rules: " + w.String())
	}
	if len(res.Errors) > 0 || rs == nil {
		printMessages(e.stderr, "Errors", res.Errors)
		return nil, errInvalid
	}
	return rs, nil
}

// jsonRule is the JSON form of an engine.Rule.
type jsonRule struct {
	Name       string   `json:"name"`
	Desc       string   `json:"desc,omitempty"`
	Priority   string   `json:"priority"`
	Tags       []string `json:"tags"`
	Source     string   `json:"source"`
	Enabled    bool     `json:"enabled"`
	Condition  string   `json:"condition,omitempty"`
	Output     string   `json:"output,omitempty"`
	EventTypes []string `json:"event_types"`
}

// ruleJSON returns the JSON form of r; details adds desc, condition and
// output.
func ruleJSON(r *engine.Rule, details bool) jsonRule {
	j := jsonRule{
		Name:       r.Name,
		Priority:   r.Priority.String(),
		Tags:       r.Tags,
		Source:     r.Source,
		Enabled:    r.Enabled,
		EventTypes: r.EventTypes.Names(),
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if j.EventTypes == nil {
		j.EventTypes = []string{}
	}
	if details {
		j.Desc = r.Desc
		j.Output = r.Output
		if r.Condition != nil {
			j.Condition = r.Condition.String()
		}
	}
	return j
}

// listRules prints the rules loaded from paths.
func (e *env) listRules(paths []string, asJSON bool) error {
	rs, err := e.loadRules(paths)
	if err != nil {
		return err
	}
	if asJSON {
		list := make([]jsonRule, 0, len(rs.Rules))
		for _, r := range rs.Rules {
			list = append(list, ruleJSON(r, false))
		}
		return writeJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tPRIORITY\tENABLED\tTAGS\tEVENT TYPES")
	for _, r := range rs.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", r.Name, r.Priority, r.Enabled,
			commaList(r.Tags), commaList(r.EventTypes.Names()))
	}
	return tw.Flush()
}
