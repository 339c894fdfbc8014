//go:build !unix

package loadtest

func checkFDs(int) error { return nil }

func fdAdvice(int) string { return "raise the open-files limit or run fewer editors and viewers" }

func processCPU() (user, sys float64) { return 0, 0 }
