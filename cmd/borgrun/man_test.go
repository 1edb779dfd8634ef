package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The man pages render without a warning from man --warnings, one for
// borgrun and one per command, each with every option of the command and
// its help text.
func TestManPages(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("man"); err != nil {
		skipUnlessRequired(t, "man is not installed (make debs: man-db)")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"__man", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("__man: exit %d: %s", code, stderr.String())
	}
	want := []string{"borgrun.1"}
	for _, c := range commands() {
		want = append(want, "borgrun-"+c.name+".1")
	}
	if got := strings.Fields(stdout.String()); !slices.Equal(got, want) {
		t.Fatalf("pages %q, want %q", got, want)
	}
	var list bytes.Buffer
	if code := run(t.Context(), []string{"__man", "--list"}, &list, &stderr); code != 0 || list.String() != stdout.String() {
		t.Errorf("__man --list: exit %d, %q, want %q", code, list.String(), stdout.String())
	}
	for _, page := range want {
		t.Run(page, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, page)
			cmd := exec.CommandContext(t.Context(), "man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
			cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANROFFSEQ=")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil || errb.Len() > 0 {
				t.Fatalf("man --warnings -l %s: %v: %s", page, err, errb.String())
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range []string{".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH EXIT STATUS", ".SH SEE ALSO"} {
				if !bytes.Contains(src, []byte(sec+"\n")) {
					t.Errorf("no %s", sec)
				}
			}
			name := strings.TrimSuffix(strings.TrimPrefix(page, "borgrun-"), ".1")
			c, ok := lookupCommand(name)
			if !ok {
				for _, s := range []string{".SH FILES", ".SH EXAMPLES", ".SH COMMANDS", "128+N"} {
					if !bytes.Contains(src, []byte(s)) {
						t.Errorf("borgrun(1) has no %s", s)
					}
				}
				return
			}
			// One text: the help's second paragraph, as roff.
			paras := strings.Split(c.help, "\n\n")
			if first := strings.Split(paras[1], "\n")[0]; !bytes.Contains(src, []byte(roffLine(strings.TrimSpace(first)))) {
				t.Errorf("the help's %q is not in the page", first)
			}
			if c.flags != nil {
				c.flags().VisitAll(func(f *pflag.Flag) {
					if !bytes.Contains(src, []byte(`\fB\-\-`+roffEscape(f.Name)+`\fR`)) {
						t.Errorf("--%s not in the page", f.Name)
					}
				})
			}
			if strings.Contains(c.help, "\nExamples:\n") && !bytes.Contains(src, []byte(".SH EXAMPLES")) {
				t.Error("no EXAMPLES")
			}
			if (name == "now" || name == "run") && !bytes.Contains(src, []byte("exit status")) {
				t.Error("EXIT STATUS does not give the command's status")
			}
		})
	}
}
