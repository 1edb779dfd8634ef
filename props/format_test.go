package props

import (
	"math"
	"testing"
)

func TestFormatTimespan(t *testing.T) {
	tests := []struct {
		usec, acc uint64
		want      string
	}{
		{0, 1000, "0"},
		{math.MaxUint64, 1, "infinity"},
		{12345, 1000, "12ms"},
		{1512345, 1000, "1.512s"},
		{65e6, 1000, "1min 5s"},
		{6*3600e6 + 52*60e6, 60e6, "6h 52min"},
		{90, 1000, "90us"},
		{49*3600e6 + 3e6, 1e6, "2d 1h 3s"},
		{600e6, 1, "10min"},
		{1500000, 1, "1.500000s"},
		{3600e6 + 1, 1, "1h 1us"},
	}
	for _, tt := range tests {
		if got := FormatTimespan(tt.usec, tt.acc); got != tt.want {
			t.Errorf("FormatTimespan(%d, %d) = %q, want %q", tt.usec, tt.acc, got, tt.want)
		}
	}
}

// TestFormatTimespanRoundTrip: at accuracy 1, formatting then parsing is
// the identity.
func TestFormatTimespanRoundTrip(t *testing.T) {
	for _, us := range []uint64{1, 999, 1000, 1500000, 59999999, 60e6, 61e6 + 7, 3600e6 + 1, 86400e6 * 400, 31557600e6 + 5} {
		s := FormatTimespan(us, 1)
		got, err := ParseTimespan(s)
		if err != nil || got != us {
			t.Errorf("ParseTimespan(FormatTimespan(%d) = %q) = %d, %v", us, s, got, err)
		}
	}
}
