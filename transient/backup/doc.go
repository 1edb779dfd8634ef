// Package backup defines borgrun's backup jobs and runs them as transient
// systemd units through package transient: a [Job] renders to systemd-run
// style assignments (its timer's and its service's), which package props
// encodes as systemd-run would, so that what is sent and what --dry-run
// shows come from one source.
//
// What it holds:
//   - The job: [Job] (command, calendars, persistence, randomized delay,
//     boot delay, AC power, network wait, [Priority], systemd-inhibit,
//     environment, sandbox and extra properties), its rules ([ValidName],
//     [Job.Check], [Job.CheckSchedule], errors wrapping [ErrInvalid]), its
//     units' names (borgrun-NAME.timer, .service, -now.service) and its
//     [Job.Fingerprint], which makes scheduling idempotent.
//   - Scheduling on a manager: [Schedule], [Scheduled], [Look] and
//     [ScheduleLooked] (look once, then schedule from what was seen), [List] (each job's
//     [JobStatus]), [Remove] and [Export] (the pair as unit files), all
//     taking the *transient.Conn of the manager to act on.
//   - The sandbox: [DeriveSandbox] works out a job's hardening under a
//     [Profile] and [Relaxation]s from borgmatic's configuration
//     ([BorgmaticConfig], [ReadBorgmaticConfig], [BorgmaticConfigFiles]) and
//     borg's directory rules (borg 1.x and 2, [BorgMajor]);
//     [DeriveLocalSandbox] learns the facts it needs on this machine and
//     [DeriveRemoteSandbox] on a remote host over ssh. The passphrase's
//     assignments: [PassphraseAssignments], [EncryptedPassphraseAssignments].
//   - The probe: [ProbeSetup] runs /bin/true under a job's settings to
//     learn whether the manager can apply them at all (some containers and
//     user managers cannot).
//
// Library functions return errors and never print.
package backup
