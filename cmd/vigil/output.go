package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vigilsec/vigil/rules"
)

// writeJSON writes v to w as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// printMessages writes a heading ("Errors:") and then one line per message,
// "file:line:col: item: message". It writes nothing when msgs is empty.
func printMessages(w io.Writer, heading string, msgs []rules.Message) {
	if len(msgs) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", heading)
	for _, m := range msgs {
		fmt.Fprintf(w, "  %s\n", m.String())
	}
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// commaList joins s with ", ", or returns "-" when s is empty.
func commaList(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
