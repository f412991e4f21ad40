package scaler

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// APIFile names, inside --state.dir, the API the directory's state belongs to: the API's URL, or
// "simulated seed=N" for the simulated market (docs/design.md §7).
const APIFile = "api"

// StateAPIError is a state directory used against an API other than the one it belongs to.
type StateAPIError struct {
	Dir       string
	Has, Want string // the API it belongs to, the API it was to be used against
}

func (e *StateAPIError) Error() string {
	return fmt.Sprintf("state dir %s belongs to %s, not to %s: a state is never used against another API "+
		"(a simulated month's spend must not count against real money, nor the other way round); give another --state.dir",
		e.Dir, e.Has, e.Want)
}

// BindStateDir makes dir the state directory of api, creating dir when needed and marking it
// (APIFile) when it is not yet. A directory of another API is a *StateAPIError. It reports
// whether it marked a directory that already held state: one written before the mark existed,
// which it cannot tell apart and adopts.
func BindStateDir(dir, api string) (adopted bool, err error) {
	if dir == "" {
		return false, errors.New("state dir: none configured")
	}
	has, err := stateDirAPI(dir)
	switch {
	case err != nil:
		return false, err
	case has == api:
		return false, nil
	case has != "":
		return false, &StateAPIError{Dir: dir, Has: has, Want: api}
	}
	st, err := openDir(dir)
	if err != nil {
		return false, fmt.Errorf("state dir: %w", err)
	}
	for _, doc := range []string{JournalFile, SpendFile} {
		if _, err := os.Stat(st.Where(doc)); err == nil {
			adopted = true
		}
	}
	return adopted, writeDurably(st.Where(APIFile), ".api-*.tmp", []byte(api+"\n"))
}

// CheckStateDir is BindStateDir's check without any write, for a command that only reads the
// state (`vastwatch plan`): a directory of another API is a *StateAPIError.
func CheckStateDir(dir, api string) error {
	has, err := stateDirAPI(dir)
	if err == nil && has != "" && has != api {
		return &StateAPIError{Dir: dir, Has: has, Want: api}
	}
	return err
}

// stateDirAPI is the API dir is marked for; "" when unmarked, absent or not configured.
func stateDirAPI(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(dir, APIFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("state dir %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}
