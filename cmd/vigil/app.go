package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitInvalid = 1 // rules failed to load or validate
	exitUsage   = 2 // bad usage, or the feature is not available
)

// env is what every command needs: where to write and the logger.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// exitError carries an exit code. A nil err means the command has already
// reported what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf returns an error that exits with exitUsage.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// errInvalid exits with exitInvalid after the command printed the problems.
var errInvalid = &exitError{code: exitInvalid}

// run runs the CLI with args (args[0] is the program name) and returns the
// process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	e := &env{
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, nil)),
	}
	return e.exitCode(e.newApp().Run(args))
}

// exitCode reports err on stderr (unless already reported) and maps it to an
// exit code. Errors that are not an *exitError come from argument parsing.
func (e *env) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var xe *exitError
	if errors.As(err, &xe) {
		code = xe.code
		err = xe.err
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "vigil: %v\n", err)
	}
	return code
}

func (e *env) newApp() *cli.App {
	return &cli.App{
		Name:  "vigil",
		Usage: "Falco-compatible runtime security sensor",
		Description: "Without a command, vigil runs the sensor (see `vigil run`). The Falco-style flags\n" +
			"-L, -l RULE, --list [SOURCE] and -V FILE do what `list rules`, `describe`,\n" +
			"`list fields` and `validate` do.",
		Version:         version,
		HideVersion:     true, // -v is Falco's verbose flag; --version is ours below
		Writer:          e.stdout,
		ErrWriter:       e.stderr,
		Flags:           rootFlags(),
		Before:          e.setLogger,
		Action:          e.rootAction,
		OnUsageError:    e.usageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // exit codes are decided in run
		HideHelpCommand: true,
		// -o values may hold commas (JSON lists in append_output[]=...);
		// repeat a flag instead of separating values with commas.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			e.runCommand(),
			e.validateCommand(),
			e.listCommand(),
			e.describeCommand(),
			e.versionCommand(),
			e.probeCommand(),
			e.configCommand(),
			e.replayCommand(),
			e.traceCommand(),
		},
	}
}

// rootFlags are the global flags and Falco's flags.
func rootFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log `LEVEL`: debug, info, warn or error"},
		&cli.BoolFlag{Name: "version", Usage: "print the version and exit"},
		&cli.BoolFlag{Name: "L", Usage: "list the loaded rules and exit (like 'list rules')"},
		&cli.StringFlag{Name: "l", Usage: "describe `RULE` and exit (like 'describe')"},
		&cli.GenericFlag{Name: "list", Value: &optionalArg{}, Usage: "list the fields, of `[SOURCE]` if given, and exit (like 'list fields')"},
		&cli.StringSliceFlag{Name: "V", Aliases: []string{"validate"}, Usage: "validate rules `FILE` and exit (like 'validate'); repeatable"},
	}
	return append(flags, runFlags()...)
}

// setLogger installs the logger at the level chosen with --log-level.
func (e *env) setLogger(c *cli.Context) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return usageErrorf("--log-level: %v", err)
	}
	e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	return nil
}

// usageError turns a flag-parsing error into an exitUsage error.
func (e *env) usageError(c *cli.Context, err error, _ bool) error {
	return usageErrorf("%v (see `%s --help`)", err, c.Command.HelpName)
}

// rootAction runs the Falco-style action flags, or else the sensor.
func (e *env) rootAction(c *cli.Context) error {
	opts, err := parseRunOptions(c)
	if err != nil {
		return err
	}
	asJSON, _ := strconv.ParseBool(opts.option("json_output")) // Falco's -o json_output=true
	args, err := positionalArgs(c)
	if err != nil {
		return err
	}
	list := c.Generic("list").(*optionalArg)

	// --list SOURCE is parsed as --list plus a positional argument.
	if list.set && list.value == "" && len(args) == 1 {
		list.value, args = args[0], nil
	}
	if len(args) > 0 {
		return usageErrorf("unknown command or argument %q (see `vigil --help`)", strings.Join(args, " "))
	}

	switch {
	case c.Bool("version"):
		return e.printVersion()
	case list.set:
		return e.listFields(fieldsQuery{source: list.value}, asJSON)
	case len(c.StringSlice("V")) > 0:
		return e.validate(c.StringSlice("V"), asJSON)
	case c.Bool("L"):
		return e.listRules(opts.RulesPaths, asJSON)
	case c.IsSet("l"):
		return e.describe(opts.RulesPaths, c.String("l"), asJSON)
	}
	return e.runSensor(opts)
}

// positionalArgs returns c's arguments. The flag parser stops at the first
// argument, so a flag after it would be taken as a file or rule name; that is
// reported as a usage error instead.
func positionalArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return nil, usageErrorf("flag %s after the arguments: put flags first (see `%s --help`)", a, c.Command.HelpName)
		}
	}
	return args, nil
}

// optionalArg is a flag with an optional value, like Falco's --list
// [SOURCE]: "--list" sets it with no value, "--list=SOURCE" with one.
type optionalArg struct {
	set   bool
	value string
}

func (o *optionalArg) Set(s string) error {
	o.set = true
	if s != "true" {
		o.value = s
	}
	return nil
}

func (o *optionalArg) String() string { return o.value }

// IsBoolFlag lets the flag appear without a value.
func (o *optionalArg) IsBoolFlag() bool { return true }
