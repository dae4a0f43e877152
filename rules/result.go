package rules

import (
	"fmt"
	"strings"
)

// Error codes, as Falco names them (falco_load_result.h). An error makes the
// load fail.
const (
	ErrFileRead         = "LOAD_ERR_FILE_READ"
	ErrYAMLParse        = "LOAD_ERR_YAML_PARSE"
	ErrYAMLValidate     = "LOAD_ERR_YAML_VALIDATE"
	ErrCompileCondition = "LOAD_ERR_COMPILE_CONDITION"
	ErrCompileOutput    = "LOAD_ERR_COMPILE_OUTPUT"
	ErrValidate         = "LOAD_ERR_VALIDATE"
)

// Warning codes, as Falco names them. Warnings never make the load fail.
const (
	WarnUnknownSource        = "LOAD_UNKNOWN_SOURCE"
	WarnUnsafeNACheck        = "LOAD_UNSAFE_NA_CHECK"
	WarnNoEvtType            = "LOAD_NO_EVTTYPE"
	WarnUnknownFilter        = "LOAD_UNKNOWN_FILTER"
	WarnUnusedMacro          = "LOAD_UNUSED_MACRO"
	WarnUnusedList           = "LOAD_UNUSED_LIST"
	WarnUnknownItem          = "LOAD_UNKNOWN_ITEM"
	WarnDeprecatedItem       = "LOAD_DEPRECATED_ITEM"
	WarnAppendNoValues       = "LOAD_APPEND_NO_VALUES"
	WarnExceptionNameNotUniq = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
	WarnInvalidMacroName     = "LOAD_INVALID_MACRO_NAME"
	WarnInvalidListName      = "LOAD_INVALID_LIST_NAME"
	WarnCompileCondition     = "LOAD_COMPILE_CONDITION"
	WarnUnknownKey           = "LOAD_UNKNOWN_KEY"
	// WarnPluginRequirement is Vigil's own code: a rules file requires a
	// plugin that Vigil does not provide (Falco would refuse to start).
	WarnPluginRequirement = "LOAD_UNSATISFIED_PLUGIN_REQUIREMENT"
)

// Item types used in Message.ItemType.
const (
	ItemList                   = "list"
	ItemMacro                  = "macro"
	ItemRule                   = "rule"
	ItemRequiredEngineVersion  = "required_engine_version"
	ItemRequiredPluginVersions = "required_plugin_versions"
	ItemContent                = "rules content item"
)

// Message is one error or warning produced while loading rules.
type Message struct {
	// Code is Falco's code, e.g. LOAD_ERR_COMPILE_CONDITION or
	// LOAD_UNUSED_MACRO (see the Err* and Warn* constants).
	Code string
	// Message is the text, using Falco's wording where Falco has one.
	Message string
	// File, Line and Col locate the problem (1-based; Col counts bytes).
	File      string
	Line, Col int
	// ItemType ("rule", "macro", "list", ...) and ItemName name the item
	// the problem belongs to; both are empty for file-level problems.
	ItemType, ItemName string
}

// String formats the message as "file:line:col: rule 'Foo': text".
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", m.File, m.Line, m.Col)
	switch {
	case m.ItemType != "" && m.ItemName != "":
		fmt.Fprintf(&b, "%s '%s': ", m.ItemType, m.ItemName)
	case m.ItemType != "":
		fmt.Fprintf(&b, "%s: ", m.ItemType)
	}
	b.WriteString(m.Message)
	return b.String()
}

// Result collects the errors and warnings of a load, in the order they were
// found.
type Result struct {
	Errors   []Message
	Warnings []Message
}

// OK reports whether the load produced no errors.
func (r *Result) OK() bool { return len(r.Errors) == 0 }

// Err returns nil when the load succeeded, and otherwise an error listing
// every error message, one per line.
func (r *Result) Err() error {
	if r.OK() {
		return nil
	}
	lines := make([]string, len(r.Errors))
	for i, m := range r.Errors {
		lines[i] = m.String()
	}
	return fmt.Errorf("loading rules: %d error(s):\n%s", len(r.Errors), strings.Join(lines, "\n"))
}

// item identifies the item a message belongs to, with its position.
type item struct {
	typ, name string
	at        loc
}

func (r *Result) errorf(code string, it item, at loc, format string, args ...any) {
	r.Errors = append(r.Errors, newMessage(code, it, at, fmt.Sprintf(format, args...)))
}

func (r *Result) warnf(code string, it item, at loc, format string, args ...any) {
	r.Warnings = append(r.Warnings, newMessage(code, it, at, fmt.Sprintf(format, args...)))
}

func newMessage(code string, it item, at loc, text string) Message {
	if at.file == "" {
		at = it.at
	}
	if at.line == 0 {
		at.line, at.col = 1, 1
	}
	if at.col == 0 {
		at.col = 1
	}
	return Message{Code: code, Message: text, File: at.file, Line: at.line, Col: at.col, ItemType: it.typ, ItemName: it.name}
}

// loc is a position in a rules file.
type loc struct {
	file      string
	line, col int
}
