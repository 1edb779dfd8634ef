package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// repoRoot returns the repository's top directory (this package is
// cmd/borgrun).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

// makeIn runs make in the repository with args and fails t if it fails.
func makeIn(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		skipUnlessRequired(t, "make is not installed")
	}
	cmd := exec.CommandContext(t.Context(), "make", append([]string{"--no-print-directory", "-C", repoRoot(t)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// regularFiles lists the regular files under dir, relative to it.
func regularFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// make install puts the binary, the man pages and the completions where
// PREFIX and DESTDIR say, and make uninstall removes exactly those.
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	out, dest := t.TempDir(), t.TempDir()
	// Something that was there before and must stay.
	if err := os.MkdirAll(dest+"/usr/share/man/man1", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dest+"/usr/share/man/man1/borgmatic.1", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	makeIn(t, "install", "OUT="+out, "DESTDIR="+dest, "PREFIX=/usr")
	want := []string{
		"usr/bin/borgrun",
		"usr/share/bash-completion/completions/borgrun",
		"usr/share/fish/vendor_completions.d/borgrun.fish",
		"usr/share/man/man1/borgmatic.1",
		"usr/share/zsh/vendor-completions/_borgrun",
	}
	for _, p := range manPages() {
		want = append(want, "usr/share/man/man1/"+p.file)
	}
	slices.Sort(want)
	got := regularFiles(t, dest)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("installed %q\nwant %q", got, want)
	}
	if fi, err := os.Stat(dest + "/usr/bin/borgrun"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin/borgrun: %v %v", fi, err)
	}
	if b, err := exec.Command("file", dest+"/usr/bin/borgrun").Output(); err == nil && !strings.Contains(string(b), "statically linked") {
		t.Errorf("not static: %s", b)
	}
	makeIn(t, "uninstall", "OUT="+out, "DESTDIR="+dest, "PREFIX=/usr")
	if got := regularFiles(t, dest); !slices.Equal(got, []string{"usr/share/man/man1/borgmatic.1"}) {
		t.Errorf("after uninstall: %q", got)
	}
}

// The package that make deb builds is lintian clean, installs into a
// throwaway Debian 12 and 13 with dpkg -i, schedules a backup there, and
// leaves nothing behind when removed.
func TestDebianPackage(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"dpkg-deb", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipUnlessRequired(t, "%s is not installed", tool)
		}
	}
	if _, err := exec.LookPath("lintian"); err != nil {
		skipUnlessRequired(t, "lintian is not installed (make debs)")
	}
	// Under the test binary's directory, which the sandboxes see.
	out, err := os.MkdirTemp(filepath.Dir(exe), "deb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	log := makeIn(t, "deb", "OUT="+out)
	debs, _ := filepath.Glob(out + "/borgrun_*.deb")
	if len(debs) != 1 {
		t.Fatalf("make deb made %q:\n%s", debs, log)
	}
	deb := debs[0]
	if strings.Contains(log, "\nE: ") || strings.Contains(log, "not checked") {
		t.Errorf("lintian:\n%s", log)
	}
	contents, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"./usr/bin/borgrun", "./usr/share/man/man1/borgrun.1.gz", "./usr/share/man/man1/borgrun-schedule.1.gz",
		"./usr/share/bash-completion/completions/borgrun", "./usr/share/zsh/vendor-completions/_borgrun",
		"./usr/share/fish/vendor_completions.d/borgrun.fish", "./usr/share/doc/borgrun/copyright", "./usr/share/doc/borgrun/changelog.gz"} {
		if !strings.Contains(string(contents), " "+f+"\n") {
			t.Errorf("%s not in the package", f)
		}
	}
	rev, err := exec.Command("git", "-C", repoRoot(t), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}

	for _, suite := range []transienttest.Suite{transienttest.Host, transienttest.Trixie} {
		t.Run(suite.String(), func(t *testing.T) {
			t.Parallel()
			sys := sandbox.GetSuite(t, suite)
			in := func(name string, args ...string) string {
				t.Helper()
				out, err := sys.Output(t.Context(), name, args...)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			in("dpkg", "-i", deb)
			t.Cleanup(func() { sys.Output(context.Background(), "dpkg", "--purge", "borgrun") })
			if v := in("borgrun", "--version"); !strings.Contains(v, "(commit "+strings.TrimSpace(string(rev))) {
				t.Errorf("borgrun --version: %q, want the commit %s", v, rev)
			}
			name := "debpkg"
			t.Cleanup(func() {
				sys.Output(context.Background(), "systemctl", "stop", "borgrun-"+name+".timer", "borgrun-"+name+".service")
			})
			if out := in("borgrun", "schedule", "--daily", "--name", name); !strings.Contains(out, "borgrun-"+name+".timer") {
				t.Errorf("schedule: %q", out)
			}
			if out := in("systemctl", "is-active", "borgrun-"+name+".timer"); strings.TrimSpace(out) != "active" {
				t.Errorf("timer %q", out)
			}
			in("borgrun", "remove", name)
			var installed []string
			for _, f := range strings.Fields(in("dpkg", "-L", "borgrun")) {
				if fi, err := os.Lstat(sys.Root() + f); err == nil && !fi.IsDir() {
					installed = append(installed, f)
				}
			}
			if !slices.Contains(installed, "/usr/share/man/man1/borgrun-schedule.1.gz") {
				t.Errorf("dpkg -L borgrun: %q", installed)
			}
			in("dpkg", "--purge", "borgrun")
			for _, f := range installed {
				if _, err := os.Lstat(sys.Root() + f); err == nil {
					t.Errorf("%s left after dpkg --purge", f)
				}
			}
		})
	}
}
