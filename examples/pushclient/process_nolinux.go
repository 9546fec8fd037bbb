//go:build !linux

package main

// pidNamespace returns "": this system has no PID namespaces to tell.
func pidNamespace() string { return "" }
