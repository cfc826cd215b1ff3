//go:build !race

package postgres_test

// raceEnabled is true under -race, whose overhead drowns timings.
const raceEnabled = false
