// Package gitrev is the one short form of a deploy repo revision, as
// logs, errors, status, notifications and the fleet table show it.
package gitrev
