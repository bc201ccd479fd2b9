//go:build race

package main

// raceEnabled makes TestMain build the apps with -race too, so a data race
// in package graceful under real load fails the tests.
const raceEnabled = true
