package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// envFlags registers flags whose defaults come from environment variables,
// so every flag has a TANDEM_* twin and the flag wins when both are set.
type envFlags struct {
	fs  *flag.FlagSet
	err error
}

func (e *envFlags) env(name string) (string, bool) { return os.LookupEnv(name) }

func (e *envFlags) String(p *string, name, envName, def, usage string) {
	if v, ok := e.env(envName); ok {
		def = v
	}
	e.fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName))
}

func (e *envFlags) Int(p *int, name, envName string, def int, usage string) {
	if v, ok := e.env(envName); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.err = fmt.Errorf("%s: %w", envName, err)
		} else {
			def = n
		}
	}
	e.fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName))
}

func (e *envFlags) Float(p *float64, name, envName string, def float64, usage string) {
	if v, ok := e.env(envName); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.err = fmt.Errorf("%s: %w", envName, err)
		} else {
			def = n
		}
	}
	e.fs.Float64Var(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName))
}

func (e *envFlags) Duration(p *time.Duration, name, envName string, def time.Duration, usage string) {
	if v, ok := e.env(envName); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.err = fmt.Errorf("%s: %w", envName, err)
		} else {
			def = d
		}
	}
	e.fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName))
}
