package main

import (
	"errors"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/ebpf"
	"github.com/vigilsec/vigil/driver/fanotify"
	"github.com/vigilsec/vigil/driver/procscan"
	"github.com/vigilsec/vigil/driver/ptrace"
)

// driverFactories lists the drivers Vigil can build, in the order
// `--driver auto` tries them. ptrace is listed for `vigil probe` and
// `list rules --driver`; it traces one command, so only `vigil trace`
// creates it.
func driverFactories() []driver.Factory {
	pt := ptrace.Factory(nil, nil)
	pt.New = func(*driver.Options) (driver.Driver, error) { return nil, errPtraceNeedsCommand }
	return []driver.Factory{
		ebpf.Factory(),
		fanotify.Factory(),
		procscan.PollFactory(),
		pt,
	}
}

var errPtraceNeedsCommand = errors.New("the ptrace driver traces one command tree: use `vigil trace [flags] -- CMD ARGS...`")
