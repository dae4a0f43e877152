package ptrace

import "github.com/vigilsec/vigil/driver"

// Factory returns the driver factory for tracing argv with cfg (nil for
// the defaults). It is never chosen by --driver auto: it needs a command.
func Factory(argv []string, cfg *Config) driver.Factory {
	return driver.Factory{
		Name:     Name,
		Summary:  "ptrace with a seccomp filter, of one command and its descendants (vigil trace)",
		Probe:    Probe,
		Coverage: coverage,
		New: func(opts *driver.Options) (driver.Driver, error) {
			d, err := New(opts, argv, cfg)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
	}
}
