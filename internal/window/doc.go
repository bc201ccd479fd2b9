// Package window parses deploy windows ("<cron schedule> <duration>", the
// values of --window and --deny-window) and answers two questions: is a
// deploy allowed at t (Set.Open), and when is it next (Set.NextOpen).
//
// A window starts at each activation s of its schedule and lasts its
// duration d: it is open at t when some s has s <= t < s+d. robfig/cron's
// Next(x) returns the first activation strictly after x, so the window is
// open at t exactly when Next(t-d) <= t; no list of past activations is
// needed. A Set is open when it has no allow windows or t is inside one, and
// t is inside no deny window: a deny window (a freeze) wins.
//
// Time zones. The schedule is read in the zone a leading CRON_TZ= (or TZ=)
// names, else in the process's local zone (time.Local, the server's
// /etc/localtime). The duration is elapsed time, not wall-clock time: on
// the day a clock changes, "0 0 * * * 8h" ends at 09:00 in spring and at
// 07:00 in autumn. Two rules for the hour a change skips or repeats:
//   - a start the clock skips (02:30 on a spring-forward night in Berlin) is
//     taken to be the moment the clock jumps (03:00 CEST), as Vixie cron
//     runs such jobs, and lasts its full duration from there. robfig/cron
//     alone would drop it, and a nightly freeze would silently not hold that
//     night;
//   - a start in the repeated hour (02:30 on a fall-back night) starts
//     twice, once per pass of the clock, as robfig/cron has it.
//
// The zone database is embedded (time/tzdata), so CRON_TZ works on a server
// without /usr/share/zoneinfo; the system's database is used when present.
//
// Searches are bounded by Horizon (a little over a year, so every yearly
// schedule starts within it): a set that does not open within it is
// reported as never opening, which callers treat as bad input at start.
// "@every" is refused: it counts from whenever it is asked, not from the
// clock, so it has no fixed starts to be inside of.
package window
