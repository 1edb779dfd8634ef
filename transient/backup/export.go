package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/borgrun/borgrun/transient"
)

// ExportOptions configure [Export].
type ExportOptions struct {
	// ReadFile reads a file on the manager's machine (the unit's fragment
	// and drop-ins). nil means os.ReadFile: the manager runs here.
	ReadFile func(path string) ([]byte, error)
	// Generator names the program in the files' header comment, e.g.
	// "borgrun 0.1.0".
	Generator string
	// User says the manager is a user manager: the header's instructions
	// then use systemctl --user and ~/.config/systemd/user.
	User bool
}

// UnitFile is one exported unit file.
type UnitFile struct {
	Name   string // file name, e.g. "borgrun-nightly.timer"
	Source string // the transient unit's fragment it was made from
	Text   string // the file's content
}

// Exported is a scheduled job's timer and service as unit files, and
// the units of its hooks, which the service names in OnFailure= or
// OnSuccess= (none if it has none).
type Exported struct {
	Name           string
	Timer, Service UnitFile
	Hooks          []UnitFile
}

// Files returns every file of x: the service, its hooks, the timer.
func (x *Exported) Files() []UnitFile {
	return append(append([]UnitFile{x.Service}, x.Hooks...), x.Timer)
}

// Export returns unit files equivalent to the job's transient timer and
// service, as created by [Schedule]: loaded from disk in their place,
// they give the same units (the same properties in systemctl show, bar
// identity, state and timestamps). The timer gains [Install]
// WantedBy=timers.target, so that enabling it starts it at boot as the
// transient one is started now.
//
// The text is the manager's own, as [transient.Conn.UnitFile] reads and
// corrects it.
//
// A job that is not loaded is ErrNoSuchUnit; units of its names that are
// not a transient pair made by borgrun (for example unit files already
// exported and installed) are ErrNotOurs.
func Export(ctx context.Context, c *transient.Conn, name string, opts ExportOptions) (*Exported, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	b := &Job{Name: name}
	var units [2]*transient.UnitFile
	for i, u := range []string{b.TimerUnit(), b.ServiceUnit()} {
		f, err := c.UnitFile(ctx, u, opts.ReadFile)
		if errors.Is(err, transient.ErrNotTransient) {
			err = fmt.Errorf("backup: job %q: %w (%w)", name, ErrNotOurs, err)
		}
		if err != nil {
			return nil, err
		}
		units[i] = f
	}
	timer, service := units[0], units[1]
	svc, err := c.Properties(ctx, b.ServiceUnit(), transient.ServiceInterface)
	if err != nil {
		return nil, err
	}
	env, _ := svc["Environment"].Value().([]string)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, FingerprintVar+"=") }) {
		return nil, fmt.Errorf("backup: %s: %w (no %s in its environment)", b.ServiceUnit(), ErrNotOurs, FingerprintVar)
	}
	timerText := timer.Text + "\n[Install]\nWantedBy=timers.target\n"
	x := &Exported{
		Name:    name,
		Timer:   UnitFile{Name: b.TimerUnit(), Source: timer.Source, Text: exportHeader(b.TimerUnit(), timer.Source, name, opts) + timerText},
		Service: UnitFile{Name: b.ServiceUnit(), Source: service.Source, Text: exportHeader(b.ServiceUnit(), service.Source, name, opts) + service.Text},
	}
	unit, err := c.Properties(ctx, b.ServiceUnit(), transient.UnitInterface)
	if err != nil {
		return nil, err
	}
	for _, k := range hookKinds {
		hook := HookUnit(b.ServiceUnit(), k)
		if deps, _ := unit[dependencyOf(k)].Value().([]string); !slices.Contains(deps, hook) {
			continue
		}
		f, err := c.UnitFile(ctx, hook, opts.ReadFile)
		if errors.Is(err, transient.ErrNotTransient) {
			err = fmt.Errorf("backup: job %q: %w (%w)", name, ErrNotOurs, err)
		}
		if err != nil {
			return nil, err
		}
		x.Hooks = append(x.Hooks, UnitFile{Name: hook, Source: f.Source, Text: exportHeader(hook, f.Source, name, opts) + f.Text})
	}
	return x, nil
}

// exportHeader is the comment that starts an exported unit file: what it
// is, where it came from, and how to put it in place of the transient pair.
func exportHeader(unit, fragment, name string, opts ExportOptions) string {
	gen := opts.Generator
	if gen == "" {
		gen = "borgrun"
	}
	dir, systemctl, user := "/etc/systemd/system", "systemctl", ""
	if opts.User {
		dir, systemctl, user = "~/.config/systemd/user", "systemctl --user", " --user"
	}
	return "# " + unit + ", exported by " + gen + " from the transient unit\n" +
		"# that \"borgrun schedule\" made (" + fragment + ").\n" +
		"# A snapshot: a later \"borgrun schedule\" does not change it. To use it\n" +
		"# in place of the transient pair, which is gone at the next reboot:\n" +
		"#   borgrun export" + user + " " + name + " --dir " + dir + "\n" +
		"#   borgrun remove" + user + " " + name + "\n" +
		"#   " + systemctl + " daemon-reload && " + systemctl + " start " + UnitPrefix + name + ".timer\n"
}
