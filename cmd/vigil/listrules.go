package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/driver"
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
	Fires      *bool    `json:"fires,omitempty"` // with --driver: whether it can fire there
	Why        string   `json:"why,omitempty"`   // why it cannot
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
	return e.listRulesFor(paths, "", asJSON)
}

// listRulesFor prints the rules loaded from paths and, when driverName is
// set, whether each can fire on that driver and why not.
func (e *env) listRulesFor(paths []string, driverName string, asJSON bool) error {
	rs, err := e.loadRules(paths)
	if err != nil {
		return err
	}
	var cov *driver.Coverage
	if driverName != "" {
		for _, f := range driverFactories() {
			if f.Name == driverName && f.Coverage != nil {
				c := f.Coverage()
				cov = &c
			}
		}
		if cov == nil {
			return usageErrorf("list rules: unknown driver %q", driverName)
		}
	}
	if asJSON {
		list := make([]jsonRule, 0, len(rs.Rules))
		for _, r := range rs.Rules {
			j := ruleJSON(r, false)
			if cov != nil {
				why := uncoverable(r, *cov, driverName)
				j.Fires, j.Why = new(why == ""), why
			}
			list = append(list, j)
		}
		return writeJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	header := "RULE\tPRIORITY\tENABLED\tTAGS\tEVENT TYPES"
	if cov != nil {
		header += "\tON " + strings.ToUpper(driverName)
	}
	fmt.Fprintln(tw, header)
	for _, r := range rs.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s", r.Name, r.Priority, r.Enabled,
			commaList(r.Tags), commaList(r.EventTypes.Names()))
		if cov != nil {
			if why := uncoverable(r, *cov, driverName); why != "" {
				fmt.Fprintf(tw, "\tcannot fire: %s", why)
			} else {
				fmt.Fprint(tw, "\tcan fire")
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// sensorEvents are the event types the sensor itself adds to every
// driver's: container events come from the state layer's container
// metadata, whatever the driver.
var sensorEvents = driver.NewEventTypeSet(driver.MustEventType("container"))

// uncoverable says why r cannot fire on a driver with coverage cov, or ""
// when it can: neither the driver nor the sensor produces any of the
// rule's event types.
func uncoverable(r *engine.Rule, cov driver.Coverage, name string) string {
	if r.EventTypes.Intersect(cov.Events.Union(sensorEvents)).Empty() {
		return "needs " + r.EventTypes.String() + " events, which " + name + " does not produce"
	}
	return ""
}
