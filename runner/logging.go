package runner

import (
	"eng5np/rundir"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// runLog is a run's structured log: JSON lines in logs/eng5np.log of the run
// directory (info and up) and, when a stream is given, on it at the chosen
// level. Every line carries batch_uuid, batch_label and runner_mode.
type runLog struct {
	Logger *slog.Logger
	file   *closableWriter
}

// closableWriter drops writes after Close, so a late log call can never
// touch the run directory once its log is closed.
type closableWriter struct {
	mu     sync.Mutex
	f      *os.File
	closed bool
}

func (w *closableWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.f.Write(p)
}

func (w *closableWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.f.Close()
}

func openRunLog(dir string, stream io.Writer, level slog.Level, batchUUID, label, mode string) (*runLog, error) {
	if err := rundir.MkdirAll(filepath.Join(dir, rundir.LogsDir)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(rundir.Path(dir, rundir.Log), os.O_CREATE|os.O_WRONLY|os.O_APPEND, rundir.FilePerm)
	if err != nil {
		return nil, err
	}
	w := &closableWriter{f: f}
	handlers := []slog.Handler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})}
	if stream != nil {
		handlers = append(handlers, slog.NewJSONHandler(stream, &slog.HandlerOptions{Level: level}))
	}
	logger := slog.New(slog.NewMultiHandler(handlers...)).With("batch_uuid", batchUUID, "batch_label", label, "runner_mode", mode)
	return &runLog{Logger: logger, file: w}, nil
}

// Close closes the log file; later lines go only to the stream.
func (l *runLog) Close() error { return l.file.Close() }
