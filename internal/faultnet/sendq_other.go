//go:build !linux

package faultnet

import "net"

// sendQueueLen is not available here: cuts close without waiting for the
// send queue, so a peer may see fewer bytes than the cut offset when they
// were still in flight.
func sendQueueLen(*net.TCPConn) (int, bool) { return 0, false }
