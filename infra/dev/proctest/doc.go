// Package proctest is the tests' one place for running built programs: a Buffer that collects a process's
// output while the test reads it, Build (go build once per test binary), Start (start a program on a
// loopback address and wait until it is ready) and RefusingAddr (an address where nothing can listen).
//
// Only tests import it. Start never hands a port to a child and hopes: either the child binds
// 127.0.0.1:0 itself and reports the address it got (Options.ReportedAddr), or, for programs that
// cannot report, Start picks a port, and when the child exits because the port was taken meanwhile, or
// the readiness check answers from a socket the child does not own (a stranger), it starts the child
// again on a fresh port.
package proctest
