package syscalls

import (
	"testing"

	"github.com/vigilsec/vigil/driver"
)

func TestTable(t *testing.T) {
	for nr, want := range map[uint64]string{0: "read", 2: "open", 42: "connect", 59: "execve", 257: "openat", 322: "execveat", 437: "openat2"} {
		if got := Name(nr); got != want {
			t.Errorf("Name(%d) = %q, want %q", nr, got, want)
		}
		if got := Type(nr); got != driver.MustEventType(want) {
			t.Errorf("Type(%d) = %v, want %s", nr, got, want)
		}
	}
	if Type(1<<20) != driver.EventUnknown || Name(1<<20) != "" {
		t.Error("out-of-range numbers must be unknown")
	}
	if Count < 400 {
		t.Errorf("Count = %d: table too short", Count)
	}
}
