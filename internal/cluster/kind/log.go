package kind

import (
	"fmt"
	"log/slog"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// logAdapter sends kind's messages to a slog.Logger: V(0) as info, deeper
// levels as debug.
type logAdapter struct{ l *slog.Logger }

var _ kindlog.Logger = logAdapter{}

func (a logAdapter) Warn(msg string)                          { a.l.Warn(msg) }
func (a logAdapter) Warnf(f string, args ...any)              { a.l.Warn(fmt.Sprintf(f, args...)) }
func (a logAdapter) Error(msg string)                         { a.l.Error(msg) }
func (a logAdapter) Errorf(f string, args ...any)             { a.l.Error(fmt.Sprintf(f, args...)) }
func (a logAdapter) V(level kindlog.Level) kindlog.InfoLogger { return infoAdapter{a.l, level} }

type infoAdapter struct {
	l     *slog.Logger
	level kindlog.Level
}

func (i infoAdapter) Info(msg string) {
	if i.level == 0 {
		i.l.Info(msg)
	} else {
		i.l.Debug(msg)
	}
}
func (i infoAdapter) Infof(f string, args ...any) { i.Info(fmt.Sprintf(f, args...)) }
func (i infoAdapter) Enabled() bool               { return true }
