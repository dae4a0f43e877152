package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

func (e *env) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(*cli.Context) error {
			return e.printVersion()
		},
	}
}

// printVersion prints "vigil VERSION (commit COMMIT, GOVERSION OS/ARCH)".
func (e *env) printVersion() error {
	_, err := fmt.Fprintf(e.stdout, "vigil %s (commit %s, %s %s/%s)\n",
		version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
