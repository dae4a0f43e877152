package fanotify

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

func TestSmoke(t *testing.T) {
	_, c := startDriver(t, nil, nil)
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("x"), 0o644)
	os.ReadFile(p)
	os.Rename(p, p+".2")
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Chmod(p+".2", 0o4755)
	os.Remove(p + ".2")
	exec.Command("/bin/sleep", "0.2").Run()
	time.Sleep(500 * time.Millisecond)
	t.Log("\n" + c.dump(func(ev *driver.Event) bool { return true }))
}
