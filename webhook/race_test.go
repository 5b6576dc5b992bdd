//go:build race

package webhook_test

// raceEnabled: the race detector multiplies memory and time, so the flood
// runs smaller and does not hold the process to its memory bound.
const raceEnabled = true
