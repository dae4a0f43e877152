package main

import (
	"github.com/urfave/cli/v2"

	"github.com/vigilsec/vigil/config"
)

func (e *env) configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "show the configuration",
		Subcommands: []*cli.Command{{
			Name:  "print",
			Usage: "print Vigil's commented default configuration, or with -c/-o the effective one",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "c", Usage: "configuration `FILE`"},
				&cli.StringSliceFlag{Name: "o", Usage: "override a configuration `KEY=VALUE`; repeatable"},
				&cli.BoolFlag{Name: "show-secrets", Usage: "print passwords, tokens and URLs with credentials instead of <redacted>"},
			},
			OnUsageError: e.usageError,
			Action: func(c *cli.Context) error {
				if c.String("c") == "" && len(c.StringSlice("o")) == 0 {
					_, err := e.stdout.Write(config.DefaultYAML())
					return err
				}
				opts := &runOptions{ConfigFile: c.String("c")}
				for _, kv := range c.StringSlice("o") {
					k, v, _ := cutOverride(kv)
					opts.Overrides = append(opts.Overrides, override{Key: k, Value: v})
				}
				cfg, err := e.loadConfig(opts)
				if err != nil {
					return err
				}
				out, err := config.Marshal(cfg, &config.MarshalOptions{ShowSecrets: c.Bool("show-secrets")})
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(out)
				return err
			},
		}},
	}
}
