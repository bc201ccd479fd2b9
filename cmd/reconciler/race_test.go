//go:build race

package main

// raceEnabled: memory figures of a race build are not the product's.
const raceEnabled = true
