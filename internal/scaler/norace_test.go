//go:build !race

package scaler_test

const raceEnabled = false
