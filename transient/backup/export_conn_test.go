package backup_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
)

// TestExportReadsThroughReadFile: Export reads the manager's files only
// through ExportOptions.ReadFile. The test runs outside the sandbox, as a
// remote caller would: its own os.ReadFile cannot see the sandbox's /run,
// so the files are read through the sandbox's root.
func TestExportReadsThroughReadFile(t *testing.T) {
	c, sys := dial(t)
	b := &backup.Job{Name: "exportlib", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, Persistent: true}
	t.Cleanup(func() { _ = c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()) })
	if _, err := backup.Schedule(t.Context(), c, b, false); err != nil {
		t.Fatal(err)
	}
	var read []string
	x, err := backup.Export(t.Context(), c, b.Name, backup.ExportOptions{Generator: "borgrun test", ReadFile: func(p string) ([]byte, error) {
		read = append(read, p)
		return os.ReadFile(sys.Root() + p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/run/systemd/transient/" + b.TimerUnit(), "/run/systemd/transient/" + b.ServiceUnit()}; !slices.Equal(read, want) {
		t.Errorf("read %q, want %q", read, want)
	}
	if x.Timer.Name != b.TimerUnit() || x.Service.Name != b.ServiceUnit() || x.Timer.Source != read[0] {
		t.Errorf("Export = %+v", x)
	}
	for _, want := range []string{"exported by borgrun test", "\n[Timer]\nOnCalendar=daily\nPersistent=yes\n", "\n[Install]\nWantedBy=timers.target\n"} {
		if !strings.Contains(x.Timer.Text, want) {
			t.Errorf("timer text lacks %q:\n%s", want, x.Timer.Text)
		}
	}
	if !strings.Contains(x.Service.Text, "\nExecStart=\"/bin/true\"\n") || strings.Contains(x.Service.Text, "Do not edit") {
		t.Errorf("service text:\n%s", x.Service.Text)
	}

	// A file that cannot be read is an error naming the unit.
	_, err = backup.Export(t.Context(), c, b.Name, backup.ExportOptions{ReadFile: func(p string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
	}})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "reading "+b.TimerUnit()) {
		t.Errorf("unreadable: %v", err)
	}
	// Errors for what is not borgrun's, or not there.
	if _, err := backup.Export(t.Context(), c, "exportnone", backup.ExportOptions{}); !errors.Is(err, transient.ErrNoSuchUnit) {
		t.Errorf("no such job: %v, want ErrNoSuchUnit", err)
	}
	if _, err := backup.Export(t.Context(), c, "bad/name", backup.ExportOptions{}); err == nil || !strings.Contains(err.Error(), `"bad/name"`) {
		t.Errorf("bad name: %v", err)
	}
}
