package config

import "testing"

func BenchmarkParseDefaultYAML(b *testing.B) {
	data := DefaultYAML()
	for b.Loop() {
		if _, _, err := Parse("vigil.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	opts := []string{"json_output=true", "rules_files[]=/x.yaml", `append_output[]={"extra_output":"y"}`}
	for b.Loop() {
		if _, err := Apply(Default(), opts); err != nil {
			b.Fatal(err)
		}
	}
}
