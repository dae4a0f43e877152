package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/engine/fields"
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
	Fires      *bool    `json:"fires,omitempty"`   // with --driver: whether it can fire there
	Why        string   `json:"why,omitempty"`     // why it cannot
	Without    []string `json:"without,omitempty"` // fields it fires without there
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
				rc := reach(r, *cov)
				j.Fires, j.Why, j.Without = new(rc.Fires), rc.Why(driverName), rc.Without
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
			switch rc := reach(r, *cov); {
			case !rc.Fires:
				fmt.Fprintf(tw, "\tcannot fire: %s", rc.Why(driverName))
			case len(rc.Without) > 0:
				fmt.Fprintf(tw, "\tcan fire, without %s", strings.Join(rc.Without, ", "))
			default:
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

// allContainerFields are the container availability bits; container
// metadata comes from the state layer and the runtimes, whatever the
// driver.
const allContainerFields = driver.ContHasID | driver.ContHasName | driver.ContHasImage |
	driver.ContHasImageID | driver.ContHasType | driver.ContHasPrivileged | driver.ContHasMounts |
	driver.ContHasStart | driver.ContHasK8s | driver.ContHasHostNS | driver.ContHasUser | driver.ContHasIP

// sensorCoverage returns a driver's coverage with what the sensor adds to
// every driver's events: container events and metadata, and the user,
// group and login names the state layer looks up from the ids the driver
// reports.
func sensorCoverage(cov driver.Coverage) driver.Coverage {
	cov.Events = cov.Events.Union(sensorEvents)
	cov.ContainerFields |= allContainerFields
	if cov.ProcFields.Has(driver.ProcHasUser) {
		cov.ProcFields |= driver.ProcHasUserName | driver.ProcHasGroupName
	}
	if cov.ProcFields.Has(driver.ProcHasLoginUID) {
		cov.ProcFields |= driver.ProcHasLoginName
	}
	if cov.Fields.Has(driver.HasUID) {
		cov.Fields |= driver.HasUIDName
	}
	return cov
}

// reach works out whether r can fire on a driver with coverage cov (the
// sensor's additions included).
func reach(r *engine.Rule, cov driver.Coverage) engine.Reach {
	return r.Reach(sensorCoverage(cov), fields.Default())
}

// uncoverable says why r cannot fire on the driver named name with
// coverage cov, or "" when it can: the driver produces none of the rule's
// event types ("needs init_module events, which procscan does not
// produce"), or leaves unavailable fields without which the condition
// never holds ("needs evt.arg.flags, unavailable on procscan").
func uncoverable(r *engine.Rule, cov driver.Coverage, name string) string {
	return reach(r, cov).Why(name)
}
