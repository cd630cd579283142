package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Status reports the steps of a long operation on the error stream, as kind
// does: a spinner beside the current step on a terminal, plain ✓/✗ lines
// otherwise; nothing with --quiet.
type Status struct {
	w       io.Writer
	tty     bool
	quiet   bool
	verbose bool

	mu      sync.Mutex
	current string
	started time.Time
	stop    chan struct{}
	done    chan struct{}
}

// NewStatus returns a Status for s honouring the global flags.
func NewStatus(s Streams, flags *EnvFlags) *Status {
	st := &Status{w: s.ErrOut, quiet: flags.Quiet, verbose: flags.Verbose > 0}
	if f, ok := s.ErrOut.(*os.File); ok {
		st.tty = term.IsTerminal(int(f.Fd()))
	}
	return st
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Start ends the current step as done and begins msg.
func (st *Status) Start(msg string) {
	st.End(true)
	if st.quiet {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current, st.started = msg, time.Now()
	if !st.tty {
		return
	}
	st.stop, st.done = make(chan struct{}), make(chan struct{})
	go func(stop, done chan struct{}) {
		defer close(done)
		for i := 0; ; i++ {
			fmt.Fprintf(st.w, "\r %s %s ", spinner[i%len(spinner)], msg)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}(st.stop, st.done)
}

// End ends the current step, if any, as succeeded or failed.
func (st *Status) End(ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == "" {
		return
	}
	if st.stop != nil {
		close(st.stop)
		<-st.done
		st.stop = nil
		fmt.Fprint(st.w, "\r\033[K")
	}
	mark := "✓"
	if !ok {
		mark = "✗"
	}
	line := fmt.Sprintf(" %s %s", mark, st.current)
	if st.verbose {
		line += fmt.Sprintf(" (%s)", time.Since(st.started).Round(time.Millisecond))
	}
	fmt.Fprintln(st.w, line)
	st.current = ""
}

// Info prints a line of information unless --quiet.
func (st *Status) Info(format string, args ...any) {
	if st.quiet {
		return
	}
	fmt.Fprintf(st.w, format+"\n", args...)
}

// Verbose prints a line only with --verbose.
func (st *Status) Verbose(format string, args ...any) {
	if st.verbose && !st.quiet {
		fmt.Fprintf(st.w, format+"\n", args...)
	}
}
