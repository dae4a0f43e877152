// Package engine compiles Falco conditions and output templates into
// evaluators, indexes rules by event type and matches events against them.
//
// Conditions arrive as syntax trees from package parse (with macros and lists
// already expanded by package rules); fields come from package fields.
package engine

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/parse"
)

// Priority is a rule's severity, from PriorityEmergency (0, most severe) to
// PriorityDebug (7), numbered as Falco numbers them.
type Priority int

// Rule priorities.
const (
	PriorityEmergency Priority = iota
	PriorityAlert
	PriorityCritical
	PriorityError
	PriorityWarning
	PriorityNotice
	PriorityInformational
	PriorityDebug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns Falco's spelling of the priority ("Warning", "Informational").
func (p Priority) String() string {
	if p >= 0 && int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// ParsePriority parses a priority name case-insensitively; "info" is an
// alias of "informational". It returns an error for any other name.
func ParsePriority(s string) (Priority, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if l == "info" {
		return PriorityInformational, nil
	}
	for i, n := range priorityNames {
		if strings.ToLower(n) == l {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("invalid priority %q (want one of emergency, alert, critical, error, warning, notice, informational, info, debug)", s)
}

// Rule is a loaded, compiled rule.
type Rule struct {
	Name     string
	Desc     string
	Priority Priority
	Tags     []string
	Source   string // "syscall" for every rule Vigil runs
	Enabled  bool

	// Condition is the rule's condition after list, macro and exception
	// expansion; its String() is Falco's compiled condition text.
	Condition parse.Expr
	// Output is the output template as written (trimmed).
	Output string

	// EventTypes is the set of event types the condition can match.
	EventTypes driver.EventTypeSet

	Filter *Filter
	Format *Format
	// Extra are additional named fields for JSON output_fields, each a
	// template (Falco's append_output extra_fields).
	Extra []OutputField
}

// OutputField is a named output template.
type OutputField struct {
	Key    string
	Format *Format
}
