package backup

import (
	"time"

	"github.com/borgrun/borgrun/props"
)

// OverdueGrace is what a job is allowed beyond its calendar and its
// randomized delay before it is overdue: the boot delay (5 minutes by
// default), a catch-up after the machine was off, and the run's own time.
const OverdueGrace = time.Hour

// Deadline is when j should have succeeded again, seen from its last
// success: the first elapse of its calendars after it, plus its
// randomized delay and [OverdueGrace]; with maxAge > 0, the last success
// plus maxAge. A job that has never succeeded is measured from its last
// trigger, or the end of its last run, instead (that run did not
// succeed). Zero means no deadline
// can be given: the job never succeeded and never triggered.
func (j JobStatus) Deadline(maxAge time.Duration) time.Time {
	ref := j.LastSuccess
	if ref.IsZero() {
		ref = j.Last
	}
	if ref.IsZero() {
		ref = j.Ended
	}
	if ref.IsZero() {
		return time.Time{}
	}
	if maxAge > 0 {
		return ref.Add(maxAge)
	}
	var next time.Time
	for _, spec := range j.Calendars {
		cal, err := props.ParseCalendar(spec)
		if err != nil {
			continue
		}
		if t, ok := cal.Next(ref); ok && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		return time.Time{}
	}
	return next.Add(j.RandomizedDelay + OverdueGrace)
}

// Overdue reports whether j has not succeeded by its [JobStatus.Deadline].
func (j JobStatus) Overdue(now time.Time, maxAge time.Duration) bool {
	d := j.Deadline(maxAge)
	return !d.IsZero() && now.After(d)
}

// Failed reports whether j's last run failed (a result other than
// success, or a run skipped because a condition did not hold).
func (j JobStatus) Failed() bool { return j.Result != "" && j.Result != "success" }
