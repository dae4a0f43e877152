package config

import (
	"reflect"
	"testing"
)

func TestDefaultYAML(t *testing.T) {
	c, warns, err := Parse("vigil.yaml", DefaultYAML())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("parsed vigil.yaml differs from Default():\n got %+v\nwant %+v", c, want)
	}
}
