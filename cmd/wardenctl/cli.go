package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is the collector's version (builder-config.yaml dist.version), set at build time
// by the Makefile: -ldflags "-X main.version=...".
var version string

// buildVersion is version or, in a build without it (go build, go run), the module version Go
// recorded, else "(devel)" with the commit it was built from when Go recorded one.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "(devel)"
	}
	if modified == "true" {
		revision += ", modified"
	}
	return "(devel, commit " + revision + ")"
}

// cli holds what the commands write to and the exit code the command run chose.
type cli struct {
	stdout, stderr io.Writer
	code           int
}

// exitStatusKey is the annotation holding a command's exit status, shown in its help.
const exitStatusKey = "exit_status"

// action is a command's flags and what it does with them.
type action interface {
	// register adds the command's flags.
	register(fs *pflag.FlagSet)
	// run does the command, once its flags are parsed (fs.Args() are its arguments), and
	// returns the exit code.
	run(fs *pflag.FlagSet, stdout, stderr io.Writer) int
}

// leaf makes cmd run a.
func (c *cli) leaf(cmd *cobra.Command, exitStatus string, a action) *cobra.Command {
	a.register(cmd.Flags())
	cmd.Flags().SortFlags = false
	cmd.DisableFlagsInUseLine = true
	cmd.Annotations = map[string]string{exitStatusKey: exitStatus}
	cmd.Run = func(cmd *cobra.Command, _ []string) {
		c.code = a.run(cmd.Flags(), c.stdout, c.stderr)
	}
	return cmd
}

// group makes cmd a command of commands: alone, or with an argument that is not one of
// them, it is a usage error.
func (c *cli) group(cmd *cobra.Command, exitStatus string) *cobra.Command {
	cmd.Annotations = map[string]string{exitStatusKey: exitStatus}
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := unknownCommand(cmd, args); err != nil {
			return err
		}
		return &usageError{cmd: cmd, err: fmt.Errorf("missing command: want one of %s", strings.Join(commandNames(cmd), ", "))}
	}
	return cmd
}

// usageError is a command line that does not say what to do; cmd is the command whose usage
// helps.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// unknownCommand reports the first argument of a group that is not one of its commands,
// with the commands it may have meant.
func unknownCommand(cmd *cobra.Command, args []string) error {
	i := firstArg(args)
	if !cmd.HasAvailableSubCommands() || i < 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[i], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[i]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", strings.Join(s, `" or "`))
	}
	return &usageError{cmd: cmd, err: errors.New(msg)}
}

// firstArg is the index of the first argument of a group's command line that is not a flag,
// or -1. A group's flags take no value.
func firstArg(args []string) int {
	for i, a := range args {
		if a != "--" && (a == "-" || !strings.HasPrefix(a, "-")) {
			return i
		}
	}
	return -1
}

func commandNames(cmd *cobra.Command) []string {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return names
}

// execute runs args on root and returns the exit code.
func (c *cli) execute(root *cobra.Command, args []string) int {
	root.InitDefaultHelpCmd()
	// Never nil: cobra reads os.Args when given nil.
	args = append([]string{}, args...)
	target, rest, err := root.Find(args)
	if i := firstArg(rest); err == nil && target != root && target.HasAvailableSubCommands() && i >= 0 && rest[i] == "help" {
		// wardenctl audit help verify is wardenctl help audit verify.
		path := strings.Fields(target.CommandPath())[1:]
		args = slices.Concat([]string{"help"}, path, rest[:i], rest[i+1:])
		target, rest, err = root.Find(args)
	}
	if err == nil {
		args = longFlags(target, args)
		// Before cobra parses the flags, which would report a flag of the command meant first.
		err = unknownCommand(target, rest)
	}
	if err == nil {
		root.SetArgs(args)
		target, err = root.ExecuteC()
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			target = ue.cmd
		}
		if target == nil {
			target = root
		}
		target.InitDefaultHelpFlag()
		fmt.Fprintf(c.stderr, "%s: %v\n\n%s", target.CommandPath(), err, target.UsageString())
		return exitUsage
	}
	return c.code
}

// longFlags spells -name as --name, as the flag package wardenctl used before accepted:
// pflag reads -name as the short flags -n -a -m -e. Flag values and what follows -- are
// left as they are.
func longFlags(cmd *cobra.Command, args []string) []string {
	out := make([]string, len(args))
	value := false // args[i] is the value of the flag before it
	for i, a := range args {
		out[i] = a
		switch {
		case value:
			value = false
			continue
		case a == "--":
			copy(out[i:], args[i:])
			return out
		case len(a) > 2 && a[0] == '-' && a[1] != '-':
			out[i] = "-" + a
		case !strings.HasPrefix(a, "--"):
			continue
		}
		name, _, inline := strings.Cut(strings.TrimPrefix(out[i], "--"), "=")
		if f := cmd.Flags().Lookup(name); f != nil && !inline && f.NoOptDefVal == "" {
			value = true
		}
	}
	return out
}

// help writes a command's description, usage, flags and exit status.
func (c *cli) help(cmd *cobra.Command, _ []string) {
	w := cmd.OutOrStdout()
	desc := cmd.Long
	if desc == "" {
		desc = cmd.Short
	}
	fmt.Fprintf(w, "%s\n\n%s", strings.TrimRight(desc, " \n"), cmd.UsageString())
	if s := cmd.Annotations[exitStatusKey]; s != "" {
		fmt.Fprintf(w, "\nExit status:\n%s", s)
	}
}

// usage writes a command's synopsis, its commands (every command under a group, by path)
// and its flags.
func usage(cmd *cobra.Command) error {
	w := cmd.OutOrStderr()
	if !cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	} else {
		fmt.Fprintf(w, "Usage:\n  %s COMMAND\n\nCommands:\n", cmd.CommandPath())
		type line struct{ path, short string }
		var lines []line
		var walk func(*cobra.Command)
		walk = func(c *cobra.Command) {
			for _, sub := range c.Commands() {
				switch {
				case sub.HasAvailableSubCommands():
					walk(sub)
				case sub.IsAvailableCommand() || sub.Name() == "help": // cobra hides its help command
					lines = append(lines, line{strings.TrimPrefix(sub.CommandPath(), cmd.CommandPath()+" "), sub.Short})
				}
			}
		}
		walk(cmd)
		width := 0
		for _, l := range lines {
			width = max(width, len(l.path))
		}
		for _, l := range lines {
			fmt.Fprintf(w, "  %-*s  %s\n", width, l.path, l.short)
		}
	}
	if cmd.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", cmd.LocalFlags().FlagUsages())
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nRun \"%s COMMAND --help\" for a command's flags and exit status.\n", cmd.CommandPath())
	}
	return nil
}

// helpCmd is `help [COMMAND]`: the command's help on stdout; an unknown command is a usage
// error.
func (c *cli) helpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Describe a command, its flags and its exit status",
		Long:  "Describe a command (wardenctl help audit verify), its flags and its exit status.",
		Annotations: map[string]string{exitStatusKey: "  0  help printed\n" +
			"  2  an unknown command\n"},
		DisableFlagsInUseLine: true,
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil {
				return err
			}
			if err := unknownCommand(target, rest); err != nil {
				return err
			}
			if len(rest) > 0 {
				return &usageError{cmd: target, err: fmt.Errorf("%q has no command %q", target.CommandPath(), rest[0])}
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	}
}

// versionCmd is `version`, the same as `wardenctl --version`.
func (c *cli) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (the collector's)",
		Long: "Print wardenctl's version, which is the version of the Warden collector it was built with\n" +
			"(builder-config.yaml dist.version). Same as wardenctl --version.",
		Annotations: map[string]string{exitStatusKey: "  0  version printed\n" +
			"  2  an unexpected argument\n"},
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			return nil
		},
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(c.stdout, "%s version %s\n", cmd.Root().Name(), cmd.Root().Version)
		},
	}
}
