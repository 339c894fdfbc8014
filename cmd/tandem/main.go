// Command tandem is the Tandem collaboration server and its tools.
//
//	tandem serve [flags]   run the server (flags below; each has a TANDEM_* environment twin)
//	tandem load [flags]    load-test a running server (tandem load -h)
//	tandem version         print the version
//
// Only this package reads flags and the environment.
package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "load":
		err = runLoad(os.Args[2:])
	case "version":
		fmt.Println("tandem", version)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "tandem: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Tandem: real-time collaborative documents over the ShareDB protocol.

Usage:
  tandem serve [flags]    run the server (tandem serve -h lists the flags)
  tandem load [flags]     load-test a running server and check it (tandem load -h)
  tandem version          print the version
`)
}
