package transient_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
)

// TestDialUnreachable: no manager at the address gives a *DialError naming
// what was tried, at once.
func TestDialUnreachable(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	_, err := transient.Dial(t.Context(), transient.DialOptions{Address: "unix:path=" + dir + "/private"})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Dial took %v, want under 1s", elapsed)
	}
	var de *transient.DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), dir+"/private") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Dial error = %q, want a one-line *DialError naming the address", err)
	}
}
