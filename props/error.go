package props

import (
	"errors"
	"strconv"
)

// Sentinel errors wrapped by [Error]; test for them with errors.Is.
var (
	// ErrSyntax: the value (or the assignment itself) is malformed.
	ErrSyntax = errors.New("invalid syntax")
	// ErrRange: the value is well-formed but out of range.
	ErrRange = errors.New("out of range")
	// ErrUnknownProperty: no such property for this unit type.
	ErrUnknownProperty = errors.New("unknown property")
	// ErrWrongUnitType: the property exists, but for another unit type
	// (e.g. a timer property given for a service).
	ErrWrongUnitType = errors.New("wrong unit type")
	// ErrNeverElapses: a calendar specification has no next elapse.
	ErrNeverElapses = errors.New("never elapses")
)

// Error records a failed parse, in the style of strconv.NumError. Its
// message is one line: which input, then why and what is accepted, e.g.
//
//	props: parsing "Nice=99": out of range -20..19
type Error struct {
	Input string // the assignment or value as given, e.g. "Nice=99"
	Name  string // the property name, if known, e.g. "Nice"
	Err   error  // why; wraps one of the sentinels above
}

func (e *Error) Error() string {
	return "props: parsing " + strconv.Quote(e.Input) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
