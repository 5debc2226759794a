package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// exitRecord is the <id>.exit file the shim writes when its child ends.
type exitRecord struct {
	Code int `json:"code"`
	// Signal names the signal that killed the child ("killed",
	// "terminated"), or is empty when it exited.
	Signal string `json:"signal"`
	Reason string `json:"reason"`
	// OOMKilled says the app's control group ran out of memory.
	OOMKilled bool `json:"oomKilled,omitempty"`
}

func exitFromStatus(ws syscall.WaitStatus) exitRecord {
	if ws.Signaled() {
		return signalExit(ws.Signal())
	}
	c := ws.ExitStatus()
	return exitRecord{Code: c, Reason: fmt.Sprintf("exited with code %d", c)}
}

func signalExit(sig syscall.Signal) exitRecord {
	return exitRecord{Code: -1, Signal: sig.String(), Reason: fmt.Sprintf("killed by signal %d", int(sig))}
}

func pidFile(dir, id string) string  { return filepath.Join(dir, id+".pid") }
func exitFile(dir, id string) string { return filepath.Join(dir, id+".exit") }

func writeExit(dir, id string, rec exitRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writeFileAtomic(exitFile(dir, id), b)
}

// errNoExit means the instance ended without recording how.
var errNoExit = errors.New("no exit status recorded")

func readExit(dir, id string) (exitRecord, error) {
	var rec exitRecord
	b, err := os.ReadFile(exitFile(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, errNoExit
	}
	if err != nil {
		return rec, fmt.Errorf("read exit status: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("read exit status: %w", err)
	}
	return rec, nil
}

// checkID rejects instance IDs that cannot name state files or fit in a log
// line's source field.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 200 ||
		strings.ContainsAny(id, "/ \t\r\n\x00") {
		return fmt.Errorf("invalid instance ID %q", id)
	}
	return nil
}
