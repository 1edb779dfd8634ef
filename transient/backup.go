package transient

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Backup describes a backup job: what to run and how. [Backup.Timer] and
// [Backup.Service] turn it into the properties of the transient units that
// run it; the zero value of every field but Name and Command means "off".
type Backup struct {
	// Name is the job's name; its units are borgrun-NAME.timer and
	// borgrun-NAME.service. See [ValidName].
	Name string
	// Command is the argv to run; Command[0] must be an absolute path.
	Command []string

	// Calendars are OnCalendar specifications for the timer.
	Calendars []string
	// Persistent makes a run missed while the machine was off happen at
	// the next start (Persistent=true).
	Persistent bool
	// RandomizedDelay spreads the start over this span
	// (RandomizedDelaySec=).
	RandomizedDelay time.Duration

	// ACPowerOnly skips a run unless the machine is on AC power
	// (ConditionACPower=true on the service).
	ACPowerOnly bool
	// Inhibitor is the absolute path of systemd-inhibit; when set, the
	// command runs under it, blocking sleep and shutdown while it runs.
	Inhibitor string
}

// UnitPrefix starts the name of every unit borgrun creates.
const UnitPrefix = "borgrun-"

// TimerUnit returns the name of the job's timer.
func (b *Backup) TimerUnit() string { return UnitPrefix + b.Name + ".timer" }

// ServiceUnit returns the name of the job's scheduled service.
func (b *Backup) ServiceUnit() string { return UnitPrefix + b.Name + ".service" }

// NowUnit returns the name of the service that runs the job at once.
func (b *Backup) NowUnit() string { return UnitPrefix + b.Name + "-now.service" }

// ValidName reports whether name can name a job: 1 to 64 ASCII letters,
// digits, '-', '_' and '.', starting with a letter or digit. That keeps
// every derived unit name valid and unescaped.
func ValidName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("name %q: must be 1 to 64 characters", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return fmt.Errorf("name %q: character %q not allowed (use letters, digits, '-', '_', '.'; start with a letter or digit)", name, r)
		}
	}
	return nil
}

func (b *Backup) description() string {
	return "borgrun backup " + b.Name + ": " + strings.Join(b.Command, " ")
}

// Timer returns the timer's properties.
func (b *Backup) Timer() []Property {
	cals := make([]struct{ Base, Spec string }, len(b.Calendars))
	for i, c := range b.Calendars {
		cals[i].Base, cals[i].Spec = "OnCalendar", c
	}
	return []Property{
		prop("Description", b.description()),
		prop("TimersCalendar", cals),
		prop("Persistent", b.Persistent),
		prop("RandomizedDelayUSec", uint64(b.RandomizedDelay/time.Microsecond)),
	}
}

// Service returns the properties of a service that runs the job, with the
// given Type= ("oneshot" for scheduled runs, "exec" for runs that are
// waited on).
func (b *Backup) Service(serviceType string) []Property {
	argv := b.Command
	if b.Inhibitor != "" {
		argv = append([]string{b.Inhibitor,
			"--what=sleep:shutdown", "--mode=block", "--who=borgrun",
			"--why=borgrun backup " + b.Name + " is running"}, b.Command...)
	}
	type execCommand struct {
		Path          string
		Argv          []string
		IgnoreFailure bool
	}
	ps := []Property{
		prop("Description", b.description()),
		prop("Type", serviceType),
		// The journal shows the backup tool's name, not systemd-inhibit's.
		prop("SyslogIdentifier", filepath.Base(b.Command[0])),
		prop("ExecStart", []execCommand{{Path: argv[0], Argv: argv}}),
	}
	if b.ACPowerOnly {
		type condition struct {
			Type            string
			Trigger, Negate bool
			Param           string
		}
		ps = append(ps, prop("Conditions", []condition{{Type: "ConditionACPower", Param: "true"}}))
	}
	return ps
}

func prop(name string, v any) Property {
	return Property{Name: name, Value: dbus.MakeVariant(v)}
}
