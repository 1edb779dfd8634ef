package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const exportHelp = `Usage: borgrun export NAME... [--dir DIR] [-H [USER@]HOST[:PORT][/MACHINE] | -M CONTAINER]

Writes unit files equivalent to each job's transient timer and service, so
that the schedule survives a reboot without running "borgrun schedule" at
boot. The files are the manager's own text for the transient units, plus
[Install] WantedBy=timers.target on the timer (systemd 252's Exec*= and
RestrictNamespaces= lines are rewritten from the units' properties, because
it does not read its own version of them back the same).

Without --dir, both files of each job are printed, each after a "# PATH"
line naming the transient file it comes from, as systemctl cat does. With
--dir, DIR/borgrun-NAME.timer and DIR/borgrun-NAME.service are written
(mode 0644, each replaced atomically), and the timer is enabled there as
systemctl enable would: DIR/timers.target.wants/borgrun-NAME.timer ->
../borgrun-NAME.timer. Nothing is written unless every NAME exports.

With one -H or -M, the job is the one on that host or container, its
files are read there (with its cat), and DIR is a directory there.

The files are a snapshot: a later "borgrun schedule" does not change them.
Once they are loaded, schedule, remove and export refuse the job's names
(they are no longer transient units made by borgrun); manage it with
systemctl, or remove the files to go back.

Examples:
  borgrun export nightly                  # show the files
  borgrun export nightly --dir /etc/systemd/system
  borgrun remove nightly                  # then the files take over:
  systemctl daemon-reload && systemctl start borgrun-nightly.timer
  borgrun export --user nightly --dir ~/.config/systemd/user
  borgrun export -M web1 nightly --dir /etc/systemd/system
`

type exportFlags struct {
	dir string
	managerFlags
	hostFlags
}

func newExportFlags() (*pflag.FlagSet, *exportFlags) {
	f := &exportFlags{}
	fs := newFlagSet("export")
	fs.StringVar(&f.dir, "dir", "", "write the files into this existing directory, and enable the timer there")
	addManagerFlags(fs, &f.managerFlags)
	fs.StringArrayVarP(&f.hosts, "host", "H", nil, "export from the system manager of [USER@]HOST[:PORT][/MACHINE] over ssh; --dir is then on that host")
	fs.StringArrayVarP(&f.machines, "machine", "M", nil, "export from the system manager of the local container NAME; --dir is then in the container")
	f.parallel = 1
	return fs, f
}

func (e *env) export(args []string) error {
	fs, f := newExportFlags()
	fs.SetInterspersed(true)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, exportHelp)
		}
		return err
	}
	names := fs.Args()
	if len(names) == 0 {
		return usagef("export: say which schedules: NAME...")
	}
	for _, n := range names {
		if err := backup.ValidName(n); err != nil {
			return usagef("export: %v", err)
		}
	}
	targets, err := parseHosts("export", f.hosts, f.machines, 1, f.user)
	if err != nil {
		return err
	}
	if len(targets) > 1 {
		return usagef("export: give one -H or -M")
	}
	if fs.Changed("dir") && len(targets) == 1 {
		if !filepath.IsAbs(f.dir) {
			return usagef("export: --dir %q: with -H or -M, want an absolute path on %s", f.dir, targets[0])
		}
	} else if fs.Changed("dir") {
		fi, err := os.Stat(f.dir)
		switch {
		case f.dir == "":
			return usagef("export: --dir \"\": want an existing directory")
		case err != nil:
			return usagef("export: --dir %q: want an existing directory: %v", f.dir, errors.Unwrap(err))
		case !fi.IsDir():
			return usagef("export: --dir %q: not a directory", f.dir)
		}
	}
	d := e.dialOptions(f.managerFlags)
	var target *transient.Host
	if len(targets) == 1 {
		target = &targets[0]
		d = e.hostDial(*target)
	}
	c, err := e.connect(d)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := backup.ExportOptions{Generator: "borgrun " + version, User: f.user}
	if target != nil {
		// The unit files are on the target: read them with its cat.
		opts.ReadFile = func(path string) ([]byte, error) {
			var out bytes.Buffer
			if err := target.Run(e.ctx, e.ssh, &out, "cat", "--", path); err != nil {
				return nil, fmt.Errorf("reading %s on %s: %w", path, *target, err)
			}
			return out.Bytes(), nil
		}
	}
	var exported []*backup.Exported
	var errs []error
	for _, n := range names {
		x, err := backup.Export(e.ctx, c, n, opts)
		switch {
		case errors.Is(err, transient.ErrNoSuchUnit):
			errs = append(errs, fmt.Errorf("export: no schedule named %q", n))
		case errors.Is(err, backup.ErrNotOurs):
			errs = append(errs, fmt.Errorf("export: %s: %w", n, err))
		case err != nil:
			errs = append(errs, err)
		default:
			exported = append(exported, x)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !fs.Changed("dir") {
		for i, x := range exported {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "# %s\n%s\n# %s\n%s", x.Timer.Source, x.Timer.Text, x.Service.Source, x.Service.Text)
			for _, h := range x.Hooks {
				fmt.Fprintf(e.stdout, "\n# %s\n%s", h.Source, h.Text)
			}
		}
		return nil
	}
	for _, x := range exported {
		write := writeExport
		if target != nil {
			write = func(dir string, x *backup.Exported) error { return e.writeExportOn(*target, dir, x) }
		}
		if err := write(f.dir, x); err != nil {
			return fmt.Errorf("export: %s: %w", x.Name, err)
		}
		names := []string{x.Timer.Name, x.Service.Name}
		for _, h := range x.Hooks {
			names = append(names, h.Name)
		}
		fmt.Fprintf(e.stdout, "exported %s to %s: %s, %s\n", x.Name, f.dir, strings.Join(names, ", "),
			filepath.Join("timers.target.wants", x.Timer.Name))
	}
	return nil
}

// writeExport writes a job's unit files (timer, service, hooks) into dir and enables the timer
// there (timers.target.wants/NAME -> ../NAME, the link systemctl enable
// makes for WantedBy=timers.target). Each file and the link replace any
// previous one atomically.
func writeExport(dir string, x *backup.Exported) error {
	for _, u := range x.Files() {
		if err := writeFileAtomic(filepath.Join(dir, u.Name), []byte(u.Text), 0o644); err != nil {
			return err
		}
	}
	wants := filepath.Join(dir, "timers.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return symlinkAtomic(filepath.Join("..", x.Timer.Name), filepath.Join(wants, x.Timer.Name))
}

// exportScript writes its standard input to DIR/NAME ($1, $2) through a
// temporary file renamed over it, or with a third argument makes
// DIR/timers.target.wants/NAME a link to it, as writeExport does here.
const exportScript = `test -d "$1" || { echo "--dir $1: not an existing directory" >&2; exit 1; }
if [ $# -eq 3 ]; then
	mkdir -p "$1/timers.target.wants" && ln -s "../$2" "$1/timers.target.wants/.$2.tmp" && exec mv -fT "$1/timers.target.wants/.$2.tmp" "$1/timers.target.wants/$2"
fi
umask 022 && cat > "$1/.$2.tmp" && sync "$1/.$2.tmp" && exec mv -f "$1/.$2.tmp" "$1/$2"`

// writeExportOn is writeExport into dir on h (a host over ssh, or a
// container), with h's own shell tools.
func (e *env) writeExportOn(h transient.Host, dir string, x *backup.Exported) error {
	run := func(stdin string, args ...string) error {
		cmd := h.Command(e.ctx, e.ssh, append([]string{"sh", "-c", exportScript, "sh", dir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			if msg := strings.TrimSpace(string(out)); msg != "" {
				return fmt.Errorf("on %s: %s", h, strings.ReplaceAll(msg, "\n", "; "))
			}
			return fmt.Errorf("on %s: %w", h, err)
		}
		return nil
	}
	for _, u := range x.Files() {
		if err := run(u.Text, u.Name); err != nil {
			return err
		}
	}
	return run("", x.Timer.Name, "link")
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, renamed over path once complete and synced.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// symlinkAtomic makes path a symbolic link to target, replacing whatever
// link or file was there in one rename.
func symlinkAtomic(target, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	tmp.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	if err := os.Symlink(target, name); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
