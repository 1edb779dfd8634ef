package main

import (
	"strings"

	"github.com/spf13/pflag"
)

// command is one of borgrun's commands as the renderings beside --help see
// it: the man pages and the shell completions. Its help is the very text
// "borgrun help NAME" prints, and its flags the very flag set it parses.
type command struct {
	name string
	help string
	// flags returns the command's flag set; nil for run, whose options are
	// systemd-run's (runOptions), and for commands without options.
	flags func() *pflag.FlagSet
}

// commands lists borgrun's commands in the order the usage lists them.
// Hidden commands (__complete, man) are not in it.
func commands() []command {
	return []command{
		{name: "schedule", help: scheduleHelp, flags: func() *pflag.FlagSet { fs, _ := newScheduleFlags(); return fs }},
		{name: "now", help: nowHelp, flags: func() *pflag.FlagSet { fs, _ := newNowFlags(); return fs }},
		{name: "list", help: listHelp, flags: func() *pflag.FlagSet { fs, _ := newListFlags(); return fs }},
		{name: "check", help: checkHelp, flags: func() *pflag.FlagSet { fs, _ := newCheckFlags(); return fs }},
		{name: "logs", help: logsHelp, flags: func() *pflag.FlagSet { fs, _ := newLogsFlags(); return fs }},
		{name: "remove", help: removeHelp, flags: func() *pflag.FlagSet { fs, _ := newRemoveFlags(); return fs }},
		{name: "export", help: exportHelp, flags: func() *pflag.FlagSet { fs, _ := newExportFlags(); return fs }},
		{name: "run", help: runHelp},
		{name: "completion", help: completionHelp},
		{name: "help", help: helpHelp},
	}
}

// jobArgCommands are the commands whose arguments are job names.
var jobArgCommands = map[string]bool{"remove": true, "export": true, "logs": true, "check": true}

// lookupCommand returns the command called name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

const helpHelp = `Usage: borgrun help [COMMAND]

Prints borgrun's usage, or COMMAND's usage, options and examples.

Examples:
  borgrun help
  borgrun help schedule
`

// summary returns the one-line description the usage gives name, as in
// "borgrun schedule [options] ...   run COMMAND on a timer".
func summary(name string) string {
	for _, l := range strings.Split(usage, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "borgrun "+name+" ")
		if !ok {
			continue
		}
		if i := strings.Index(rest, "   "); i >= 0 {
			return strings.TrimSpace(rest[i:])
		}
	}
	return ""
}
