package main

import (
	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/ebpf"
	"github.com/vigilsec/vigil/driver/fanotify"
	"github.com/vigilsec/vigil/driver/procscan"
)

// driverFactories lists the drivers Vigil can build, in the order
// `--driver auto` tries them.
func driverFactories() []driver.Factory {
	return []driver.Factory{
		ebpf.Factory(),
		fanotify.Factory(),
		procscan.PollFactory(),
	}
}
