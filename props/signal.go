package props

import "strconv"

// signalByNumber is signalNames inverted: systemd's static_signal_table.
func signalByNumber(n int) (string, bool) {
	for name, v := range signalNames {
		if int(v) == n {
			return name, true
		}
	}
	return "", false
}

// SignalName is systemd's signal_to_string, the printer beside
// [ParseSignal]: "TERM" for 15 (no "SIG" prefix), "RTMIN+n" for a
// real-time signal, and the number for anything else.
func SignalName(n int) string {
	if name, ok := signalByNumber(n); ok {
		return name
	}
	if n >= sigRTMin && n <= sigRTMax {
		return "RTMIN+" + strconv.Itoa(n-sigRTMin)
	}
	return strconv.Itoa(n)
}

// ParseSignal is systemd's signal_from_string, as KillSignal= and
// friends use it: a number 1..64, a name with or without "SIG" ("TERM",
// "SIGTERM"), RTMIN, RTMIN+n, RTMAX or RTMAX-n. The error is an [*Error]
// wrapping [ErrSyntax] or [ErrRange].
func ParseSignal(s string) (int, error) {
	n, err := signalFromString(s)
	if err != nil {
		return 0, &Error{Input: s, Err: err}
	}
	return int(n), nil
}
