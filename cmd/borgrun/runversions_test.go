package main

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
)

// TestSummaryVersions prints one --wait summary as each version of
// systemd-run words it (run.c's start_transient_service and, from 258,
// run_context_show_result).
func TestSummaryVersions(t *testing.T) {
	r := &transient.Result{Result: "exit-code", Code: "exited", Status: 7, Ran: true,
		Runtime: 24 * time.Millisecond, CPU: 7 * time.Millisecond,
		IOReadBytes: 0, IOWriteBytes: 2048, IPIngressBytes: math.MaxUint64, IPEgressBytes: math.MaxUint64,
		MemoryPeak: 1536 * 1024, MemorySwapPeak: math.MaxUint64}
	for _, tc := range []struct {
		v    props.Version
		want string
	}{
		{props.V252, "Finished with result: exit-code\nMain processes terminated with: code=exited/status=7\nService runtime: 24ms\nCPU time consumed: 7ms\nIO bytes read: 0B\nIO bytes written: 2.0K\n"},
		{props.V255, "Finished with result: exit-code\nMain processes terminated with: code=exited/status=7\nService runtime: 24ms\nCPU time consumed: 7ms\nMemory peak: 1.5M\nIO bytes read: 0B\nIO bytes written: 2.0K\n"},
		{props.V257, "Finished with result: exit-code\nMain processes terminated with: code=exited, status=7/NOTRUNNING\nService runtime: 24ms\nCPU time consumed: 7ms\nMemory peak: 1.5M\nIO bytes written: 2.0K\n"},
		{props.V262, "          Finished with result: exit-code\nMain processes terminated with: code=exited, status=7/NOTRUNNING\n               Service runtime: 24ms\n             CPU time consumed: 7ms\n                   Memory peak: 1.5M\n                      IO Bytes: written 2.0K\n"},
	} {
		var b bytes.Buffer
		e := &env{stderr: &b}
		e.summary(r, false, tc.v)
		if b.String() != tc.want {
			t.Errorf("%v:\n%s\nwant\n%s", tc.v, b.String(), tc.want)
		}
	}

	both := &transient.Result{Result: "signal", Code: "killed", Status: 9, CPU: -1,
		IOReadBytes: 1024, IOWriteBytes: 2048, IPIngressBytes: 0, IPEgressBytes: 100,
		MemoryPeak: math.MaxUint64, MemorySwapPeak: math.MaxUint64}
	for v, want := range map[props.Version]string{
		props.V257: "Finished with result: signal\nMain processes terminated with: code=killed, status=9/KILL\nIP traffic sent: 100B\nIO bytes read: 1.0K written: 2.0K\n",
		props.V262: "          Finished with result: signal\nMain processes terminated with: code=killed, status=9/KILL\n                    IP Traffic: sent 100B\n                      IO Bytes: read 1.0K, written 2.0K\n",
	} {
		var b bytes.Buffer
		(&env{stderr: &b}).summary(both, false, v)
		if b.String() != want {
			t.Errorf("%v:\n%s\nwant\n%s", v, b.String(), want)
		}
	}
}

func TestJobFailureVersions(t *testing.T) {
	for _, tc := range []struct {
		je   transient.JobError
		v    props.Version
		user bool
		want string
	}{
		{transient.JobError{Unit: "a.service", JobResult: "failed", ServiceResult: "exit-code"}, props.V252, false,
			"Job for a.service failed because the control process exited with error code.\nSee \"systemctl status a.service\" and \"journalctl -xeu a.service\" for details."},
		{transient.JobError{Unit: `a\x20b.service`, JobResult: "failed", ServiceResult: "oom-kill"}, props.V254, true,
			"Job for a\\x20b.service failed because of an out-of-memory (OOM) siutation.\nSee \"systemctl --user status \"a\\\\x20b.service\"\" and \"journalctl --user -xeu \"a\\\\x20b.service\"\" for details."},
		{transient.JobError{Unit: "a.service", JobResult: "failed", ServiceResult: "oom-kill"}, props.V257, false,
			"Job for a.service failed because of an out-of-memory (OOM) situation.\nSee \"systemctl status a.service\" and \"journalctl -xeu a.service\" for details."},
		{transient.JobError{Unit: "a.service", JobResult: "failed", ServiceResult: "start-limit-hit"}, props.V252, false,
			"Job for a.service failed because start of the service was attempted too often.\nSee \"systemctl status a.service\" and \"journalctl -xeu a.service\" for details.\nTo force a start use \"systemctl reset-failed a.service\"\nfollowed by \"systemctl start a.service\" again."},
		{transient.JobError{Unit: "a.service", JobResult: "frozen"}, props.V257, false, "Cannot perform operation on frozen unit a.service."},
		{transient.JobError{Unit: "a.service", JobResult: "frozen"}, props.V254, false,
			"Job for a.service failed.\nSee \"systemctl status a.service\" and \"journalctl -xeu a.service\" for details."},
		{transient.JobError{Unit: "a.timer", JobResult: "concurrency"}, props.V262, false, "Concurrency limit of a slice unit a.timer is contained in has been reached."},
		{transient.JobError{Unit: "a.timer", JobResult: "concurrency"}, props.V257, false, `Job failed. See "journalctl -xe" for details.`},
	} {
		if got := jobFailure(&tc.je, tc.v, tc.user); got != tc.want {
			t.Errorf("jobFailure(%+v, %v, %v) =\n%s\nwant\n%s", tc.je, tc.v, tc.user, got, tc.want)
		}
	}
}
