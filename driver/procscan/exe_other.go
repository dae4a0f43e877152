//go:build !linux

package procscan

import (
	"errors"

	"github.com/vigilsec/vigil/driver"
)

var errESRCH = errors.New("no such process")

// statExe needs Linux's stat; elsewhere the inode fields stay unavailable.
func statExe(string, *driver.Process) {}
