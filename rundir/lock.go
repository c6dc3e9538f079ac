package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockFile is the lock of a run directory. It is not in the manifest.
const LockFile = ".eng5np.lock"

// Lock is the exclusive hold of one process on a run directory: execute,
// resume and rehydrate take it, so that two of them never write one journal
// or artefact at once. It is an flock on LockFile, which the kernel releases
// when the process ends, however it ends; the file itself stays and says who
// held it last.
type Lock struct {
	f *os.File
}

// Holder is what a lock file says about the process that holds it.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	// Host is the machine the process runs on: a pid means something only
	// there.
	Host string `json:"host,omitempty"`
}

// LastHolder reads what the lock file says about the last process that
// took the lock, without locking anything: whether it still holds it is
// not known from this alone (see Gone).
func LastHolder(dir string) (Holder, bool) {
	data, err := os.ReadFile(Path(dir, LockFile))
	if err != nil {
		return Holder{}, false
	}
	var h Holder
	if json.Unmarshal(data, &h) != nil || h.PID <= 0 {
		return Holder{}, false
	}
	return h, true
}

// Gone reports whether h's process has certainly ended: it ran on this
// machine and no process has its pid now. On another machine nothing can
// be told, and the answer is false.
func (h Holder) Gone() bool {
	host, err := os.Hostname()
	if err != nil || h.Host == "" || h.Host != host || h.PID <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(h.PID, 0), syscall.ESRCH)
}

// LockedError is a refused lock: another process holds the directory.
type LockedError struct {
	Dir    string
	Holder Holder // zero when the lock file could not be read
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("run directory %s is in use by another eng5np process", e.Dir)
	}
	return fmt.Sprintf("run directory %s is in use by pid %d (%s, since %s)", e.Dir, e.Holder.PID, e.Holder.Command,
		e.Holder.Since.Local().Format("2006-01-02 15:04:05"))
}

// Next says what to do about a refused lock.
func (e *LockedError) Next() string {
	return "wait for that process to finish (or stop it with Ctrl-C or kill, which leaves the run resumable), then run the command again"
}

// Acquire takes the lock of dir for this process, recording command (e.g.
// "eng5np resume", for whoever is refused) and the pid; it does not wait. A
// directory held by another process is a *LockedError.
func Acquire(dir, command string) (*Lock, error) {
	f, err := os.OpenFile(Path(dir, LockFile), os.O_RDWR|os.O_CREATE, FilePerm)
	if err != nil {
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockedError{Dir: dir}
			if data, err := os.ReadFile(Path(dir, LockFile)); err == nil {
				_ = json.Unmarshal(data, &le.Holder)
			}
			return nil, le
		}
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Command: command, Since: time.Now().UTC(), Host: host})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
		_ = f.Sync()
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up. It is safe on a nil lock and more than once.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// Held reports whether another process holds dir's lock, and who, without
// taking it or writing anything.
func Held(dir string) (Holder, bool) {
	f, err := os.Open(Path(dir, LockFile))
	if err != nil {
		return Holder{}, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		var h Holder
		if data, err := os.ReadFile(Path(dir, LockFile)); err == nil {
			_ = json.Unmarshal(data, &h)
		}
		return h, errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return Holder{}, false
}
