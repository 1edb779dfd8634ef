package props

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Limits of systemd 252's calendar specifications (src/shared/calendarspec.c).
const (
	calMinYear       = 1970
	calMaxYear       = 2199
	calMaxNesting    = 240 // a list may have at most calMaxNesting+1 elements
	calMaxIterations = 1000
	calAllWeekdays   = 1<<7 - 1
	calUsecPerSec    = 1000000
	calIntMax        = 1<<31 - 1
	// calUsecMax is systemd's USEC_TIMESTAMP_FORMATTABLE_MAX on
	// 64-bit machines (Thu 9999-12-30 23:59:59 UTC); Next refuses to
	// compute elapses after it.
	calUsecMax = 253402214399000000
	// calZoneinfoDir is where systemd looks up time zone names.
	calZoneinfoDir = "/usr/share/zoneinfo"
)

// A Calendar is a parsed systemd calendar specification, the value of a
// timer's OnCalendar= setting, as described in systemd.time(7). The zero
// value is not useful; get one from [ParseCalendar].
//
// A Calendar is immutable and safe for concurrent use.
type Calendar struct {
	// weekdays has bit 0 for Monday through bit 6 for Sunday, or is -1
	// when any day of the week matches.
	weekdays int
	// The components of the date and the time. A nil chain is "*". The
	// second chain counts microseconds.
	year, month, day, hour, minute, second []calComponent
	// endOfMonth: day counts backwards from the end of the month ("~").
	endOfMonth bool
	// utc: the specification is evaluated in UTC.
	utc bool
	// zone is the explicit time zone name (e.g. "Europe/Berlin"), "" if none.
	zone string
	// loc is the zone Next evaluates the specification in, unless utc.
	loc *time.Location
	// dst is 0 or 1 when the specification ended in the local zone's
	// standard or daylight-saving abbreviation (dstName), else -1.
	dst     int
	dstName string
}

// calComponent is one element of a list: start, or start..stop, or
// start/repeat, or start..stop/repeat. stop is -1 if there is none.
type calComponent struct {
	start, stop, repeat int
}

// calendarError is the error wrapped by [Error] for a calendar
// specification; it always wraps ErrSyntax, and also ErrRange when a
// number is out of range.
type calendarError struct {
	msg      string
	outRange bool
}

func (e *calendarError) Error() string {
	if e.outRange {
		return ErrRange.Error() + ": " + e.msg
	}
	return ErrSyntax.Error() + ": " + e.msg
}

func (e *calendarError) Unwrap() []error {
	if e.outRange {
		return []error{ErrSyntax, ErrRange}
	}
	return []error{ErrSyntax}
}

func calSyntaxf(format string, args ...any) error {
	return &calendarError{msg: fmt.Sprintf(format, args...)}
}

func calRangef(format string, args ...any) error {
	return &calendarError{msg: fmt.Sprintf(format, args...), outRange: true}
}

// calWrap prefixes the message of a *calendarError with where it occurred.
func calWrap(where string, err error) error {
	var ce *calendarError
	if errors.As(err, &ce) {
		return &calendarError{msg: where + ": " + ce.msg, outRange: ce.outRange}
	}
	return err
}

// ParseCalendar parses a calendar specification exactly as systemd 252's
// calendar_spec_from_string does, e.g. "Mon..Fri *-*-* 10:00",
// "*-*~01 12:00 Europe/Berlin", "*:*:0/15.5", "weekly" or "@1234567890".
// See systemd.time(7) for the language.
//
// A specification without a time zone is evaluated in [time.Local], the
// zone systemd itself would use; ParseCalendar captures time.Local when it
// is called. As in systemd, a specification may end in " UTC", in a time
// zone name found under /usr/share/zoneinfo (e.g. "Asia/Tokyo"), or in
// the local zone's standard or daylight-saving abbreviation (e.g. "CET"
// or "CEST" when the local zone is Europe/Berlin).
//
// Every error is an [*Error] whose Input is spec and which wraps
// [ErrSyntax]; numbers out of range also wrap [ErrRange].
func ParseCalendar(spec string) (*Calendar, error) {
	return parseCalendar(spec, time.Local)
}

// ValidateCalendar parses spec with [ParseCalendar] and also checks that
// it elapses at least once after now, as systemd requires of a timer that
// is to be scheduled. If it never elapses, the error is an [*Error]
// wrapping [ErrNeverElapses]; the parsed Calendar is returned as well.
func ValidateCalendar(spec string, now time.Time) (*Calendar, error) {
	c, err := ParseCalendar(spec)
	if err != nil {
		return nil, err
	}
	if _, ok := c.Next(now); !ok {
		return c, &Error{
			Input: spec,
			Err:   fmt.Errorf("%w: no elapse after %s", ErrNeverElapses, now.UTC().Format("2006-01-02 15:04:05.999999 UTC")),
		}
	}
	return c, nil
}

func parseCalendar(spec string, local *time.Location) (*Calendar, error) {
	c, err := parseCalendarSpec(spec, local)
	if err != nil {
		return nil, &Error{Input: spec, Err: err}
	}
	return c, nil
}

func parseCalendarSpec(spec string, local *time.Location) (*Calendar, error) {
	if strings.IndexByte(spec, 0) >= 0 {
		return nil, calSyntaxf("NUL byte in calendar specification")
	}
	c := &Calendar{dst: -1, loc: local}
	p := spec

	// The time zone suffix: " UTC", the local zone's abbreviations, or a
	// zone name after the last space.
	if calHasSuffixFold(p, " UTC") {
		c.utc = true
		p = p[:len(p)-len(" UTC")]
	} else {
		found := false
		for j, name := range calLocalAbbrevs(local) {
			if name == "" || !calHasSuffixFold(p, name) {
				continue
			}
			e := len(p) - len(name)
			if e == 0 || p[e-1] != ' ' {
				continue
			}
			c.dst, c.dstName = j, name
			p = p[:e-1]
			found = true
			break
		}
		if !found {
			if i := strings.LastIndexByte(p, ' '); i >= 0 {
				if loc, ok := loadCalendarZone(p[i+1:]); ok {
					c.zone, c.loc = p[i+1:], loc
					p = p[:i]
				}
			}
		}
	}
	if p == "" {
		return nil, calSyntaxf(`empty calendar specification; want e.g. "daily" or "Mon..Fri *-*-* 10:00"`)
	}

	zero := func() []calComponent { return []calComponent{{0, -1, 0}} }
	one := func() []calComponent { return []calComponent{{1, -1, 0}} }
	switch {
	case calEqualFold(p, "minutely"):
		c.second = zero()
	case calEqualFold(p, "hourly"):
		c.minute, c.second = zero(), zero()
	case calEqualFold(p, "daily"):
		c.hour, c.minute, c.second = zero(), zero(), zero()
	case calEqualFold(p, "monthly"):
		c.day, c.hour, c.minute, c.second = one(), zero(), zero(), zero()
	case calEqualFold(p, "annually"), calEqualFold(p, "yearly"), calEqualFold(p, "anually"):
		c.month, c.day, c.hour, c.minute, c.second = one(), one(), zero(), zero(), zero()
	case calEqualFold(p, "weekly"):
		c.weekdays = 1
		c.hour, c.minute, c.second = zero(), zero(), zero()
	case calEqualFold(p, "quarterly"):
		c.month = []calComponent{{1, -1, 0}, {4, -1, 0}, {7, -1, 0}, {10, -1, 0}}
		c.day, c.hour, c.minute, c.second = one(), zero(), zero(), zero()
	case calEqualFold(p, "biannually"), calEqualFold(p, "bi-annually"),
		calEqualFold(p, "semiannually"), calEqualFold(p, "semi-annually"):
		c.month = []calComponent{{1, -1, 0}, {7, -1, 0}}
		c.day, c.hour, c.minute, c.second = one(), zero(), zero(), zero()
	default:
		var err error
		if p, err = c.parseWeekdays(p); err != nil {
			return nil, err
		}
		var done bool
		if p, done, err = c.parseDate(p); err != nil {
			return nil, err
		}
		if !done {
			if p, err = c.parseTime(p); err != nil {
				return nil, err
			}
		}
		if p != "" {
			return nil, calSyntaxf("unexpected %q after the time", p)
		}
	}

	c.normalize()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// calWeekdayNames lists the names parseWeekdays accepts, in the order it
// tries them: each long name before its abbreviation.
var calWeekdayNames = [...]struct {
	name string
	nr   int
}{
	{"Monday", 0}, {"Mon", 0},
	{"Tuesday", 1}, {"Tue", 1},
	{"Wednesday", 2}, {"Wed", 2},
	{"Thursday", 3}, {"Thu", 3},
	{"Friday", 4}, {"Fri", 4},
	{"Saturday", 5}, {"Sat", 5},
	{"Sunday", 6}, {"Sun", 6},
}

var calWeekdayAbbrevs = [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// parseWeekdays parses an optional leading list of weekdays and weekday
// ranges ("Mon..Fri,Sun"), followed by spaces or the end.
func (c *Calendar) parseWeekdays(p string) (string, error) {
	l := -1
	first := true
	for {
		nr := -1
		for _, d := range calWeekdayNames {
			if !calHasPrefixFold(p, d.name) {
				continue
			}
			n := len(d.name)
			if n < len(p) && strings.IndexByte("-., ", p[n]) < 0 {
				return "", calSyntaxf(`weekday %q followed by %q; want "..", ",", a space or the end`, p[:n], p[n:n+1])
			}
			c.weekdays |= 1 << d.nr
			if l >= 0 {
				if l > d.nr {
					return "", calSyntaxf("weekday range %s..%s runs backwards; want Mon..Sun order", calWeekdayAbbrevs[l], calWeekdayAbbrevs[d.nr])
				}
				for j := l + 1; j < d.nr; j++ {
					c.weekdays |= 1 << j
				}
			}
			p = p[n:]
			nr = d.nr
			break
		}
		if nr < 0 {
			if first {
				return p, nil
			}
			return "", calSyntaxf("want a weekday (Mon..Sun or Monday..Sunday) at %q", p)
		}
		if p == "" {
			return p, nil
		}
		if p[0] == ' ' {
			return strings.TrimLeft(p, " "), nil
		}
		switch p[0] {
		case '.':
			if l >= 0 {
				return "", calSyntaxf("weekday range %s.. continues with %q; want \",\" or a space", calWeekdayAbbrevs[nr], p)
			}
			if len(p) < 2 || p[1] != '.' {
				return "", calSyntaxf(`single "." after weekday %s; want ".." for a range`, calWeekdayAbbrevs[nr])
			}
			l = nr
			p = p[2:]
		case '-':
			if l >= 0 {
				return "", calSyntaxf("weekday range %s- continues with %q; want \",\" or a space", calWeekdayAbbrevs[nr], p)
			}
			l = nr
			p = p[1:]
		case ',':
			l = -1
			p = p[1:]
		}
		if p == "" || p[0] == ' ' {
			if l >= 0 {
				return "", calSyntaxf("open weekday range %s..; want an end weekday", calWeekdayAbbrevs[l])
			}
			return strings.TrimLeft(p, " "), nil
		}
		first = false
	}
}

// parseDate parses an optional date (month-day or year-month-day, "~"
// for days counted from the end of the month) or "@seconds". done
// reports "@seconds", after which no time may follow.
func (c *Calendar) parseDate(p string) (rest string, done bool, err error) {
	if p == "" {
		return p, false, nil
	}
	if p[0] == '@' {
		v, t, err := calStrtoul(p[1:])
		if err != nil {
			return "", false, calWrap(`after "@"`, err)
		}
		return t, true, c.setEpoch(v)
	}

	first, t, err := calParseChain(p, false)
	if err != nil {
		if b := p[0] | 0x20; 'a' <= b && b <= 'z' {
			return "", false, calSyntaxf("unknown word %q; want a weekday (Mon..Sun), a date, a time, \"@seconds\" "+
				"or one of minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly", calWord(p))
		}
		return "", false, calWrap("date", err)
	}
	// The end, or a ':': this was a time, not a date.
	if t == "" || t[0] == ':' {
		return p, false, nil
	}
	switch t[0] {
	case '~':
		c.endOfMonth = true
	case '-':
	default:
		return "", false, calSyntaxf(`date: unexpected %q; want "-" or "~" between the parts`, t)
	}
	second, t, err := calParseChain(t[1:], false)
	if err != nil {
		return "", false, calWrap("date", err)
	}
	if t == "" || t[0] == ' ' {
		c.month, c.day = first, second
		return strings.TrimLeft(t, " "), false, nil
	}
	if c.endOfMonth {
		return "", false, calSyntaxf(`date: "~" must separate the month and the day, not the year and the month`)
	}
	switch t[0] {
	case '~':
		c.endOfMonth = true
	case '-':
	default:
		return "", false, calSyntaxf(`date: unexpected %q; want "-" or "~" between the parts`, t)
	}
	third, t, err := calParseChain(t[1:], false)
	if err != nil {
		return "", false, calWrap("date", err)
	}
	if t != "" && t[0] != ' ' {
		return "", false, calSyntaxf("date: unexpected %q after the day; want a space", t)
	}
	c.year, c.month, c.day = first, second, third
	return strings.TrimLeft(t, " "), false, nil
}

// setEpoch sets the specification to the single UTC second v ("@v").
func (c *Calendar) setEpoch(v uint64) error {
	t := int64(v) // as C's time_t conversion: huge values turn negative
	lo := time.Date(calMinYear, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(calMaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if t < lo || t >= hi {
		return calRangef("@%d is outside the years %d..%d", t, calMinYear, calMaxYear)
	}
	u := time.Unix(t, 0).UTC()
	one := func(v int) []calComponent { return []calComponent{{v, -1, 0}} }
	c.year = one(u.Year())
	c.month = one(int(u.Month()))
	c.day = one(u.Day())
	c.hour = one(u.Hour())
	c.minute = one(u.Minute())
	c.second = one(u.Second() * calUsecPerSec)
	c.utc = true
	return nil
}

// parseTime parses hour:minute[:second]; an empty string is 00:00:00.
func (c *Calendar) parseTime(p string) (string, error) {
	zero := []calComponent{{0, -1, 0}}
	if p == "" {
		c.hour, c.minute, c.second = zero, zero, zero
		return p, nil
	}
	h, t, err := calParseChain(p, false)
	if err != nil {
		return "", calWrap("hour", err)
	}
	if t == "" || t[0] != ':' {
		return "", calSyntaxf("want hour:minute[:second], found %q", p)
	}
	m, t, err := calParseChain(t[1:], false)
	if err != nil {
		return "", calWrap("minute", err)
	}
	if t == "" {
		c.hour, c.minute, c.second = h, m, zero
		return t, nil
	}
	if t[0] != ':' {
		return "", calSyntaxf("unexpected %q after the minute; want \":\" and seconds or the end", t)
	}
	s, t, err := calParseChain(t[1:], true)
	if err != nil {
		return "", calWrap("second", err)
	}
	if t != "" {
		return "", calSyntaxf("unexpected %q after the seconds", t)
	}
	c.hour, c.minute, c.second = h, m, s
	return t, nil
}

// calParseChain parses "*" or a comma-separated list of components. In the
// seconds (usec), numbers may have a fraction and are kept in
// microseconds, and "*" means every whole second.
func calParseChain(p string, usec bool) ([]calComponent, string, error) {
	if p != "" && p[0] == '*' {
		if usec {
			return []calComponent{{0, -1, calUsecPerSec}}, p[1:], nil
		}
		return nil, p[1:], nil
	}
	var chain []calComponent
	for nesting := 0; ; nesting++ {
		if nesting > calMaxNesting {
			return nil, "", calRangef("more than %d elements in a list", calMaxNesting+1)
		}
		start, e, err := calParseDecimal(p, usec)
		if err != nil {
			return nil, "", err
		}
		stop, repeat := -1, 0
		if strings.HasPrefix(e, "..") {
			if stop, e, err = calParseDecimal(e[2:], usec); err != nil {
				return nil, "", calWrap("range end", err)
			}
			repeat = 1
			if usec {
				repeat = calUsecPerSec
			}
		}
		if e != "" && e[0] == '/' {
			if repeat, e, err = calParseDecimal(e[1:], usec); err != nil {
				return nil, "", calWrap("repetition", err)
			}
			if repeat == 0 {
				return nil, "", calRangef("repetition /0; want a positive repetition")
			}
		} else {
			if start > calIntMax-repeat {
				return nil, "", calRangef("number %s too large", p[:len(p)-len(e)])
			}
			// A range of seconds shorter than the default 1s step.
			if usec && stop >= 0 && start+repeat > stop {
				return nil, "", calSyntaxf("seconds range %s is shorter than 1s; add a repetition like /0.5", p[:len(p)-len(e)])
			}
		}
		if e != "" && strings.IndexByte(" ,-~:", e[0]) < 0 {
			return nil, "", calSyntaxf(`unexpected %q after %q; want "..", "/", ",", or a separator`, e, p[:len(p)-len(e)])
		}
		chain = append(chain, calComponent{start, stop, repeat})
		if e != "" && e[0] == ',' {
			p = e[1:]
			continue
		}
		return chain, e, nil
	}
}

// calParseDecimal parses an unsigned decimal number, in the seconds (usec)
// with an optional fraction, returning it in microseconds.
func calParseDecimal(p string, usec bool) (int, string, error) {
	if p == "" || !calIsDigit(p[0]) {
		if p == "" {
			return 0, "", calSyntaxf(`missing number; want "*", a number, a range "a..b", a repetition "a/b" or a list "a,b"`)
		}
		return 0, "", calSyntaxf(`want "*", a number, a range "a..b", a repetition "a/b" or a list "a,b", found %q`, p)
	}
	v, e, err := calStrtoul(p)
	if err != nil {
		return 0, "", err
	}
	if usec {
		if v > ^uint64(0)/calUsecPerSec {
			return 0, "", calRangef("number %s too large", p[:len(p)-len(e)])
		}
		v *= calUsecPerSec
		if e != "" && e[0] == '.' && (len(e) < 2 || e[1] != '.') {
			add, rest, ok := calParseFraction(e[1:])
			if !ok {
				return 0, "", calSyntaxf("missing digits after %q", p[:len(p)-len(e)+1])
			}
			e = rest
			v += add
		}
	}
	if v > calIntMax {
		return 0, "", calRangef("number %s too large", p[:len(p)-len(e)])
	}
	return int(v), e, nil
}

// calParseFraction parses the digits after a decimal point as microseconds,
// rounding on the seventh digit and skipping any further ones, as
// systemd's parse_fractional_part_u does.
func calParseFraction(p string) (uint64, string, bool) {
	if p == "" || !calIsDigit(p[0]) {
		return 0, p, false
	}
	var v uint64
	i := 0
	for ; i < 6; i++ {
		if i >= len(p) || !calIsDigit(p[i]) {
			break
		}
		v = v*10 + uint64(p[i]-'0')
	}
	for k := i; k < 6; k++ {
		v *= 10
	}
	if i == 6 && i < len(p) && p[i] >= '5' && p[i] <= '9' {
		v++
	}
	for i < len(p) && calIsDigit(p[i]) {
		i++
	}
	return v, p[i:], true
}

// calStrtoul mirrors C's calStrtoul(p, &end, 10): leading white space, an
// optional sign (a minus negates modulo 2^64), then at least one digit.
func calStrtoul(p string) (uint64, string, error) {
	i := 0
	for i < len(p) && strings.IndexByte(" \t\n\v\f\r", p[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(p) && (p[i] == '+' || p[i] == '-') {
		neg = p[i] == '-'
		i++
	}
	j := i
	var v uint64
	overflow := false
	for j < len(p) && calIsDigit(p[j]) {
		d := uint64(p[j] - '0')
		if v > (^uint64(0)-d)/10 {
			overflow = true
		}
		v = v*10 + d
		j++
	}
	if j == i {
		return 0, "", calSyntaxf("want a number, found %q", p)
	}
	if overflow {
		return 0, "", calRangef("number %s too large", p[:j])
	}
	if neg {
		v = -v
	}
	return v, p[j:], nil
}

// normalize puts the specification in systemd's canonical form, as
// calendar_spec_normalize does.
func (c *Calendar) normalize() {
	if c.zone == "UTC" {
		c.utc, c.zone = true, ""
	}
	if c.weekdays <= 0 || c.weekdays >= calAllWeekdays {
		c.weekdays = -1
	}
	if c.endOfMonth && c.day == nil {
		c.endOfMonth = false
	}
	for i := range c.year { // two-digit years: 12 → 2012, 89 → 1989
		for _, v := range []*int{&c.year[i].start, &c.year[i].stop} {
			switch {
			case *v >= 0 && *v < 70:
				*v += 2000
			case *v >= 70 && *v < 100:
				*v += 1900
			}
		}
	}
	for _, ch := range []*[]calComponent{&c.year, &c.month, &c.day, &c.hour, &c.minute, &c.second} {
		*ch = calNormalizeChain(*ch)
	}
}

// calNormalizeChain shortens ranges to a multiple of their repetition, drops
// repetitions that never repeat, sorts, and removes duplicates.
func calNormalizeChain(ch []calComponent) []calComponent {
	if ch == nil {
		return nil
	}
	for i := range ch {
		x := &ch[i]
		if x.stop > x.start && x.repeat > 0 {
			x.stop -= (x.stop - x.start) % x.repeat
		}
		if (x.stop > x.start && x.repeat > 0 && x.start+x.repeat > x.stop) || x.start == x.stop {
			x.repeat, x.stop = 0, -1
		}
	}
	calSortComponents(ch)
	out := ch[:1]
	for _, x := range ch[1:] {
		if x != out[len(out)-1] {
			out = append(out, x)
		}
	}
	return out
}

func calSortComponents(ch []calComponent) {
	less := func(a, b calComponent) bool {
		if a.start != b.start {
			return a.start < b.start
		}
		if a.stop != b.stop {
			return a.stop < b.stop
		}
		return a.repeat < b.repeat
	}
	for i := 1; i < len(ch); i++ { // insertion sort: lists are short
		for j := i; j > 0 && less(ch[j], ch[j-1]); j-- {
			ch[j], ch[j-1] = ch[j-1], ch[j]
		}
	}
}

// validate checks the ranges, as calendar_spec_valid does.
func (c *Calendar) validate() error {
	checks := [...]struct {
		name     string
		ch       []calComponent
		from, to int
		eom      bool
	}{
		{"year", c.year, calMinYear, calMaxYear, false},
		{"month", c.month, 1, 12, false},
		{"day", c.day, 1, 31, c.endOfMonth},
		{"hour", c.hour, 0, 23, false},
		{"minute", c.minute, 0, 59, false},
		{"second", c.second, 0, 60*calUsecPerSec - 1, false},
	}
	for _, k := range checks {
		if err := calValidateChain(k.name, k.ch, k.from, k.to, k.eom); err != nil {
			return err
		}
	}
	return nil
}

func calValidateChain(name string, ch []calComponent, from, to int, eom bool) error {
	usec := name == "second"
	f := func(v int) string {
		if usec {
			return calFormatUsec(v)
		}
		return strconv.Itoa(v)
	}
	for _, x := range ch {
		// Days counted from the end of the month may be at most 28 days
		// from it. systemd 252 lowers that limit by 3 more for each
		// further element of the (sorted) list: "~4,25" is valid, but
		// "~4,26" is not.
		if eom {
			to -= 3
		}
		bounds := f(from) + ".." + f(to)
		if eom {
			bounds = "~" + bounds
		}
		if x.start < from || x.start > to {
			return calRangef("%s %s not in %s", name, f(x.start), bounds)
		}
		if x.repeat > to-from {
			return calRangef("%s repetition /%s too large for %s", name, f(x.repeat), bounds)
		}
		if x.stop >= 0 {
			if x.stop < from || x.stop > to {
				return calRangef("%s range end %s not in %s", name, f(x.stop), bounds)
			}
			if x.start+x.repeat > x.stop {
				return calRangef("%s range %s..%s is empty or runs backwards", name, f(x.start), f(x.stop))
			}
		} else {
			if eom && x.start-x.repeat < from {
				return calRangef("%s ~%s/%s repeats past the start of the month", name, f(x.start), f(x.repeat))
			}
			if !eom && x.start+x.repeat > to {
				return calRangef("%s %s/%s never repeats within %s", name, f(x.start), f(x.repeat), bounds)
			}
		}
	}
	return nil
}

func calFormatUsec(v int) string {
	if v%calUsecPerSec == 0 {
		return strconv.Itoa(v / calUsecPerSec)
	}
	return fmt.Sprintf("%d.%06d", v/calUsecPerSec, v%calUsecPerSec)
}

// String returns the normalized form of the specification, exactly as
// "systemd-analyze calendar" prints it on its "Normalized form:" line,
// e.g. "Mon..Fri *-*-* 10:00:00" for "mon-fri 10:00". It parses back to
// an equivalent Calendar.
func (c *Calendar) String() string {
	var b strings.Builder
	if c.weekdays > 0 && c.weekdays <= calAllWeekdays {
		c.formatWeekdays(&b)
		b.WriteByte(' ')
	}
	calFormatChain(&b, 4, c.year, false)
	b.WriteByte('-')
	calFormatChain(&b, 2, c.month, false)
	if c.endOfMonth {
		b.WriteByte('~')
	} else {
		b.WriteByte('-')
	}
	calFormatChain(&b, 2, c.day, false)
	b.WriteByte(' ')
	calFormatChain(&b, 2, c.hour, false)
	b.WriteByte(':')
	calFormatChain(&b, 2, c.minute, false)
	b.WriteByte(':')
	calFormatChain(&b, 2, c.second, true)
	switch {
	case c.utc:
		b.WriteString(" UTC")
	case c.zone != "":
		b.WriteString(" " + c.zone)
	case c.dst >= 0 && c.dstName != "":
		b.WriteString(" " + c.dstName)
	}
	return b.String()
}

// formatWeekdays writes runs of one or two days as lists and longer runs
// as ranges: "Mon,Tue,Thu..Sun".
func (c *Calendar) formatWeekdays(b *strings.Builder) {
	sep := false
	for x := 0; x < 7; {
		if c.weekdays&(1<<x) == 0 {
			x++
			continue
		}
		y := x
		for y+1 < 7 && c.weekdays&(1<<(y+1)) != 0 {
			y++
		}
		if sep {
			b.WriteByte(',')
		}
		sep = true
		b.WriteString(calWeekdayAbbrevs[x])
		switch {
		case y == x+1:
			b.WriteString("," + calWeekdayAbbrevs[y])
		case y > x+1:
			b.WriteString(".." + calWeekdayAbbrevs[y])
		}
		x = y + 1
	}
}

func calFormatChain(b *strings.Builder, width int, ch []calComponent, usec bool) {
	if ch == nil {
		b.WriteByte('*')
		return
	}
	d := 1
	if usec {
		d = calUsecPerSec
		for _, x := range ch {
			if x.start == 0 && x.stop < 0 && x.repeat == calUsecPerSec {
				b.WriteByte('*')
				return
			}
		}
	}
	for i, x := range ch {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%0*d", width, x.start/d)
		if x.start%d > 0 {
			fmt.Fprintf(b, ".%06d", x.start%d)
		}
		if x.stop > 0 {
			fmt.Fprintf(b, "..%0*d", width, x.stop/d)
			if x.stop%d > 0 {
				fmt.Fprintf(b, ".%06d", x.stop%d)
			}
		}
		if x.repeat > 0 && (x.stop <= 0 || x.repeat != d) {
			fmt.Fprintf(b, "/%d", x.repeat/d)
		}
		if x.repeat%d > 0 {
			fmt.Fprintf(b, ".%06d", x.repeat%d)
		}
	}
}

// Next returns the first time strictly after after at which the
// specification elapses, computed exactly as systemd 252's
// calendar_spec_next_usec computes it, to the microsecond. The result is
// in after's location. It reports false if the specification never
// elapses after after (systemd's "never"), including when systemd's
// computation gives up: past the year 2199, for after past the year 9999,
// or after 1000 steps without a match.
//
// A specification is evaluated in UTC if it says so, else in its named
// time zone, else in the local zone captured by [ParseCalendar], with
// glibc's mktime rules for times that a daylight-saving change skips or
// repeats: a skipped local time is never matched, and of a repeated one
// only the first instance is. For an after before 1970 the search starts
// at 1970-01-01 00:00:00 UTC, which may itself match.
func (c *Calendar) Next(after time.Time) (time.Time, bool) {
	var usec int64
	switch s := after.Unix(); {
	case s < 0:
		usec = -1
	case s > calUsecMax/calUsecPerSec:
		return time.Time{}, false
	default:
		usec = after.UnixMicro()
	}
	u, err := c.nextUsec(usec)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(u).In(after.Location()), true
}

// errCalNever and errCalFailed distinguish systemd's -ENOENT ("never") from its
// other failures, which systemd-analyze reports differently.
var (
	errCalNever  = errors.New("never elapses")
	errCalFailed = errors.New("cannot compute next elapse")
)

// nextUsec is calendar_spec_next_usec on microseconds since the epoch.
func (c *Calendar) nextUsec(usec int64) (int64, error) {
	if usec > calUsecMax {
		return 0, errCalFailed
	}
	if usec < -1 {
		usec = -1
	}
	usec++
	k := &calClock{loc: c.loc}
	if c.utc || k.loc == nil {
		k.loc, k.utc = time.UTC, true
	}
	tm := k.localtime(usec / calUsecPerSec)
	tm, tmUsec, err := c.findNext(k, tm, int(usec%calUsecPerSec))
	if err != nil {
		return 0, err
	}
	t, ok := k.mktime(&tm)
	if !ok || t < 0 {
		return 0, errCalFailed
	}
	return t*calUsecPerSec + int64(tmUsec), nil
}

// findNext is systemd's find_next: it advances the broken-down time cur
// field by field, from the year down to the microsecond, until every
// field matches.
//
// As systemd 252 does (Debian's 252.38 at least), it notices when a
// match lies before where the search started, which happens around
// daylight-saving changes, and then moves on by an hour and stops forcing
// the specification's daylight-saving flag on mktime for the rest of the
// search.
func (c *Calendar) findNext(k *calClock, cur calTm, tmUsec int) (calTm, int, error) {
	start, startUsec := cur, tmUsec
	keepDST := false
	for range calMaxIterations {
		// Normalize the current date.
		k.normalize(&cur)
		if !keepDST {
			cur.isdst = c.dst
		}

		v := cur.year + 1900
		r := c.match(k, c.year, false, &cur, &v)
		cur.year = v - 1900
		if r > 0 {
			cur.mon, cur.mday = 0, 1
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
		}
		if r < 0 || k.withinBounds(&cur) <= 0 {
			return cur, 0, errCalNever
		}

		v = cur.mon + 1
		r = c.match(k, c.month, false, &cur, &v)
		cur.mon = v - 1
		if r > 0 {
			cur.mday = 1
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
		}
		if r < 0 || k.boundsInto(&r, &cur) < 0 {
			cur.year++
			cur.mon, cur.mday = 0, 1
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		r = c.match(k, c.day, c.endOfMonth, &cur, &cur.mday)
		if r > 0 {
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
		}
		if r < 0 || k.boundsInto(&r, &cur) < 0 {
			cur.mon++
			cur.mday = 1
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		if !k.matchesWeekday(c.weekdays, cur) {
			cur.mday++
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
			continue
		}

		r = c.match(k, c.hour, false, &cur, &cur.hour)
		if r > 0 {
			cur.min, cur.sec, tmUsec = 0, 0, 0
		}
		if r < 0 || k.boundsInto(&r, &cur) < 0 {
			cur.mday++
			cur.hour, cur.min, cur.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			// The hour may not exist because of a time zone change;
			// start again from the normalized time.
			continue
		}

		r = c.match(k, c.minute, false, &cur, &cur.min)
		if r > 0 {
			cur.sec, tmUsec = 0, 0
		}
		if r < 0 || k.boundsInto(&r, &cur) < 0 {
			cur.hour++
			cur.min, cur.sec, tmUsec = 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		v = cur.sec*calUsecPerSec + tmUsec
		r = c.match(k, c.second, false, &cur, &v)
		tmUsec = v % calUsecPerSec
		cur.sec = v / calUsecPerSec
		if r < 0 || k.boundsInto(&r, &cur) < 0 {
			cur.min++
			cur.sec, tmUsec = 0, 0
			continue
		}
		if r == 0 {
			continue
		}
		if calBefore(cur, tmUsec, start, startUsec) {
			keepDST = true
			cur.hour++
			continue
		}
		return cur, tmUsec, nil
	}
	return cur, 0, errCalFailed
}

// calBefore reports whether the broken-down time a (plus aUsec) comes
// before b (plus bUsec), field by field.
func calBefore(a calTm, aUsec int, b calTm, bUsec int) bool {
	for _, d := range [...]int{a.year - b.year, a.mon - b.mon, a.mday - b.mday,
		a.hour - b.hour, a.min - b.min, a.sec - b.sec, aUsec - bUsec} {
		if d != 0 {
			return d < 0
		}
	}
	return false
}

// match is systemd's find_matching_component: it sets *val to the
// earliest value at or after *val that the chain matches and returns 1 if
// that changed *val, 0 if *val already matched (or the chain is "*"), and
// -1 if nothing matches.
func (c *Calendar) match(k *calClock, ch []calComponent, eom bool, cur *calTm, val *int) int {
	if ch == nil {
		return 0
	}
	d, set := -1, false
	for _, x := range ch {
		start, stop := x.start, x.stop
		if eom {
			start = k.endOfMonth(*cur, x.start)
			stop = k.endOfMonth(*cur, x.stop)
			if stop > 0 {
				start, stop = stop, start
			}
		}
		if start >= *val {
			if !set || start < d {
				d, set = start, true
			}
		} else if x.repeat > 0 {
			n := start + x.repeat*((*val-start+x.repeat-1)/x.repeat)
			if (!set || n < d) && (stop < 0 || n <= stop) {
				d, set = n, true
			}
		}
	}
	if !set {
		return -1
	}
	r := 0
	if *val != d {
		r = 1
	}
	*val = d
	return r
}

// calTm mirrors C's struct tm: year counts from 1900, mon from 0, and yday
// from 0; wday 0 is Sunday; isdst is -1 when unknown.
type calTm struct {
	sec, min, hour, mday, mon, year, wday, yday, isdst int
}

// calClock converts between instants and broken-down times in one zone,
// reproducing glibc's localtime_r and mktime (or gmtime_r and timegm when
// utc), including mktime's memory of the last UTC offset it found, which
// decides how it resolves ambiguous local times.
type calClock struct {
	loc *time.Location
	utc bool
	off int64 // UTC minus local time of the last mktime result
}

func (k *calClock) localtime(t int64) calTm {
	u := time.Unix(t, 0).In(k.loc)
	y, m, d := u.Date()
	hh, mm, ss := u.Clock()
	tm := calTm{sec: ss, min: mm, hour: hh, mday: d, mon: int(m) - 1, year: y - 1900,
		wday: int(u.Weekday()), yday: u.YearDay() - 1}
	if !k.utc && u.IsDST() {
		tm.isdst = 1
	}
	return tm
}

// calMonthYday[leap][m] is the number of days in the year before month m.
var calMonthYday = [2][13]int64{
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

func calIsLeap(year int64) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

func calFloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// calYdhms returns the seconds since the epoch of a broken-down time given
// as year since 1900, day of year (from 0) and time of day, none of which
// need to be in range.
func calYdhms(year, yday, hour, minute, sec int64) int64 {
	y := year + 1900
	leaps := calFloorDiv(y-1, 4) - calFloorDiv(y-1, 100) + calFloorDiv(y-1, 400) - 477 // 477 leap days before 1970
	days := 365*(y-1970) + leaps + yday
	return days*86400 + hour*3600 + minute*60 + sec
}

func calTmSeconds(tm *calTm) int64 {
	return calYdhms(int64(tm.year), int64(tm.yday), int64(tm.hour), int64(tm.min), int64(tm.sec))
}

// calIsdstDiffer reports whether two known isdst values disagree.
func calIsdstDiffer(a, b int) bool {
	return (a == 0) != (b == 0) && a >= 0 && b >= 0
}

// mktime converts *tm to seconds since the epoch the way glibc's
// mktime (timegm if utc) does, normalizing *tm. On failure it leaves *tm
// alone and reports false.
func (k *calClock) mktime(tm *calTm) (int64, bool) {
	isdst := tm.isdst
	if k.utc {
		isdst = 0
	}
	mon := int64(tm.mon)
	monRem := mon % 12
	negRem := int64(0)
	if monRem < 0 {
		negRem = 1
	}
	year := int64(tm.year) + mon/12 - negRem
	leap := 0
	if calIsLeap(year + 1900) {
		leap = 1
	}
	yday := calMonthYday[leap][monRem+12*negRem] - 1 + int64(tm.mday)
	hour, minute := int64(tm.hour), int64(tm.min)
	sec := int64(tm.sec)
	secRequested := sec
	sec = min(max(sec, 0), 59)
	want := calYdhms(year, yday, hour, minute, sec)

	t0 := want + k.off
	t, t1, t2 := t0, t0, t0
	dst2 := 0
	var got calTm
	found := false
	for probes := 6; ; {
		got = k.localtime(t)
		dt := want - calTmSeconds(&got)
		if dt == 0 {
			break
		}
		if t == t1 && t != t2 {
			gotDST := calB2i(got.isdst != 0)
			var stuck bool
			if isdst < 0 {
				stuck = dst2 <= gotDST
			} else {
				stuck = (isdst != 0) != (got.isdst != 0)
			}
			if stuck {
				// Oscillating around a gap: take this side of it.
				found = true
				break
			}
		}
		probes--
		if probes == 0 {
			return 0, false
		}
		t1, t2, t, dst2 = t2, t, t+dt, calB2i(got.isdst != 0)
	}
	if !found && calIsdstDiffer(isdst, got.isdst) {
		// Look for a nearby time with the requested isdst and use its
		// offset.
		const stride, durationMax = 601200, 536454000
		ok := false
	probe:
		for delta := int64(stride); delta < durationMax/2+stride; delta += stride {
			for _, dir := range [2]int64{-1, 1} {
				ot := t + delta*dir
				otm := k.localtime(ot)
				if !calIsdstDiffer(isdst, otm.isdst) {
					gt := ot + want - calTmSeconds(&otm)
					got = k.localtime(gt)
					t = gt
					ok = true
					break probe
				}
			}
		}
		if !ok {
			return 0, false
		}
	}
	k.off = t - want
	if secRequested != int64(got.sec) {
		t += secRequested - sec
		got = k.localtime(t)
	}
	*tm = got
	return t, true
}

// normalize is mktime with its result ignored.
func (k *calClock) normalize(tm *calTm) {
	k.mktime(tm)
}

// withinBounds is systemd's tm_within_bounds: it returns 1 if *tm is a
// valid time as is, 0 after moving *tm forward to the normalized time
// (with the fields below the first changed one reset), and a negative
// value if *tm is past the year 2199, invalid, or would move backwards.
func (k *calClock) withinBounds(tm *calTm) int {
	if tm.year+1900 > calMaxYear {
		return -1
	}
	t := *tm
	if s, ok := k.mktime(&t); !ok || s < 0 {
		return -1
	}
	var order int
	switch {
	case t.year != tm.year:
		order = cmp.Compare(t.year, tm.year)
		t.mon = 0
	case t.mon != tm.mon:
		order = cmp.Compare(t.mon, tm.mon)
		t.mday = 1
	case t.mday != tm.mday:
		order = cmp.Compare(t.mday, tm.mday)
		t.hour = 0
	case t.hour != tm.hour:
		order = cmp.Compare(t.hour, tm.hour)
		t.min = 0
	case t.min != tm.min:
		order = cmp.Compare(t.min, tm.min)
		t.sec = 0
	default:
		order = cmp.Compare(t.sec, tm.sec)
	}
	switch {
	case order < 0:
		return -2 // refuse to go backwards
	case order > 0:
		*tm = t
		return 0
	}
	return 1
}

// boundsInto stores withinBounds in *r and returns it, mirroring C's
// "r < 0 || (r = tm_within_bounds(...)) < 0".
func (k *calClock) boundsInto(r *int, tm *calTm) int {
	*r = k.withinBounds(tm)
	return *r
}

// endOfMonth returns the day of month that is day days before the end
// of tm's month (1 is the last day), or -1.
func (k *calClock) endOfMonth(tm calTm, day int) int {
	t := tm
	t.mon++
	t.mday = 1 - day
	if s, ok := k.mktime(&t); !ok || s < 0 || t.mon != tm.mon {
		return -1
	}
	return t.mday
}

func (k *calClock) matchesWeekday(bits int, tm calTm) bool {
	if bits < 0 || bits >= calAllWeekdays {
		return true
	}
	if s, ok := k.mktime(&tm); !ok || s < 0 {
		return false
	}
	day := tm.wday - 1
	if tm.wday == 0 {
		day = 6
	}
	return bits&(1<<day) != 0
}

// calLocalAbbrevs returns the abbreviations glibc's tzset puts in tzname[0]
// (standard time) and tzname[1] (daylight-saving time) for loc: those of
// its latest periods of each kind, or the standard one twice.
func calLocalAbbrevs(loc *time.Location) [2]string {
	var names [2]string
	if loc == nil {
		return names
	}
	t := time.Date(calMaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC).In(loc)
	for range 1000 {
		name, _ := t.Zone()
		i := calB2i(t.IsDST())
		if names[i] == "" {
			names[i] = name
		}
		if names[0] != "" && names[1] != "" {
			break
		}
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			break
		}
		t = start.Add(-time.Second)
	}
	if names[0] == "" {
		names[0] = names[1]
	}
	if names[1] == "" {
		names[1] = names[0]
	}
	return names
}

// loadCalendarZone loads a time zone named at the end of a calendar
// specification, if systemd would accept it: a name of letters, digits
// and "-_+/" (no leading, trailing or double "/") naming a TZif file under
// /usr/share/zoneinfo. Without that directory it falls back to
// [time.LoadLocation].
func loadCalendarZone(name string) (*time.Location, bool) {
	if name == "" {
		return nil, false
	}
	if name == "UTC" {
		return time.UTC, true
	}
	if name[0] == '/' || len(name) >= 4096 {
		return nil, false
	}
	slash := false
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !calIsDigit(b) && !('a' <= b && b <= 'z') && !('A' <= b && b <= 'Z') && strings.IndexByte("-_+/", b) < 0 {
			return nil, false
		}
		if b == '/' && slash {
			return nil, false
		}
		slash = b == '/'
	}
	if slash {
		return nil, false
	}
	data, err := os.ReadFile(calZoneinfoDir + "/" + name)
	if err != nil {
		if _, serr := os.Stat(calZoneinfoDir); errors.Is(serr, fs.ErrNotExist) {
			loc, err := time.LoadLocation(name)
			return loc, err == nil
		}
		return nil, false
	}
	if !strings.HasPrefix(string(data[:min(len(data), 4)]), "TZif") {
		return nil, false
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	return loc, err == nil
}

// calWord returns p up to its first space.
func calWord(p string) string {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[:i]
	}
	return p
}

func calIsDigit(b byte) bool { return '0' <= b && b <= '9' }

func calB2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// calLowerASCII folds only ASCII letters, like C's strcasecmp in the C
// locale (strings.EqualFold would also fold e.g. "ſ" to "s").
func calLowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func calEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if calLowerASCII(a[i]) != calLowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func calHasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && calEqualFold(s[:len(prefix)], prefix)
}

func calHasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && calEqualFold(s[len(s)-len(suffix):], suffix)
}
