package props

import (
	"errors"
	"testing"
)

// TestSignalNameRoundTrip prints every signal systemd knows and parses
// it back.
func TestSignalNameRoundTrip(t *testing.T) {
	if len(signalNames) != 31 {
		t.Fatalf("%d signal names, want 31", len(signalNames))
	}
	for n := 1; n <= sigRTMax; n++ {
		name := SignalName(n)
		if got, err := ParseSignal(name); err != nil || got != n {
			t.Errorf("ParseSignal(SignalName(%d) = %q) = %d, %v", n, name, got, err)
		}
		if got, err := ParseSignal("SIG" + name); n <= 31 && (err != nil || got != n) {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", "SIG"+name, got, err, n)
		}
	}
	for n, want := range map[int]string{1: "HUP", 9: "KILL", 15: "TERM", 31: "SYS", 32: "32", 33: "33", 34: "RTMIN+0", 64: "RTMIN+30", 0: "0", 65: "65"} {
		if got := SignalName(n); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseSignalErrors(t *testing.T) {
	for s, want := range map[string]error{"": ErrSyntax, "BOGUS": ErrSyntax, "0": ErrRange, "65": ErrRange, "RTMIN+31": ErrRange, "RTMAX-31": ErrRange} {
		_, err := ParseSignal(s)
		var pe *Error
		if !errors.As(err, &pe) || !errors.Is(err, want) || pe.Input != s {
			t.Errorf("ParseSignal(%q) error %v, want an *Error for %q wrapping %v", s, err, s, want)
		}
	}
}
