//go:build !linux

package main

// pidNamespace returns "": this system has no PID namespaces to tell.
func pidNamespace() string { return "" }

// machineTag returns "": this system's machine id is not read.
func machineTag() string { return "" }
